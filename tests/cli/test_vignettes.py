"""`netaid vignettes`: valid, varied, reproducible cases, and clear errors for impossible asks."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from netaid import Case
from netaid.case import case_fields, case_values, incompatibilities
from netaid.cli import main
from netaid.vignettes import draw_cases
from tests.conftest import MINI_RULES, REPO, random_cases
from tests.render.helpers import find_all, parse_html

MINI = ["--rules", str(MINI_RULES)]
AS_OF = ["--as-of", "2025-01-01"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def assert_valid(case: Case) -> None:
    assert incompatibilities(case_values(case)) == []
    assert Case.model_validate(case.model_dump()) == case


# --- the draw ---


def test_every_drawn_case_is_valid_and_the_draw_varies() -> None:
    cases = draw_cases(400, seed=3)
    for case in cases:
        assert_valid(case)
    views = [case_values(c) for c in cases]
    assert len({json.dumps(v, default=sorted, sort_keys=True) for v in views}) == 400
    # Every value of every field turns up somewhere in 400 draws.
    for name, spec in case_fields().items():
        seen: set[str] = set()
        for view in views:
            value = view[name]
            seen |= value if isinstance(value, frozenset) else {value}
        assert seen == set(spec.values), name


def test_the_same_seed_draws_the_same_cases_and_another_seed_others() -> None:
    assert draw_cases(30, seed=42) == draw_cases(30, seed=42)
    assert draw_cases(30, seed=42) != draw_cases(30, seed=43)
    # A longer draw starts with the shorter one: case n does not depend on the count.
    assert draw_cases(40, seed=42)[:30] == draw_cases(30, seed=42)


@pytest.mark.parametrize("seed", range(30))
def test_any_possible_constraints_are_met_by_every_case(seed: int) -> None:
    # Constraints taken from a valid case can always be met together.
    rng = random.Random(seed)
    source = random_cases(1, seed=seed)[0]
    data = source.model_dump(mode="json", exclude={"title", "notes"})
    constraints = {k: v for k, v in data.items() if rng.random() < 0.4}
    for case in draw_cases(15, seed=seed, constraints=constraints):
        assert_valid(case)
        drawn = case.model_dump(mode="json")
        assert {k: drawn[k] for k in constraints} == constraints


def test_titles_number_the_cases_and_take_a_prefix() -> None:
    cases = draw_cases(3, seed=1, constraints={"site": "pancreas", "title": "Week 4"})
    assert [c.title.split(":")[0] for c in cases if c.title] == ["Week 4 1", "Week 4 2", "Week 4 3"]
    assert all(c.title and "pancreas" in c.title for c in cases)


# --- the command ---


def test_out_writes_one_handout_per_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys,
        "vignettes",
        *MINI,
        *AS_OF,
        "--count",
        "12",
        "--seed",
        "7",
        "--format",
        "html",
        "--out",
        str(tmp_path / "set"),
    )
    assert status == 0
    assert out == ""
    assert "wrote 12 vignettes" in err
    files = sorted((tmp_path / "set").iterdir())
    assert [f.name for f in files] == [f"vignette-{i:02d}.html" for i in range(1, 13)]
    for file in files:
        tree = parse_html(file.read_text("utf-8"))
        assert len(find_all(tree.root, "article", "handout")) == 1


def test_constraints_apply_to_every_case(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        "vignettes",
        *MINI,
        *AS_OF,
        "--count",
        "20",
        "--seed",
        "1",
        "--site",
        "pancreas",
        "--stage",
        "metastatic",
        "--syndrome",
        "insulinoma",
        "--symptomatic",
        "yes",
        "--format",
        "json",
    )
    assert status == 0
    discussions = json.loads(out)
    assert len(discussions) == 20
    for d in discussions:
        case = d["case"]
        assert (case["site"], case["stage"], case["syndromes"]) == (
            "pancreas",
            "metastatic",
            ["insulinoma"],
        )
        assert case["symptomatic"] is True
        assert case["functional_status"] in ("functioning", "unknown")


def test_combined_file_and_student_audience(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "all.md"
    argv = ["vignettes", *MINI, *AS_OF, "--count", "4", "--seed", "9", "--audience", "student"]
    status, out, _ = run(capsys, *argv, "--combined", str(target))
    assert status == 0
    assert out == ""
    text = target.read_text("utf-8")
    assert text.count("## Questions to work through") == 4
    assert "Why this applies" not in text
    # Standard output is the default, and the same bytes.
    status, out, _ = run(capsys, *argv)
    assert out == text


def test_same_seed_and_as_of_give_byte_identical_files_across_processes(tmp_path: Path) -> None:
    # Separate processes with different hash seeds: set iteration order must not leak in.
    outputs = []
    for hash_seed in ("1", "2"):
        folder = tmp_path / hash_seed
        argv = [*MINI, *AS_OF, "--count", "15", "--seed", "2024", "--out", str(folder)]
        subprocess.run(
            [sys.executable, "-m", "netaid.cli", "vignettes", *argv, "--format", "html"],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            cwd=REPO,
        )
        outputs.append({f.name: f.read_bytes() for f in sorted(folder.iterdir())})
    assert len(outputs[0]) == 15
    assert outputs[0] == outputs[1]


def test_without_a_seed_the_seed_used_is_printed_and_repeats_the_draw(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, first, err = run(capsys, "vignettes", *MINI, *AS_OF, "--count", "3")
    assert status == 0
    seed = err.split("--seed ")[1].split()[0]
    status, again, _ = run(capsys, "vignettes", *MINI, *AS_OF, "--count", "3", "--seed", seed)
    assert again == first


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--stage", "localized", "--metastasis", "liver"],
            "metastases, stage: distant metastases (liver) need stage metastatic",
        ),
        (
            ["--functional-status", "non_functioning", "--syndrome", "vipoma"],
            "functional_status, syndromes: a hormone syndrome means the tumour is functioning",
        ),
        (["--stage", "early"], "stage: Input should be"),
        (["--count", "0"], "--count: must be between 1 and 10000"),
        (["--count", "many"], "--count: not a whole number"),
        (["--as-of", "yesterday"], "--as-of: not a date (YYYY-MM-DD)"),
        (["--out", "x", "--combined", "y"], "not allowed with argument"),
    ],
)
def test_impossible_or_bad_requests_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    full = ["vignettes", *MINI, "--seed", "1", *argv]
    if "--count" not in argv:
        full += ["--count", "3"]
    status, out, err = run(capsys, *full)
    assert status == 2
    assert expected in err
    assert out == ""


def test_out_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    status, _, err = run(capsys, "vignettes", *MINI, "--count", "1", "--out", str(blocker))
    assert status == 2
    assert "--out: cannot use" in err
