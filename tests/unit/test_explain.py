"""Why a point is not in a discussion (`Discussion.why_not`, `netaid explain`), and what knowing
each unknown fact would change (`Discussion.if_known`): both checked against the engine."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from netaid import (
    Case,
    Discussion,
    NetaidError,
    Rulebook,
    discuss,
    discuss_many,
    make_engine,
    render,
)
from netaid._conditions import holds, leaves, unmet
from netaid.case import attribute_values, case_fields, case_values, incompatibilities
from netaid.check import parse_condition
from netaid.cli import main
from netaid.errors import UnknownPointError
from tests.conftest import random_cases

TODAY = dt.date(2025, 1, 1)


def _ids(discussion: Discussion) -> set[str]:
    return {p.id for p in discussion.points} | {n.id for n in discussion.notes}


def _with(case: Case, field: str, value: str) -> Case:
    data: dict[str, Any] = case.model_dump()
    data[field] = attribute_values(field)[value]
    return Case.model_validate(data)


# --- why not ---


def test_why_not_names_each_unmet_part_against_the_case(mini_rulebook: Rulebook) -> None:
    engine = make_engine(mini_rulebook)
    case = Case(site="lung", stage="localized", symptomatic=None)
    discussion = discuss(case, engine=engine, today=TODAY)
    answer = discussion.why_not("treatment.watchful_waiting")
    assert not answer.applies
    assert answer.because == ()
    assert [(u.needs, u.has) for u in answer.unmet] == [
        ("stage: regional or metastatic", "stage: localized"),
        ("symptomatic: no", "symptomatic: unknown"),
    ]
    assert "does not apply" in answer.text
    assert "symptomatic: no (the case: symptomatic: unknown)" in answer.text


def test_why_not_of_a_point_that_applies_gives_its_reasons(mini_rulebook: Rulebook) -> None:
    case = Case(site="lung", stage="metastatic", symptomatic=False)
    discussion = discuss(case, engine=make_engine(mini_rulebook), today=TODAY)
    answer = discussion.why_not("treatment.watchful_waiting")
    assert answer.applies
    assert answer.unmet == ()
    assert [b.text for b in answer.because] == [
        "stage: regional or metastatic",
        "symptomatic: no",
        "grade: not G3",
        "differentiation: not poorly",
        "cell type is unknown",
    ]


@pytest.mark.parametrize(
    ("when", "values", "expected"),
    [
        (
            {"any": [{"equals": {"stage": "metastatic"}}, {"contains": {"metastases": "liver"}}]},
            {"stage": "localized"},
            [
                (
                    "one of: stage: metastatic or metastases include liver",
                    "stage: localized; metastases: none",
                )
            ],
        ),
        (
            {"not": {"equals": {"resectable": "true"}}},
            {"resectable": "true"},
            [("resectable: not yes", "resectable: yes")],
        ),
        (
            {"not": {"any": [{"is_known": "grade"}, {"equals": {"site": "lung"}}]}},
            {"grade": "G2", "site": "colon"},
            [("grade is unknown", "grade: G2")],
        ),
        (
            {
                "all": [
                    {"contains_any": {"syndromes": ["vipoma", "insulinoma"]}},
                    {"is_known": "stage"},
                ]
            },
            {},
            [
                (
                    "one of: syndromes include vipoma or syndromes include insulinoma",
                    "syndromes: none",
                ),
                ("stage is known", "stage: unknown"),
            ],
        ),
    ],
)
def test_unmet_follows_the_shape_of_the_condition(
    when: dict[str, Any], values: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    view = case_values(Case(site="colon"))
    view.update(values)
    assert [(u.needs, u.has) for u in unmet(parse_condition(when), view)] == expected


def test_why_not_agrees_with_the_engine_for_every_rule(rulebook: Rulebook) -> None:
    engine = make_engine(rulebook)
    for case in random_cases(60, seed=99):
        discussion = discuss(case, engine=engine, today=TODAY, cache=False)
        fired = _ids(discussion)
        for rule in rulebook.rules:
            answer = discussion.why_not(rule.id)
            assert answer.applies == (rule.id in fired), (rule.id, case)
            assert bool(answer.unmet) != answer.applies
            read = {leaf.field for leaf in leaves(rule.condition)}
            for item in answer.unmet:
                # Every unmet part shows the case's own value of a field the rule reads.
                assert any(item.has.startswith(_label(f)) for f in read), (rule.id, item)


def _label(field: str) -> str:
    from netaid.case import field_label

    return field_label(field)


def test_an_unknown_point_id_is_named_with_suggestions(mini_engine: Any) -> None:
    discussion = discuss(Case(site="lung"), engine=mini_engine, today=TODAY)
    with pytest.raises(
        UnknownPointError,
        match=r"'treatment\.watchful'.*did you mean "
        r"'treatment\.watchful_waiting'",
    ):
        discussion.why_not("treatment.watchful")
    assert issubclass(UnknownPointError, NetaidError)


def test_a_discussion_read_back_needs_its_own_rulebook(
    mini_rulebook: Rulebook, rulebook: Rulebook
) -> None:
    built = discuss(Case(site="lung"), engine=make_engine(mini_rulebook), today=TODAY)
    again = Discussion.model_validate_json(render(built, "json"))
    with pytest.raises(NetaidError, match="does not carry its rulebook"):
        again.why_not("treatment.watchful_waiting")
    with pytest.raises(NetaidError, match="this discussion was built with"):
        again.why_not("treatment.watchful_waiting", rulebook=rulebook)
    assert again.why_not("treatment.watchful_waiting", rulebook=mini_rulebook) == built.why_not(
        "treatment.watchful_waiting"
    )


def test_discussions_from_worker_processes_can_explain(mini_rulebook: Rulebook) -> None:
    cases = random_cases(6, seed=5)
    for discussion in discuss_many(cases, processes=2, rulebook=mini_rulebook, today=TODAY):
        answer = discussion.why_not("treatment.watchful_waiting")
        assert answer.applies == ("treatment.watchful_waiting" in _ids(discussion))


# --- what knowing the unknown facts would change ---


def _check_if_known(case: Case, engine: Any) -> int:
    """Every entry is exactly what re-running with that value changes, and every value left
    out changes nothing (or is invalid beside the rest of the case). Returns entries seen."""
    discussion = discuss(case, engine=engine, today=TODAY, cache=False)
    before = _ids(discussion)
    entries = {(e.field, e.value): e for e in discussion.if_known}
    values = case_values(case)
    for name, spec in case_fields().items():
        if spec.kind not in ("scalar", "tristate") or values[name] != "unknown":
            assert not any(f == name for f, _ in entries), name
            continue
        for value in spec.values:
            if value == "unknown":
                continue
            entry = entries.get((name, value))
            if incompatibilities({**values, name: value}):
                assert entry is None, (name, value)
                continue
            after = _ids(discuss(_with(case, name, value), engine=engine, today=TODAY))
            if entry is None:
                assert after == before, (case, name, value)
            else:
                assert {p.id for p in entry.adds} == after - before, (case, name, value)
                assert {p.id for p in entry.removes} == before - after, (case, name, value)
    return len(entries)


def test_if_known_is_exactly_what_knowing_each_fact_would_change(
    mini_rulebook: Rulebook, rulebook: Rulebook
) -> None:
    seen = 0
    for book, count in ((mini_rulebook, 150), (rulebook, 25)):
        engine = make_engine(book)
        for case in random_cases(count, seed=2024):
            seen += _check_if_known(case, engine)
    assert seen > 50


def test_a_fully_known_case_has_nothing_to_ask(mini_engine: Any) -> None:
    case = Case(
        site="lung",
        grade="G1",
        differentiation="well",
        stage="localized",
        functional_status="non_functioning",
        symptomatic=False,
        resectable=True,
    )
    discussion = discuss(case, engine=mini_engine, today=TODAY)
    assert discussion.if_known == ()
    for fmt in ("text", "markdown", "html"):
        assert (
            "What knowing the unknown facts would change".lower()
            not in render(discussion, fmt).lower()
        )


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_if_known_is_shown_in_every_format(mini_engine: Any, fmt: str) -> None:
    discussion = discuss(Case(site="lung", stage="metastatic"), engine=mini_engine, today=TODAY)
    entry = next(e for e in discussion.if_known if e.field == "symptomatic")
    assert entry.value == "false"
    assert [p.id for p in entry.adds] == ["treatment.watchful_waiting"]
    output = render(discussion, fmt)
    if fmt == "json":
        data = json.loads(output)
        assert data["if_known"][0]["field"] == discussion.if_known[0].field
        assert any(e["text"] == entry.text for e in data["if_known"])
    else:
        assert "what knowing the unknown facts would change" in output.lower()
        assert "Watchful waiting" in output.split("unknown facts would change")[-1]


# --- the command ---


def test_explain_command(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("site: small_bowel\nmetastases: [liver]\ngrade: G1\n")
    point = "treatment.watchful_waiting.spread_no_symptoms"
    assert main(["explain", str(case), point]) == 0
    out = capsys.readouterr().out
    assert "does not apply" in out
    assert "symptomatic: no (the case: symptomatic: unknown)" in out
    assert "if symptomatic were no: it would add it" in out
    assert main(["explain", str(case), point, "--symptomatic", "no", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["applies"] is True
    assert data["unmet"] == []
    assert main(["explain", str(case), "treatment.watchfull"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'treatment.watchful_waiting.spread_no_symptoms'" in err
    assert main(["explain", str(case), point, "--grade", "G9"]) == 2
    assert "grade" in capsys.readouterr().err


def test_holds_agrees_with_unmet_on_random_cases(mini_rulebook: Rulebook) -> None:
    for case in random_cases(300, seed=8):
        values = case_values(case)
        for rule in mini_rulebook.rules:
            assert (unmet(rule.condition, values) == ()) == holds(rule.condition, values)
