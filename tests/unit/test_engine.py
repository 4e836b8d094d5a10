"""The durable-rules engine: correct, isolated between cases, thread-safe, and never lets the C
engine's failure modes through (see docs/engine.md for the facts these tests pin down)."""

from __future__ import annotations

import itertools
import json
import textwrap
import threading
from collections.abc import Iterator
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
from netaid._conditions import reasons
from netaid.case import case_fields, case_values
from netaid.engines.durable import (
    MATCH_STACK_SIZE,
    MAX_MATCH_PATHS,
    _alpha_network,
    _fnv1a_32,
    _schema,
    _stack_need,
    match_paths,
    match_stack_need,
    plan_rulesets,
)
from netaid.rulebook import load_rulebook
from tests.conftest import MINI_RULES, needs_durable, random_cases

CASES = random_cases(10_000, seed=20261122)


# This module tests the durable backend itself, whatever the default engine is.
pytestmark = needs_durable


@pytest.fixture(scope="module")
def mini_engine(mini_rulebook: Rulebook) -> Iterator[DurableEngine]:
    with DurableEngine(mini_rulebook) as engine:
        yield engine


@pytest.fixture(scope="module")
def engine(rulebook: Rulebook) -> Iterator[DurableEngine]:
    with DurableEngine(rulebook) as engine:
        yield engine


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
    with pytest.raises(EngineLimitError, match=r"rule '[a-z._]+' \(rules.yaml\) expands to 12"):
        plan_rulesets(mini_rulebook.rules, budget=3)


def test_a_closed_engine_refuses_work(mini_rulebook: Rulebook) -> None:
    engine = DurableEngine(mini_rulebook)
    engine.close()
    engine.close()  # closing twice is harmless
    with pytest.raises(EngineError, match="closed"):
        engine.fired_ids(Case(site="lung"))


# --- the match-stack bound: exact at durable-rules' limit, so merging rulesets is safe ---

_GUARD = {"g": "c"}


def _c_assert(tests: list[dict[str, object]], fact: dict[str, str]) -> str:
    """Assert one fact into a throw-away C ruleset of these tests: "ok" or the C error."""
    import durable_rules_engine as c

    definition = {f"r{i}": {"all": [{"m": test}]} for i, test in enumerate(tests)}
    handle = c.create_ruleset(f"bound_{next(_SERIAL)}", json.dumps(definition))
    try:
        status, state = c.assert_fact(handle, json.dumps(fact))
        if status == 0:
            action = c.start_action_for_state(handle, state)
            while action:
                action = c.complete_and_start_action(handle, state)
        return "ok"
    except c.error as exc:
        return str(exc)
    finally:
        c.delete_ruleset(handle)


_SERIAL = itertools.count()
_PROPS = [f"p{i}" for i in range(80)]
_YES_NO: dict[str, tuple[str, ...]] = {
    "g": ("c",),
    "x": ("y", "n"),
    **dict.fromkeys(_PROPS, ("y", "n")),
}


def _flat(k: int) -> list[dict[str, object]]:
    return [{"$and": [_GUARD, {p: "y"}]} for p in _PROPS[:k]]


def _two_level(k1: int, k2: int) -> list[dict[str, object]]:
    # Every first-level test has the same k2 children: whichever the engine visits first,
    # k1 - 1 siblings wait on the stack while its k2 children are pushed.
    return [
        {"$and": [_GUARD, {f"p{i}": "y"}, {f"p{40 + j}": "y"}]}
        for i in range(k1)
        for j in range(k2)
    ]


def _joins(m: int, extra: bool) -> list[dict[str, object]]:
    # m rules `(x or p_j) and p_(40+j)`: the node for x leads to m joins, all pushed at once.
    tests: list[dict[str, object]] = [
        {"$and": [_GUARD, {"$or": [{"x": "y"}, {f"p{j}": "y"}]}, {f"p{40 + j}": "y"}]}
        for j in range(m)
    ]
    if extra:
        tests.append({"$and": [_GUARD, {"p79": "y"}]})
    return tests


