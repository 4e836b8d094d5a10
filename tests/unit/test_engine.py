"""The durable-rules engine: correct, isolated between cases, thread-safe, and never lets the C
engine's failure modes through (see docs/engine.md for the facts these tests pin down)."""

from __future__ import annotations

import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from netaid import (
    Case,
    DurableEngine,
    EngineError,
    EngineLimitError,
    PythonEngine,
    Rulebook,
    Syndrome,
)
from netaid._conditions import match_paths
from netaid.case import case_fields, case_values
from netaid.engine import MAX_MATCH_PATHS, plan_rulesets
from netaid.rulebook import load_rulebook
from tests.conftest import MINI_RULES, random_cases

CASES = random_cases(10_000, seed=20261122)


BASE = Case(site="colon")
ALL_SYNDROMES = Case(site="colon", syndromes=list(Syndrome))


def _many_rules_book(tmp_path: Path) -> Rulebook:
    """One single-test rule per value of every field, each written to be true for BASE.

    That makes 67 distinct tests matching one fact: more than durable-rules' match stack of 64
    holds when they share one ruleset. ALL_SYNDROMES fails 7 of them and matches 60.
    """
    values = case_values(BASE)
    conditions = []
    for name, spec in case_fields().items():
        for value in spec.values:
            if spec.kind == "set":
                conditions.append((f"{name}.{value}", f"not: {{contains: {{{name}: {value}}}}}"))
            elif values[name] == value:
                conditions.append((f"{name}.{value}", f"equals: {{{name}: {value}}}"))
            else:
                conditions.append((f"{name}.{value}", f"not: {{equals: {{{name}: {value}}}}}"))
    rules = "".join(
        textwrap.dedent(f"""
          - id: r.{rule_id.lower()}
            kind: context
            title: Rule {rule_id}
            text: Fires for the base case.
            when: {{{condition}}}
            citations:
              - source: macmillan
                section: Types of NETs
                quote: lung NETs
        """)
        for rule_id, condition in conditions
    )
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "sources.yaml").write_text((MINI_RULES / "sources.yaml").read_text())
    (folder / "rules.yaml").write_text("rules:\n" + textwrap.indent(rules, "  "))
    return load_rulebook(folder)


def test_engine_agrees_with_plain_python_on_varied_cases(mini_engine: DurableEngine) -> None:
    reference = PythonEngine(mini_engine.rulebook)
    for case in CASES[:2_000]:
        assert mini_engine.fired_ids(case) == reference.fired_ids(case), case


def test_ten_thousand_sequential_evaluations_do_not_leak_into_each_other(
    mini_rulebook: Rulebook,
) -> None:
    # A fresh engine per case is the ground truth for "evaluated in isolation".
    reference = PythonEngine(mini_rulebook)
    with DurableEngine(mini_rulebook) as engine:
        results = [engine.fired_ids(case) for case in CASES]
    assert len(CASES) == 10_000
    assert len({frozenset(r) for r in results}) > 10, "the cases should fire varied rules"
    for case, fired in zip(CASES, results, strict=True):
        assert fired == reference.fired_ids(case)
    with DurableEngine(mini_rulebook) as fresh:
        for case, fired in zip(CASES[::500], results[::500], strict=True):
            assert fresh.fired_ids(case) == fired


def test_the_same_case_twice_in_a_row_is_evaluated_twice(mini_engine: DurableEngine) -> None:
    # durable-rules refuses an identical fact while one is asserted: we must retract.
    case = Case(site="lung", stage="metastatic", syndromes=["carcinoid_syndrome"])
    assert mini_engine.fired_ids(case) == mini_engine.fired_ids(case)
    assert "warning.carcinoid.er" in mini_engine.fired_ids(case)


