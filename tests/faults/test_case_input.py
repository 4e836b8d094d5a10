"""Malformed cases, from files, standard input and command-line flags: always a CaseError (exit
status 2 on the command line) that names the faulty field, never another exception."""

from __future__ import annotations

import copy
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from netaid import Case, CaseError, case_from_mapping, load_case
from netaid.batch import BatchReader
from netaid.case import case_fields
from netaid.cli import main

VALID: dict[str, Any] = {
    "site": "pancreas",
    "grade": "G2",
    "differentiation": "well",
    "stage": "metastatic",
    "metastases": ["liver"],
    "functional_status": "functioning",
    "syndromes": ["insulinoma"],
    "symptomatic": True,
    "resectable": False,
    "completely_removed": False,
    "carcinoid_heart_disease": False,
    "diarrhoea_despite_ssa": False,
    "inherited": ["men1"],
    "title": "A case",
}

# (field, a wrong value) for every field; the error must name the field.
BAD_VALUES: list[tuple[str, Any]] = [
    ("site", "brain"),
    ("site", 7),
    ("site", ["pancreas"]),
    ("site", None),
    ("grade", "G4"),
    ("grade", {"value": "G1"}),
    ("differentiation", "moderately"),
    ("cell_type", "giant_cell"),
    ("stage", "IV"),
    ("stage", 4.0),
    ("metastases", ["brain"]),
    ("metastases", "liver"),
    ("metastases", [["liver"]]),
    ("functional_status", "yes"),
    ("syndromes", ["cushing"]),
    ("syndromes", {"insulinoma": True}),
    ("symptomatic", "maybe"),
    ("symptomatic", [True]),
    ("resectable", "perhaps"),
    ("completely_removed", None),
    ("completely_removed", "sometimes"),
    ("carcinoid_heart_disease", 2),
    ("diarrhoea_despite_ssa", {}),
    ("inherited", ["men3"]),
    ("title", "x" * 501),
    ("title", 12.5),
    ("notes", "n" * 10_001),
]


def _names_field(error: CaseError, field: str) -> bool:
    return any(field in p.field for p in error.problems) and field in str(error)


def _write(path: Path, data: object) -> Path:
    text = json.dumps(data) if path.suffix == ".json" else yaml.safe_dump(data)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_bad_field_in_a_case_file_is_named(
    tmp_path: Path, field: str, value: Any, suffix: str
) -> None:
    path = _write(tmp_path / f"case{suffix}", {**VALID, field: value})
    with pytest.raises(CaseError) as caught:
        load_case(path)
    assert _names_field(caught.value, field), str(caught.value)
    assert caught.value.origin == str(path)


@pytest.mark.parametrize(("field", "value"), BAD_VALUES[::3])
def test_a_bad_field_on_standard_input_is_named(
    monkeypatch: pytest.MonkeyPatch, field: str, value: Any
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump({**VALID, field: value})))
    with pytest.raises(CaseError) as caught:
        load_case("-")
    assert _names_field(caught.value, field), str(caught.value)
    assert caught.value.origin == "<stdin>"


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--site", "brain"], "site"),
        (["--site", "colon", "--grade", "G9"], "grade"),
        (["--site", "colon", "--differentiation", "mid"], "differentiation"),
        (["--site", "colon", "--cell-type", "tiny"], "cell_type"),
        (["--site", "colon", "--stage", "5"], "stage"),
        (["--site", "colon", "--metastasis", "brain"], "metastases"),
        (["--site", "colon", "--functional-status", "on"], "functional_status"),
        (["--site", "colon", "--syndrome", "cushing"], "syndromes"),
        (["--site", "colon", "--symptomatic", "maybe"], "symptomatic"),
        (["--site", "colon", "--resectable", "perhaps"], "resectable"),
        (["--site", "colon", "--inherited", "men9"], "inherited"),
        (["--site", "colon", "--title", "t" * 600], "title"),
        (["--site", "colon", "--stage", "localized", "--metastasis", "liver"], "metastases"),
        (["--grade", "G1"], "site"),
    ],
)
def test_a_bad_flag_is_named_on_the_command_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    assert main(["discuss", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("netaid: error: ")
    assert field in err
    assert "Traceback" not in err


def test_a_bad_file_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "case.yaml", {**VALID, "grade": "G7"})
    assert main(["discuss", str(path)]) == 2
    err = capsys.readouterr().err
    assert "grade" in err
    assert str(path) in err


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"site: [pancreas\n", "(file)"),
        (b'{"site": ', "(file)"),
        (b"\xff\xfe\x00junk", "(file)"),
        (b"- site: pancreas\n", "(case)"),
        (b"pancreas\n", "(case)"),
        (b"", "(case)"),
        (b"sight: pancreas\n", "sight"),
        (b"site: !!python/object/apply:os.system ['true']\n", "(file)"),
    ],
    ids=[
        "broken-yaml",
        "broken-json",
        "binary",
        "list",
        "scalar",
        "empty",
        "typo",
        "unsafe-tag",
    ],
)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_files_that_are_not_cases(tmp_path: Path, content: bytes, field: str, suffix: str) -> None:
    path = tmp_path / f"case{suffix}"
    path.write_bytes(content)
    try:
        load_case(path)
    except CaseError as exc:
        fields = {p.field for p in exc.problems}
    else:
        pytest.fail("a malformed case file loaded")
    # A JSON reader sees YAML-only faults as "not JSON": either way the problem is located.
    assert field in fields or fields == {"(file)"}, fields


