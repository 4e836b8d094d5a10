"""The Case model: valid and invalid cases, and the readers that turn input into cases."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from netaid import Case, CaseError, load_case
from netaid.case import (
    NULL_WHEN_UNKNOWN,
    Metastasis,
    Syndrome,
    case_fields,
    case_from_mapping,
    case_from_text,
    case_values,
)


def test_only_site_is_required_and_the_rest_defaults_to_unknown_or_empty() -> None:
    case = Case(site="pancreas")
    values = case_values(case)
    assert values["grade"] == values["stage"] == values["cell_type"] == "unknown"
    assert values["symptomatic"] == values["resectable"] == "unknown"
    assert values["carcinoid_heart_disease"] == "false"
    assert values["syndromes"] == values["metastases"] == values["inherited"] == frozenset()


def test_missing_site_is_named() -> None:
    with pytest.raises(ValidationError) as info:
        Case.model_validate({"grade": "G1"})
    assert info.value.errors()[0]["loc"] == ("site",)


def test_a_full_case_round_trips_through_json() -> None:
    case = Case(
        site="small_bowel",
        grade="G2",
        differentiation="well",
        stage="metastatic",
        metastases=["liver", "lymph_nodes"],
        functional_status="functioning",
        syndromes=["carcinoid_syndrome"],
        symptomatic=True,
        resectable=False,
        carcinoid_heart_disease=True,
        diarrhoea_despite_ssa=True,
        inherited=["men1"],
        title="t",
        notes="n",
    )
    assert Case.model_validate_json(case.model_dump_json()) == case


def test_sets_serialise_sorted_so_output_is_byte_stable() -> None:
    a = Case(site="lung", stage="metastatic", metastases=["other", "bone", "liver"])
    b = Case(site="lung", stage="metastatic", metastases=["liver", "other", "bone"])
    assert a.model_dump_json() == b.model_dump_json()
    assert json.loads(a.model_dump_json())["metastases"] == ["bone", "liver", "other"]


def test_cases_are_frozen() -> None:
    case = Case(site="lung")
    with pytest.raises(ValidationError):
        case.grade = "G1"  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"site": "colon", "stage": "localized", "metastases": ["liver"]}, "metastases, stage"),
        ({"site": "colon", "stage": "regional", "metastases": ["bone"]}, "metastases, stage"),
        (
            {"site": "colon", "stage": "localized", "metastases": ["lymph_nodes"]},
            "metastases, stage",
        ),
        (
            {"site": "pancreas", "functional_status": "non_functioning", "syndromes": ["vipoma"]},
            "functional_status, syndromes",
        ),
        (
            {"site": "lung", "differentiation": "well", "cell_type": "small_cell"},
            "cell_type, differentiation",
        ),
    ],
)
def test_impossible_combinations_are_rejected_naming_the_fields(
    data: dict[str, object], fields: str
) -> None:
    with pytest.raises(ValidationError) as info:
        Case.model_validate(data)
    (error,) = info.value.errors()
    assert error["ctx"]["fields"] == fields
    with pytest.raises(CaseError) as wrapped:
        case_from_mapping(data)
    assert wrapped.value.problems[0].field == fields


@pytest.mark.parametrize(
    "data",
    [
        # Only one document maps poorly differentiated to grade 3: accepted, flagged by rules.
        {"site": "lung", "differentiation": "poorly", "grade": "G1"},
        {"site": "colon", "stage": "regional", "metastases": ["lymph_nodes"]},
        {"site": "colon", "stage": "unknown", "metastases": ["liver"]},
        {"site": "pancreas", "syndromes": ["insulinoma"]},  # functional status left unknown
        {"site": "lung", "differentiation": "unknown", "cell_type": "large_cell"},
    ],
)
def test_combinations_the_documents_do_not_rule_out_are_accepted(data: dict[str, object]) -> None:
    Case.model_validate(data)


@pytest.mark.parametrize(
    ("data", "field", "allowed"),
    [
        ({"site": "brain"}, "site", "pancreas"),
        ({"site": "lung", "grade": "3"}, "grade", "G3"),
        ({"site": "lung", "syndromes": ["carcinoid"]}, "syndromes", "carcinoid_syndrome"),
        ({"site": "lung", "inherited": ["men3"]}, "inherited", "men1"),
    ],
)
def test_bad_values_name_the_field_and_the_allowed_values(
    data: dict[str, object], field: str, allowed: str
) -> None:
    with pytest.raises(CaseError) as info:
        case_from_mapping(data)
    problem = info.value.problems[0]
    assert problem.field == field
    assert allowed in problem.allowed
    assert field in str(info.value)


YES_NO = ("true", "false", "yes", "no")


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("symptomatic", "maybe", (*YES_NO, "null")),
        ("resectable", [True], (*YES_NO, "null")),
        ("completely_removed", "sometimes", YES_NO),
        ("carcinoid_heart_disease", 2, YES_NO),
        ("diarrhoea_despite_ssa", None, YES_NO),
        ("cell_type", "giant_cell", ("small_cell", "large_cell", "null")),
    ],
)
def test_yes_no_and_nullable_fields_list_what_a_file_may_give(
    tmp_path: Path, field: str, value: object, allowed: tuple[str, ...]
) -> None:
    with pytest.raises(CaseError) as info:
        case_from_mapping({"site": "lung", field: value})
    (problem,) = info.value.problems
    assert (problem.field, problem.allowed) == (field, allowed)
    assert f"(allowed: {', '.join(allowed)})" in str(info.value)
    # Every value listed is accepted, in YAML and in JSON.
    for given in allowed:
        (tmp_path / "case.yaml").write_text(
            f"site: lung\ndifferentiation: poorly\n{field}: {given}\n"
        )
        json_value = None if given == "null" else given
        (tmp_path / "case.json").write_text(
            json.dumps({"site": "lung", "differentiation": "poorly", field: json_value})
        )
        assert load_case(tmp_path / "case.yaml") == load_case(tmp_path / "case.json")


def test_text_takes_unknown_for_the_fields_whose_unknown_is_null() -> None:
    assert frozenset({"cell_type", "symptomatic", "resectable"}) == NULL_WHEN_UNKNOWN
    case = case_from_text(
        {"site": "lung", "cell_type": "unknown", "symptomatic": "Unknown", "resectable": "no"}
    )
    assert (case.cell_type, case.symptomatic, case.resectable) == (None, None, False)
    assert case == case_from_mapping({"site": "lung", "resectable": False})
    # The model itself is unchanged: unknown there is null (or the field left out).
    with pytest.raises(CaseError, match="cell_type"):
        case_from_mapping({"site": "lung", "cell_type": "unknown"})
    with pytest.raises(ValidationError):
        Case.model_validate({"site": "lung", "symptomatic": "unknown"})


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("symptomatic", "maybe", (*YES_NO, "unknown")),
        ("cell_type", "giant_cell", ("small_cell", "large_cell", "unknown")),
        ("completely_removed", "unknown", YES_NO),
        ("grade", "G4", ("G1", "G2", "G3", "unknown")),
    ],
)
def test_text_errors_offer_unknown_where_text_takes_it(
    field: str, value: str, allowed: tuple[str, ...]
) -> None:
    with pytest.raises(CaseError) as info:
        case_from_text({"site": "lung", field: value})
    (problem,) = info.value.problems
    assert (problem.field, problem.allowed) == (field, allowed)
    for given in allowed:
        case_from_text({"site": "lung", field: given})


def test_unknown_field_suggests_the_close_one() -> None:
    with pytest.raises(CaseError) as info:
        case_from_mapping({"site": "lung", "grde": "G1"})
    assert info.value.problems[0].field == "grde"
    assert "did you mean 'grade'" in str(info.value)


def test_non_mapping_input_is_a_case_error() -> None:
    with pytest.raises(CaseError, match="expected a mapping"):
        case_from_mapping(["site", "lung"])


def test_load_yaml_and_json_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("site: lung\nstage: localized\n")
    (tmp_path / "b.json").write_text('{"site": "lung", "stage": "localized"}')
    assert load_case(tmp_path / "a.yaml") == load_case(tmp_path / "b.json")


def test_load_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("site: appendix\n"))
    assert load_case("-").site == "appendix"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.yaml", "site: [lung\n", "not valid YAML or JSON"),
        ("bad.json", "{site: lung}", "not valid YAML or JSON"),
        ("list.yaml", "- site: lung\n", "expected a mapping"),
        ("empty.yaml", "", "expected a mapping"),
    ],
)
def test_unreadable_case_files_say_why(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(CaseError, match=message) as info:
        load_case(path)
    assert info.value.origin == str(path)


def test_missing_file_is_a_case_error(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="cannot read"):
        load_case(tmp_path / "nope.yaml")


def test_field_specs_cover_every_rule_readable_field() -> None:
    specs = case_fields()
    assert "title" not in specs
    assert "notes" not in specs
    assert specs["metastases"].values == tuple(m.value for m in Metastasis)
    assert specs["syndromes"].kind == "set"
    assert Syndrome.VIPOMA.value in specs["syndromes"].values
    assert specs["symptomatic"].kind == "tristate"
    assert specs["carcinoid_heart_disease"].kind == "flag"
    assert specs["cell_type"].values[-1] == "unknown"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("site: &s lung\ntitle: *s\n", "aliases"),
        ("site: lung\nnotes: " + "[" * 100 + "]" * 100 + "\n", "nested deeper than 64"),
        ("site: lung\nsite: colon\n", "found duplicate key 'site'"),
        ("site: lung\nnotes: " + "n" * (1024 * 1024) + "\n", "longer than 1,048,576"),
    ],
)
def test_case_files_beyond_the_readers_limits_are_refused(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(content)
    with pytest.raises(CaseError, match=message):
        load_case(path)


@pytest.mark.parametrize(
    "content",
    ['{"site": "lung", "site": "colon"}', '{"site": "colon", "notes": {"x": 1, "x": 2}}'],
)
def test_json_case_files_refuse_a_key_given_twice(tmp_path: Path, content: str) -> None:
    # As YAML files do; json.loads alone would keep the last value without a word.
    path = tmp_path / "case.json"
    path.write_text(content)
    with pytest.raises(CaseError, match="found duplicate key") as info:
        load_case(path)
    assert info.value.origin == str(path)


def test_json_on_stdin_refuses_a_key_given_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"site": "lung", "site": "colon"}'))
    with pytest.raises(CaseError, match="found duplicate key 'site'"):
        load_case("-")


def test_deeply_nested_json_is_a_case_error(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text('{"site": "lung", "notes": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(CaseError, match="nested too deeply"):
        load_case(path)


def test_text_takes_none_for_an_empty_set_and_refuses_it_beside_members() -> None:
    case = case_from_text(
        {"site": "lung", "syndromes": ["none"], "metastases": ("None",), "inherited": ["NONE"]}
    )
    assert case.syndromes == case.metastases == case.inherited == frozenset()
    assert case == case_from_mapping({"site": "lung"})
    with pytest.raises(CaseError) as info:
        case_from_text({"site": "lung", "syndromes": ["none", "insulinoma"]})
    (problem,) = info.value.problems
    assert problem.field == "syndromes"
    assert "'none' (no members) cannot be given together with members" in problem.message
    # A typo lists none among the values text takes; a case file does not take it.
    with pytest.raises(CaseError) as info:
        case_from_text({"site": "lung", "inherited": ["men3"]})
    assert info.value.problems[0].allowed == ("men1", "men2", "vhl", "nf1", "tsc", "none")
    with pytest.raises(CaseError):
        case_from_mapping({"site": "lung", "syndromes": ["none"]})
