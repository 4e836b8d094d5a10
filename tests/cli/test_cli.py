"""The CLI: the main paths work, and every bad input exits 2 with a message, no traceback."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netaid.cli import main
from tests.conftest import CORPUS, MINI_RULES

MINI = ["--rules", str(MINI_RULES)]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def test_discuss_from_flags(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "discuss", *MINI, "--site", "colon", "--stage", "localized")
    assert status == 0
    assert "Surgery to remove the tumour" in out
    assert "EDUCATIONAL ONLY — NOT MEDICAL ADVICE" in out


def test_discuss_json_is_the_discussion_model(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        "discuss",
        *MINI,
        "--site",
        "lung",
        "--syndrome",
        "carcinoid_syndrome",
        "--metastasis",
        "liver",
        "--stage",
        "metastatic",
        "--symptomatic",
        "no",
        "--format",
        "json",
    )
    assert status == 0
    data = json.loads(out)
    assert data["case"]["syndromes"] == ["carcinoid_syndrome"]
    assert data["case"]["symptomatic"] is False
    assert "treatment.watchful_waiting" in [p["id"] for p in data["points"]]


def test_flags_override_the_case_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("site: colon\nstage: regional\n")
    status, out, _ = run(
        capsys, "discuss", *MINI, str(path), "--stage", "localized", "--format", "json"
    )
    assert status == 0
    assert json.loads(out)["case"]["stage"] == "localized"


def test_discuss_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"site": "colon", "stage": "localized"}'))
    status, out, _ = run(capsys, "discuss", *MINI, "-", "--format", "markdown")
    assert status == 0
    assert "### Surgery to remove the tumour" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "the following arguments are required: command"),
        (["cure"], "invalid choice: 'cure'"),
        (["discuss", *MINI], "give a case file, or at least --site"),
        (["discuss", *MINI, "--site", "brain"], "site: Input should be"),
        (["discuss", *MINI, "--site", "brain"], "allowed: stomach, duodenum"),
        (["discuss", *MINI, "--site", "lung", "--grade", "4"], "grade:"),
        (["discuss", *MINI, "--site", "lung", "--symptomatic", "maybe"], "symptomatic:"),
        (["discuss", *MINI, "--site", "lung", "--syndrome", "flushing"], "syndromes:"),
        (
            ["discuss", *MINI, "--site", "lung", "--stage", "localized", "--metastasis", "liver"],
            "metastases, stage: distant metastases (liver) need stage metastatic",
        ),
        (["discuss", *MINI, "--site", "lung", "--format", "pdf"], "invalid choice: 'pdf'"),
        (["discuss", *MINI, "/no/such/case.yaml"], "cannot read"),
        (["discuss", "--rules", "/no/such/rules", "--site", "lung"], "rulebook folder not found"),
        (["lint", "--corpus", "/no/such/folder"], "--corpus: no such folder"),
        (["lint"], "the following arguments are required: --corpus"),
    ],
)
def test_bad_input_exits_2_and_says_what_is_wrong(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert expected in err
    assert out == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("site: [lung\n", "not valid YAML or JSON"),
        ("site: lung\ngrde: G1\n", "did you mean 'grade'"),
        ("- lung\n", "expected a mapping"),
    ],
)
def test_bad_case_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(content)
    status, _, err = run(capsys, "discuss", *MINI, str(path))
    assert status == 2
    assert str(path) in err
    assert expected in err


def test_a_broken_rulebook_exits_2_naming_file_and_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(MINI_RULES, folder)
    text = (folder / "rules.yaml").read_text().replace("{stage: localized}", "{stage: early}")
    (folder / "rules.yaml").write_text(text)
    status, _, err = run(capsys, "discuss", "--rules", str(folder), "--site", "lung")
    assert status == 2
    assert "rules.yaml: rule 'treatment.surgery.localized': when.equals.stage" in err


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the source documents are not beside the repo")
def test_lint_passes_on_the_documents_and_fails_on_a_changed_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "lint", "--corpus", str(CORPUS), *MINI)
    assert status == 0
    assert "netaid lint: ok: 14 citations in 8 rules checked, 0 not found" in out
    assert "6 restricted rules say when they apply, 0 do not" in out
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    doc = corpus / "002_d52ee00165eebf04.txt"
    doc.write_text(doc.read_text().replace("All NETs are considered", "Some NETs are considered"))
    status, out, err = run(capsys, "lint", "--corpus", str(corpus), *MINI)
    assert status == 1
    assert "rule 'context.malignancy': source 'cityofhope': quote not found" in err
    assert "1 not found" in out


def test_schema_commands_print_json_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "schema")
    assert status == 0
    assert "site" in json.loads(out)["required"]
    status, out, _ = run(capsys, "schema", "--rules")
    assert json.loads(out)["title"] == "netaid rule file"


def test_the_installed_command_never_shows_a_traceback_for_bad_input() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "netaid.cli", "discuss", *MINI, "--site", "lung", "--grade", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "grade:" in result.stderr


def test_python_dash_m_netaid_is_the_same_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "netaid", "discuss", *MINI, "--site", "lung", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["case"]["site"] == "lung"
