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
from netaid.vignettes import COHERENCE_PREFIXES, draw_cases, incoherence_notes
from tests.conftest import FIXTURES, MINI_RULES, REPO, random_cases
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
    cases = draw_cases(1000, seed=3)
    for case in cases:
        assert_valid(case)
    views = [case_values(c) for c in cases]
    assert len({json.dumps(v, default=sorted, sort_keys=True) for v in views}) == 1000
    # Every value of every field turns up somewhere in 1000 draws (the rarest sites are
    # about 1 in 100 draws).
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
    # Constraints taken from a valid case can always be met together, flagged cases allowed.
    rng = random.Random(seed)
    source = random_cases(1, seed=seed)[0]
    data = source.model_dump(mode="json", exclude={"title", "notes"})
    constraints = {k: v for k, v in data.items() if rng.random() < 0.4}
    for case in draw_cases(15, seed=seed, constraints=constraints, coherent=False):
        assert_valid(case)
        drawn = case.model_dump(mode="json")
        assert {k: drawn[k] for k in constraints} == constraints


@pytest.mark.parametrize("seed", range(30))
def test_constraints_from_a_coherent_case_are_met_by_coherent_cases(seed: int) -> None:
    rng = random.Random(seed)
    # Few naively drawn cases are coherent (about 1 in 25): look through enough of them.
    source = next(c for c in random_cases(1000, seed=seed) if not incoherence_notes(c))
    data = source.model_dump(mode="json", exclude={"title", "notes"})
    constraints = {k: v for k, v in data.items() if rng.random() < 0.4}
    for case in draw_cases(15, seed=seed, constraints=constraints):
        assert_valid(case)
        assert incoherence_notes(case) == ()
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


# --- coherent by default, flagged on request ---

COHERENCE = ["--rules", str(FIXTURES / "coherence")]


def _flagged(discussions: list[dict[str, object]]) -> list[str]:
    found = []
    for d in discussions:
        notes = d["notes"]
        assert isinstance(notes, list)
        found += [n["id"] for n in notes if n["id"].startswith(COHERENCE_PREFIXES)]
    return found


@pytest.mark.parametrize(
    ("rules", "seed"),
    [(COHERENCE, "1"), (COHERENCE, "2"), (COHERENCE, "3"), ([], "1")],
    ids=["fixture-rulebook-1", "fixture-rulebook-2", "fixture-rulebook-3", "shipped-rulebook"],
)
def test_vignettes_have_no_coherence_notes_by_default(
    capsys: pytest.CaptureFixture[str], rules: list[str], seed: str
) -> None:
    argv = ["vignettes", *rules, *AS_OF, "--count", "200", "--seed", seed, "--format", "json"]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    discussions = json.loads(out)
    assert len(discussions) == 200
    assert _flagged(discussions) == []


def test_include_flagged_draws_flagged_profiles_too(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["vignettes", *COHERENCE, *AS_OF, "--count", "200", "--seed", "1", "--format", "json"]
    status, out, _ = run(capsys, *argv, "--include-flagged")
    assert status == 0
    flagged = set(_flagged(json.loads(out)))
    assert flagged == {
        "note.coherence.fixture_insulinoma_site",
        "note.coherence.fixture_syndrome_without_symptoms",
        "note.flag.poorly_low_grade",
    }


def test_constraints_that_leave_no_coherent_case_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["vignettes", *COHERENCE, "--count", "3", "--seed", "1", "--site", "lung"]
    status, out, err = run(capsys, *argv, "--syndrome", "insulinoma")
    assert status == 2
    assert out == ""
    assert "no coherent case" in err
    assert "note.coherence.fixture_insulinoma_site" in err
    assert "--include-flagged" in err
    flagged = [*argv, "--syndrome", "insulinoma", "--include-flagged", "--format", "json"]
    status, out, _ = run(capsys, *flagged)
    assert status == 0
    assert _flagged(json.loads(out)).count("note.coherence.fixture_insulinoma_site") == 3


def test_include_flagged_output_is_byte_identical_for_the_same_seed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["vignettes", *COHERENCE, *AS_OF, "--count", "25", "--seed", "11"]
    outputs = [run(capsys, *argv, *extra)[1] for extra in ([], [], ["--include-flagged"]) * 2]
    assert outputs[0] == outputs[1] == outputs[3] == outputs[4]
    assert outputs[2] == outputs[5] != outputs[0]


# --- constraints pin absent sets and false flags ---


def test_none_and_no_flags_pin_empty_sets_and_false_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(
        capsys,
        "vignettes",
        *MINI,
        *AS_OF,
        *("--count", "100", "--seed", "4", "--format", "json"),
        *("--syndrome", "none", "--metastasis", "none", "--inherited", "none"),
        "--no-carcinoid-heart-disease",
        "--no-diarrhoea-despite-ssa",
        "--no-completely-removed",
    )
    assert status == 0
    for d in json.loads(out):
        case = d["case"]
        assert case["syndromes"] == case["metastases"] == case["inherited"] == []
        assert case["carcinoid_heart_disease"] is False
        assert case["diarrhoea_despite_ssa"] is False
        assert case["completely_removed"] is False


def test_without_those_constraints_the_same_draw_has_members_and_true_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["vignettes", *MINI, *AS_OF, "--count", "100", "--seed", "4", "--format", "json"]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    cases = [d["case"] for d in json.loads(out)]
    for field in ("syndromes", "metastases", "inherited", "completely_removed"):
        assert any(c[field] for c in cases), field


def test_syndrome_none_yields_no_syndromes_even_where_syndromes_are_likely(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["vignettes", *MINI, *AS_OF, "--count", "50", "--seed", "2", "--format", "json"]
    status, out, _ = run(capsys, *argv, "--functional-status", "unknown", "--syndrome", "none")
    assert status == 0
    assert {tuple(d["case"]["syndromes"]) for d in json.loads(out)} == {()}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--syndrome", "none", "--syndrome", "insulinoma"], "syndromes: 'none' (no members)"),
        (["--metastasis", "liver", "--metastasis", "none"], "metastases: 'none' (no members)"),
        (["--inherited", "none", "--inherited", "men1"], "inherited: 'none' (no members)"),
        (
            ["--carcinoid-heart-disease", "--no-carcinoid-heart-disease"],
            "argument --no-carcinoid-heart-disease: not allowed with argument "
            "--carcinoid-heart-disease",
        ),
        (
            ["--no-completely-removed", "--completely-removed"],
            "argument --completely-removed: not allowed with argument --no-completely-removed",
        ),
        (["--syndrome", "nothing"], "none)"),  # the error offers none among the values
    ],
)
def test_conflicting_constraints_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    status, out, err = run(capsys, "vignettes", *MINI, "--count", "3", "--seed", "1", *argv)
    assert status == 2
    assert out == ""
    assert expected in err


def test_discuss_takes_none_and_no_flags_to_override_a_case_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(
        "site: small_bowel\nsyndromes: [carcinoid_syndrome]\nmetastases: [liver]\n"
        "stage: metastatic\ncarcinoid_heart_disease: true\n"
    )
    argv = ["discuss", *MINI, str(path), "--format", "json"]
    status, out, _ = run(capsys, *argv, "--syndrome", "none", "--no-carcinoid-heart-disease")
    assert status == 0
    case = json.loads(out)["case"]
    assert case["syndromes"] == []
    assert case["carcinoid_heart_disease"] is False
    assert case["metastases"] == ["liver"]
