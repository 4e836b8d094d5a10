"""`netaid review` and `netaid diff` on the command line: the main paths, and every bad input
exiting 2 with a message naming the folder, file or rule, never a traceback."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from netaid import load_rulebook
from netaid.cli import main
from tests.conftest import FIXTURES, MINI_RULES, REPO

OLD_DIR, NEW_DIR = FIXTURES / "diff" / "old", FIXTURES / "diff" / "new"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def broken_copy(source: Path, into: Path) -> Path:
    """A copy of a rulebook with one rule reading a field that does not exist."""
    shutil.copytree(source, into)
    rules = into / "rules.yaml"
    rules.write_text(rules.read_text().replace("is_known: grade", "is_known: colour"))
    return into


# --- netaid review ---


def test_review_markdown_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "review", "--rules", str(MINI_RULES))
    assert status == 0
    assert out.startswith("# netaid rule review sheet")
    for rule in load_rulebook(MINI_RULES).rules:
        assert f"`{rule.id}`" in out


def test_review_csv_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "review.csv"
    status, out, _ = run(
        capsys, "review", "--rules", str(MINI_RULES), "--format", "csv", "--out", str(path)
    )
    assert status == 0
    assert out == ""
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [r["id"] for r in rows] == [r.id for r in load_rulebook(MINI_RULES).rules]
    assert {r["verdict"] for r in rows} == {""}


def test_review_html(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "review", "--rules", str(NEW_DIR), "--format", "html")
    assert status == 0
    assert out.startswith("<!DOCTYPE html>")
    assert '<tr id="treatment.watchful_waiting">' in out
    assert "NETs that have spread but cause no symptoms" in out


def test_review_of_the_shipped_rulebook(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "review", "--format", "csv")
    assert status == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert len(rows) == 1 + len(load_rulebook().rules)


def test_review_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    status, _, err = run(capsys, "review", "--rules", str(missing))
    assert status == 2
    assert str(missing) in err
    assert "rulebook folder not found" in err


def test_review_broken_rulebook_names_file_and_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = broken_copy(MINI_RULES, tmp_path / "broken")
    status, _, err = run(capsys, "review", "--rules", str(folder))
    assert status == 2
    assert str(folder) in err
    assert "rules.yaml: rule 'question.grade_known'" in err
    assert "colour" in err


def test_review_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(
        capsys, "review", "--rules", str(MINI_RULES), "--out", str(tmp_path / "no" / "x.md")
    )
    assert status == 2
    assert "--out: cannot write" in err


# --- netaid diff ---


def test_diff_text(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "diff", str(OLD_DIR), str(NEW_DIR))
    assert status == 0
    assert "points that disappear (fire with OLD, not with NEW): 2" in out
    assert (
        '  - treatment.watchful_waiting: 12 classes of 144, e.g. {"site": "unknown", '
        '"grade": "G3", "stage": "regional", "symptomatic": false}'
    ) in out
    assert "  + question.stage_known (rule added): " in out
    assert "rules removed: question.grade_known" in out
    assert "  ~ context.everyone: text" in out


def test_diff_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "diff", str(OLD_DIR), str(NEW_DIR), "--format", "json")
    assert status == 0
    data = json.loads(out)
    assert data["classes"] == 144
    lost = {m["rule"]: m for m in data["disappear"]}
    assert lost["treatment.watchful_waiting"]["classes"] == 12
    assert lost["treatment.watchful_waiting"]["case"]["grade"] == "G3"
    assert data["rules_added"] == ["question.stage_known"]
    assert data["rules_changed"][1] == {
        "rule": "treatment.watchful_waiting",
        "parts": ["condition", "applies_when"],
        "condition_was": "stage is regional or metastatic and the tumour causes no symptoms",
        "condition_now": "stage is regional or metastatic, the tumour causes no symptoms, and "
        "grade is not G3",
    }
    assert data["rules_changed"][0] == {"rule": "context.everyone", "parts": ["text"]}


def test_diff_json_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "diff.json"
    status, out, _ = run(
        capsys, "diff", str(OLD_DIR), str(NEW_DIR), "--format", "json", "--out", str(path)
    )
    assert status == 0
    assert out == ""
    assert json.loads(path.read_text(encoding="utf-8"))["rules_removed"] == ["question.grade_known"]
    status, _, err = run(capsys, "diff", str(OLD_DIR), str(NEW_DIR), "--out", str(tmp_path))
    assert status == 2
    assert "--out: cannot write" in err


def test_diff_same(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "diff", str(OLD_DIR), str(OLD_DIR))
    assert status == 0
    assert out.rstrip().endswith("netaid diff: the same rulebook")


@pytest.mark.parametrize("argv", [[], [str(OLD_DIR)], [str(OLD_DIR), str(NEW_DIR), str(NEW_DIR)]])
def test_diff_needs_two_folders(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "diff", *argv)
    assert status == 2
    assert "give two rulebook folders" in err


def test_diff_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    status, _, err = run(capsys, "diff", str(OLD_DIR), str(missing))
    assert status == 2
    assert f"NEW '{missing}'" in err


def test_diff_broken_old_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = broken_copy(OLD_DIR, tmp_path / "broken")
    status, _, err = run(capsys, "diff", str(folder), str(NEW_DIR))
    assert status == 2
    assert f"OLD '{folder}'" in err
    assert "rules.yaml: rule 'question.grade_known'" in err


# --- netaid diff --git ---


_GIT = ("git", "-c", "user.name=t", "-c", "user.email=t@example.invalid")


def git(cwd: Path, *argv: str) -> None:
    subprocess.run(
        [*_GIT, "-c", "commit.gpgsign=false", *argv],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose `rules/` is OLD when committed and NEW in the working tree."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    shutil.copytree(OLD_DIR, root / "rules")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "old")
    shutil.copy(NEW_DIR / "rules.yaml", root / "rules" / "rules.yaml")
    return root


def test_diff_git_revision_against_the_working_tree(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "diff", "--git", "HEAD", str(repo / "rules"), "--format", "json")
    assert status == 0
    data = json.loads(out)
    assert data["old"]["rules"] == f"{repo / 'rules'} at HEAD"
    assert [m["rule"] for m in data["disappear"]] == [
        "treatment.watchful_waiting",
        "question.grade_known",
    ]
    assert data["rules_added"] == ["question.stage_known"]


@pytest.mark.parametrize("rev", ["no-such-rev", "--output=x"])
def test_diff_git_bad_revision(rev: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "diff", f"--git={rev}", str(repo / "rules"))
    assert status == 2
    assert "--git" in err


def test_diff_git_outside_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # even if tmp is in a repo
    folder = tmp_path / "rules"
    shutil.copytree(OLD_DIR, folder)
    status, _, err = run(capsys, "diff", "--git", "HEAD", str(folder))
    assert status == 2
    assert "--git: git rev-parse failed" in err


def test_the_documented_diff_output_is_what_the_command_prints(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)  # the documented command, run as written from the repository
    doc = (REPO / "docs" / "review.md").read_text(encoding="utf-8")
    shown = "netaid diff: OLD" + doc.split("```\nnetaid diff: OLD", 1)[1].split("```", 1)[0]
    status, out, _ = run(capsys, "diff", "tests/fixtures/diff/old", "tests/fixtures/diff/new")
    assert status == 0
    assert out == shown