def test_evaluation_explains_every_fired_rule(mini_engine: DurableEngine) -> None:
    case = Case(site="colon", stage="metastatic", metastases=["liver"], resectable=False)
    evaluation = mini_engine.evaluate(case)
    why = evaluation.fired["treatment.liver.embolisation"]
    assert [(r.field, r.relation, r.values) for r in why] == [
        ("metastases", "includes", ("liver",)),
        ("resectable", "is_not", ("true",)),
    ]
    assert evaluation.fired["context.everyone"][0].relation == "always"


def test_eight_threads_share_one_engine_without_cross_talk(mini_engine: DurableEngine) -> None:
    reference = PythonEngine(mini_engine.rulebook)
    cases = CASES[:4_000]
    expected = [reference.fired_ids(c) for c in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(mini_engine.fired_ids, cases, chunksize=25))
    assert got == expected


def test_no_background_threads_are_started(mini_rulebook: Rulebook) -> None:
    # durable's stock Host starts timer threads that race with callers; we must not.
    before = threading.active_count()
    with DurableEngine(mini_rulebook) as engine:
        for case in CASES[:100]:
            engine.fired_ids(case)
        assert threading.active_count() == before


def test_an_exception_while_handling_a_fired_rule_becomes_an_engine_error(
    mini_rulebook: Rulebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = DurableEngine(mini_rulebook)
    real = DurableEngine._rule_names

    def failing(self: DurableEngine, message: str) -> list[str]:
        names = list(real(self, message))
        if "treatment.surgery.localized" in names:
            raise RuntimeError("boom in action")
        return names

    monkeypatch.setattr(DurableEngine, "_rule_names", failing)
    with pytest.raises(EngineError, match="boom in action"):
        engine.fired_ids(Case(site="colon", stage="localized"))
    monkeypatch.undo()
    # The engine was rebuilt: the next case, and the failed one, evaluate correctly.
    reference = PythonEngine(mini_rulebook)
    for case in [Case(site="lung"), Case(site="colon", stage="localized"), *CASES[:200]]:
        assert engine.fired_ids(case) == reference.fired_ids(case)
    engine.close()


def test_the_64_match_limit_is_designed_out_by_splitting(tmp_path: Path) -> None:
    book = _many_rules_book(tmp_path)
    assert len(book) == 67
    with DurableEngine(book) as engine:
        assert len(engine.plan) >= 2
        assert len(engine.fired_ids(BASE)) == 67
        assert len(engine.fired_ids(ALL_SYNDROMES)) == 60


def test_without_splitting_durable_rules_fails_and_we_recover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prove the limit is real (so the split above matters), and that hitting it is survivable.
    book = _many_rules_book(tmp_path)
    monkeypatch.setattr(plan_rulesets, "__defaults__", (10_000,))
    with DurableEngine(book) as engine:
        assert len(engine.plan) == 1
        with pytest.raises(EngineError, match="error code: 303"):
            engine.fired_ids(BASE)
        # Rebuilt after the failure: a case matching fewer tests evaluates correctly.
        assert engine.fired_ids(ALL_SYNDROMES) == PythonEngine(book).fired_ids(ALL_SYNDROMES)
        with pytest.raises(EngineError):
            engine.fired_ids(BASE)


def test_every_ruleset_of_the_plan_stays_under_the_node_bound(tmp_path: Path) -> None:
    book = _many_rules_book(tmp_path)
    for group in plan_rulesets(book.rules):
        assert sum(match_paths(r.condition) for r in group) <= MAX_MATCH_PATHS


def test_a_single_rule_too_large_for_any_ruleset_is_refused(mini_rulebook: Rulebook) -> None:
    with pytest.raises(EngineLimitError, match=r"rule '[a-z._]+' \(rules.yaml\) expands to 6"):
        plan_rulesets(mini_rulebook.rules, budget=3)


def test_a_closed_engine_refuses_work(mini_rulebook: Rulebook) -> None:
    engine = DurableEngine(mini_rulebook)
    engine.close()
    engine.close()  # closing twice is harmless
    with pytest.raises(EngineError, match="closed"):
        engine.fired_ids(Case(site="lung"))