@pytest.mark.parametrize(
    ("tests", "need"),
    [
        (_flat(64), 64),
        (_two_level(33, 32), 64),
        (_two_level(40, 25), 64),
        (_joins(32, extra=False), 64),
        (_joins(31, extra=True), 63),
        (_flat(65), 65),
        (_two_level(33, 33), 65),
        (_two_level(40, 26), 65),
        (_joins(32, extra=True), 65),
    ],
    ids=[
        "flat64",
        "2lvl-33x32",
        "2lvl-40x25",
        "joins32",
        "joins31+1",
        "flat65",
        "2lvl-33x33",
        "2lvl-40x26",
        "joins32+1",
    ],
)
def test_the_computed_stack_need_is_exactly_where_durable_rules_fails(
    tests: list[dict[str, object]], need: int
) -> None:
    assert _stack_need(_alpha_network(tests), _YES_NO) == need
    # The worst case: every test true, and the join-heavy node x pushed last (visited first).
    fact = {"g": "c", **dict.fromkeys(_PROPS, "y"), "x": "y"}
    result = _c_assert(tests, fact)
    if need <= MATCH_STACK_SIZE:
        assert result == "ok"
    else:
        assert "error code: 303" in result


def test_the_need_is_an_upper_bound_whatever_order_siblings_are_visited_in() -> None:
    # With x first in the fact, x is visited last and its joins wait on less: no failure,
    # though the need (the worst order) is 65. The bound may overestimate, never under.
    tests = _joins(32, extra=True)
    assert _stack_need(_alpha_network(tests), _YES_NO) == 65
    fact = {"g": "c", "x": "y", **dict.fromkeys(_PROPS, "y")}
    assert _c_assert(tests, fact) == "ok"


def test_tests_on_one_property_count_once_when_they_exclude_each_other() -> None:
    # 30 equalities on q (one fact matches at most one) beside 40 other tests: 41, not 70.
    tests = [{"$and": [_GUARD, {"q": f"v{i}"}]} for i in range(30)] + _flat(40)
    domains = {**_YES_NO, "q": tuple(f"v{i}" for i in range(31))}
    assert _stack_need(_alpha_network(tests), domains) == 41
    assert _c_assert(tests, {"g": "c", "q": "v3", **dict.fromkeys(_PROPS, "y")}) == "ok"
    # Inequalities on q do add up: for a value none of them names, all 30 match.
    tests = [{"$and": [_GUARD, {"$neq": {"q": f"v{i}"}}]} for i in range(30)] + _flat(40)
    assert _stack_need(_alpha_network(tests), domains) == 70
    assert "303" in _c_assert(tests, {"g": "c", "q": "v30", **dict.fromkeys(_PROPS, "y")})


def test_the_engine_merges_rulesets_only_within_the_budget(tmp_path: Path) -> None:
    book = _many_rules_book(tmp_path)
    with DurableEngine(book) as engine:
        assert len(engine.plan) < len(plan_rulesets(book.rules))
        for group in engine.plan:
            assert match_stack_need(book.rule(r) for r in group) <= MAX_MATCH_PATHS


def test_the_shipped_rulebook_stays_within_the_budget(engine: DurableEngine) -> None:
    assert sorted(r for group in engine.plan for r in group) == sorted(
        r.id for r in engine.rulebook.rules
    )
    for group in engine.plan:
        assert match_stack_need(engine.rulebook.rule(r) for r in group) <= MAX_MATCH_PATHS


def test_the_layout_shares_a_durable_rule_only_between_equal_conditions(
    engine: DurableEngine,
) -> None:
    rulebook = engine.rulebook
    layout = engine.layout
    assert [tuple(r for ids in ruleset for r in ids) for ruleset in layout] == [
        tuple(group) for group in engine.plan
    ]
    firsts = [ids[0] for ruleset in layout for ids in ruleset]
    conditions = [rulebook.rule(first).condition for first in firsts]
    assert len(set(conditions)) == len(conditions)  # a condition is one durable-rules rule
    for ruleset in layout:
        for ids in ruleset:
            assert {rulebook.rule(r).condition for r in ids} == {rulebook.rule(ids[0]).condition}


def test_the_shipped_rulebook_agrees_with_plain_python(engine: DurableEngine) -> None:
    reference = PythonEngine(engine.rulebook)
    for case in CASES[:3_000]:
        assert engine.fired_ids(case) == reference.fired_ids(case), case


def test_the_fact_spells_every_field_as_case_values_does() -> None:
    schema = _schema()
    decode = {key: atom for atom, key in schema.keys.items()}
    for case in CASES[:2_000]:
        fact = json.loads(schema.encode(case))
        assert fact.pop("sid") == "0"
        assert fact.pop("_") == "c"
        values = case_values(case)
        assert len(fact) == len(schema.keys)
        for key, code in fact.items():
            atom = decode[key]
            name, _, member = atom.partition("__")
            if member:
                actual = values[name]
                assert isinstance(actual, frozenset)
                assert code == ("y" if member in actual else "n")
            else:
                assert code == schema.codes[atom][str(values[name])]