def test_a_field_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_bytes(b"site: pancreas\nsite: colon\n")
    with pytest.raises(CaseError, match="site"):
        load_case(path)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"site": "pancreas", "site": "colon"}', "site"),
        ('{"site": "pancreas", "grade": "G1", "grade": "G3"}', "grade"),
        ('{"site": "pancreas", "s\\u0069te": "colon"}', "site"),  # the same key, escaped
        ('{"site": "pancreas", "notes": {"a": 1, "a": 2}}', "a"),  # at any depth
    ],
)
@pytest.mark.parametrize("reader", ["file", "stdin", "jsonl"])
def test_a_key_given_twice_in_json_is_refused_by_every_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str, reader: str
) -> None:
    if reader == "jsonl":
        path = tmp_path / "cases.jsonl"
        path.write_text(text + "\n", encoding="utf-8")
        with BatchReader(path) as rows:
            (row,) = rows
        assert row.case is None
        assert [str(p) for p in row.problems] == [f"(row): found duplicate key {key!r}"]
        return
    if reader == "stdin":
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        source: str | Path = "-"
    else:
        source = tmp_path / "case.json"
        source.write_text(text, encoding="utf-8")
    with pytest.raises(CaseError, match=f"found duplicate key {key!r}") as caught:
        load_case(source)
    assert [p.field for p in caught.value.problems] == ["(file)"]


_SCALAR_NOISE: list[Any] = [None, 0, 1, -3, 2.5, True, False, "", "unknown", "x" * 300, [], {}]


def _mutate(rng: random.Random, data: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    data = copy.deepcopy(data)
    touched: set[str] = set()
    for _ in range(rng.randint(1, 3)):
        field = rng.choice([*case_fields(), "title", "notes", "colour"])
        touched.add(field)
        choice = rng.random()
        if choice < 0.15:
            data.pop(field, None)
        elif choice < 0.5:
            data[field] = rng.choice(_SCALAR_NOISE)
        elif choice < 0.8:
            spec = case_fields().get(field)
            values = list(spec.values) if spec else ["a"]
            data[field] = rng.choice([values, rng.sample(values, 1), rng.choice(values), "nope"])
        else:
            data[field] = {"nested": rng.choice(_SCALAR_NOISE)}
    return data, touched


def test_randomly_broken_cases_are_valid_or_name_a_field_that_was_touched() -> None:
    rng = random.Random(6)
    outcomes = {"valid": 0, "error": 0}
    for _ in range(3_000):
        data, touched = _mutate(rng, VALID)
        try:
            case_from_mapping(data)
        except CaseError as exc:
            outcomes["error"] += 1
            fields = {p.field for p in exc.problems}
            # Cross-field problems name both fields ("stage, metastases").
            assert any(t in f for f in fields for t in touched), (data, fields, touched)
        else:
            outcomes["valid"] += 1
    assert outcomes["error"] > 1_000
    assert outcomes["valid"] > 100


def test_a_valid_case_round_trips_through_every_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = Case.model_validate(VALID)
    for suffix in (".yaml", ".json"):
        assert load_case(_write(tmp_path / f"case{suffix}", VALID)) == expected
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(VALID)))
    assert load_case("-") == expected
