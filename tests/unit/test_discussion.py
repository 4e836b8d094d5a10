"""From a case to a Discussion: order, sources, reasons and labels."""

from __future__ import annotations

import datetime as dt
import gc
import shutil
from pathlib import Path

import pytest

import netaid
from netaid import DISCLAIMER, Case, CaseError, Engine, Kind, make_engine
from netaid._conditions import reason_holds
from netaid.case import case_values
from tests.conftest import MINI_RULES, random_cases

RICH = Case(
    site="lung",
    grade="G1",
    differentiation="poorly",
    stage="metastatic",
    metastases=["liver"],
    syndromes=["carcinoid_syndrome"],
    symptomatic=False,
    resectable=False,
)


def test_urgent_warnings_lead_then_the_fixed_kind_order(mini_engine: Engine) -> None:
    d = netaid.discuss(RICH, engine=mini_engine)
    kinds = [p.kind for p in d.points]
    assert kinds[0] is Kind.WARNING
    assert d.points[0].urgency == "urgent"
    order = [Kind.WARNING, Kind.TREATMENT, Kind.TEST, Kind.QUESTION, Kind.SUPPORT, Kind.CONTEXT]
    assert kinds == sorted(kinds, key=order.index)


def test_notes_hold_flags_not_points(mini_engine: Engine) -> None:
    d = netaid.discuss(RICH, engine=mini_engine)
    assert [n.id for n in d.notes] == ["note.flag.poorly_low_grade"]
    assert all(p.kind is not Kind.NOTE for p in d.points)
    assert d.notes[0].sources[0].source_id == "cityofhope"


def test_every_point_is_sourced_explained_and_labelled(mini_engine: Engine) -> None:
    for case in random_cases(300, seed=7):
        d = netaid.discuss(case, engine=mini_engine)
        values = case_values(case)
        for point in d.points:
            assert point.sources
            assert point.educational_only is True
            assert point.label == DISCLAIMER
            assert point.because
            for because in point.because:
                assert because.text
                reason = netaid._conditions.Reason(
                    because.field,
                    because.relation,  # type: ignore[arg-type]
                    because.values,
                )
                assert reason_holds(reason, values), (point.id, because)


def test_contested_points_carry_each_side(mini_engine: Engine) -> None:
    d = netaid.discuss(Case(site="colon"), engine=mini_engine)
    (point,) = [p for p in d.points if p.contested]
    assert {s.source_id for s in point.sources} == {"cityofhope", "franklyspeaking"}
    assert all(s.says for s in point.sources)


def test_sources_past_their_stated_review_date_are_flagged(mini_engine: Engine) -> None:
    # Macmillan states a next review of 31 December 2020.
    def macmillan_flags(today: dt.date) -> set[bool]:
        d = netaid.discuss(Case(site="colon", stage="localized"), engine=mini_engine, today=today)
        return {
            s.possibly_out_of_date
            for p in d.points
            for s in p.sources
            if s.source_id == "macmillan"
        }

    assert macmillan_flags(dt.date(2020, 12, 31)) == {False}
    assert macmillan_flags(dt.date(2021, 1, 1)) == {True}


def test_the_discussion_names_the_rulebook_and_the_disclaimer(mini_engine: Engine) -> None:
    d = netaid.discuss(Case(site="colon"), engine=mini_engine, today=dt.date(2026, 1, 2))
    book = mini_engine.rulebook
    assert d.rulebook_version == f"{book.version}+{book.fingerprint}"
    assert d.disclaimer == "educational only — not medical advice"
    assert d.as_of == dt.date(2026, 1, 2)


def test_discuss_accepts_a_mapping_and_names_bad_fields(mini_engine: Engine) -> None:
    d = netaid.discuss({"site": "colon", "stage": "localized"}, engine=mini_engine)
    assert "surgery" in d.categories
    with pytest.raises(CaseError, match="stage"):
        netaid.discuss({"site": "colon", "stage": "everywhere"}, engine=mini_engine)


def test_json_output_round_trips(mini_engine: Engine) -> None:
    d = netaid.discuss(RICH, engine=mini_engine)
    assert netaid.Discussion.model_validate_json(d.model_dump_json()) == d


# --- points are built once per rulebook, rule, reasons and day ---


def test_remembered_points_are_those_built_afresh(engine: Engine) -> None:
    import netaid.discussion as discussion

    cases = random_cases(300, seed=41)
    warm = [netaid.discuss(c, engine=engine, cache=False) for c in cases]
    assert len(discussion._memo_of(engine.rulebook)) > 0
    for case, remembered in zip(cases, warm, strict=True):
        discussion._memos.clear()
        assert netaid.discuss(case, engine=engine, cache=False) == remembered


def test_an_edited_rulebook_never_gets_the_old_points(tmp_path: Path) -> None:
    shutil.copytree(MINI_RULES, tmp_path / "rules")
    case = Case(site="colon", stage="localized")
    rules = tmp_path / "rules" / "rules.yaml"
    for n in range(3):  # old rulebooks are freed, so a new one may well reuse an old id
        with make_engine(netaid.load_rulebook(tmp_path / "rules")) as engine:
            d = netaid.discuss(case, engine=engine, cache=False)
        last = d.points[-1]
        if n:
            assert last.title == f"Edited {n}"
        text = rules.read_text().replace(f"title: {last.title}", f"title: Edited {n + 1}", 1)
        rules.write_text(text)
        gc.collect()


def test_the_memo_goes_with_its_rulebook(tmp_path: Path) -> None:
    import netaid.discussion as discussion

    rulebook = netaid.load_rulebook(MINI_RULES)
    with make_engine(rulebook) as engine:
        netaid.discuss(RICH, engine=engine, cache=False)
    key = id(rulebook)
    assert key in discussion._memos
    del rulebook, engine
    gc.collect()
    assert key not in discussion._memos


def test_the_memo_is_bounded(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import netaid.discussion as discussion

    monkeypatch.setattr(discussion, "MEMO_SIZE", 50)
    for case in random_cases(200, seed=43):
        netaid.discuss(case, engine=engine, cache=False)
        assert len(discussion._memo_of(engine.rulebook)) <= 50