def test_property_names_are_distinct_to_durable_rules() -> None:
    keys = ["_", *_schema().keys.values()]
    hashes = {_fnv1a_32(k) for k in keys}
    assert len(hashes) == len(keys)
    assert _fnv1a_32("id") == 926444256
    assert _fnv1a_32("sid") == 3593476751
    assert _fnv1a_32("$forward") == 739185624


def _book(tmp_path: Path, rules: str) -> Rulebook:
    folder = tmp_path / "book"
    folder.mkdir()
    (folder / "sources.yaml").write_text((MINI_RULES / "sources.yaml").read_text())
    (folder / "rules.yaml").write_text("rules:\n" + textwrap.indent(textwrap.dedent(rules), "  "))
    return load_rulebook(folder)


_RULE = """
- id: {id}
  kind: context
  title: Rule {id}
  text: Some text.
  {when}
  citations:
    - source: macmillan
      section: Types of NETs
      quote: lung NETs
"""


def test_rules_with_the_same_condition_share_one_durable_rule(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        "".join(
            _RULE.format(id=rule_id, when=when)
            for rule_id, when in [
                ("a.one", ""),
                ("a.two", ""),
                ("b.one", "when: {all: [{equals: {site: lung}}, {equals: {grade: G1}}]}"),
                ("b.two", "when: {all: [{equals: {grade: G1}}, {equals: {site: lung}}]}"),
                ("c.one", "when: {equals: {site: lung}}"),
            ]
        ),
    )
    with DurableEngine(book) as engine:
        assert len(engine._rule_of) == 3
        assert engine.fired_ids(Case(site="lung", grade="G1")) == {r.id for r in book.rules}
        assert engine.fired_ids(Case(site="lung")) == {"a.one", "a.two", "c.one"}
        assert engine.fired_ids(Case(site="colon", grade="G1")) == {"a.one", "a.two"}


_SITES = [
    "stomach",
    "duodenum",
    "ampulla",
    "small_bowel",
    "appendix",
    "colon",
    "rectum",
    "pancreas",
    "lung",
    "thymus",
    "thyroid",
    "adrenal",
    "pituitary",
    "skin",
]


def _grouped_rule(tmp_path: Path, groups: int) -> Rulebook:
    """One rule: `any` of `groups` `all` groups. With the guard's own group that is
    groups + 2 groups, and durable-rules holds at most 15 in one rule."""
    when = ", ".join(
        f"{{all: [{{equals: {{site: {site}}}}}, {{not: {{equals: {{grade: G1}}}}}}]}}"
        for site in _SITES[:groups]
    )
    return _book(tmp_path, _RULE.format(id="deep", when=f"when: {{any: [{when}]}}"))


def test_a_rule_as_deeply_grouped_as_durable_rules_allows_works(tmp_path: Path) -> None:
    book = _grouped_rule(tmp_path, 13)
    with DurableEngine(book) as engine:
        assert engine.fired_ids(Case(site="skin", grade="G2")) == set()
        assert engine.fired_ids(Case(site="pancreas", grade="G2")) == {"deep"}


def test_a_rule_too_deeply_grouped_for_durable_rules_is_refused_up_front(tmp_path: Path) -> None:
    # Not durable-rules' bare "error code: 113" when the ruleset is created.
    book = _grouped_rule(tmp_path, 14)
    with pytest.raises(EngineLimitError, match=r"rule 'deep' \(rules.yaml\) nests too many"):
        DurableEngine(book)


def test_remembered_reasons_are_the_reasons_of_each_case(mini_rulebook: Rulebook) -> None:
    # Reasons are kept per rule and the values of the fields it reads: check each evaluation
    # against reasons worked out afresh for that very case.
    with DurableEngine(mini_rulebook) as engine:
        for case in CASES[:3_000]:
            values = case_values(case)
            evaluation = engine.evaluate(case)
            assert set(evaluation.fired) == engine.fired_ids(case)
            for rule_id, why in evaluation.fired.items():
                assert why == reasons(mini_rulebook.rule(rule_id).condition, values)
        assert 0 < len(engine._reasons) < 3_000 * len(mini_rulebook)
