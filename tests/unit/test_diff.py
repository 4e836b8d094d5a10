"""netaid.diff: the impact of a rulebook change, exact over the class space.

The reference is brute force: every valid combination of the values the two rulebooks read,
each rule evaluated in plain Python, each case placed in its class. Example cases are
confirmed through `netaid.discuss` with an engine of each rulebook.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

import netaid
from netaid import Engine, Rulebook, load_rulebook, make_engine
from netaid._conditions import holds, leaves
from netaid.case import Case, case_values, incompatibilities
from netaid.check import Atom, view_of
from netaid.diff import NEW, OLD, RulebookDiff, diff_rulebooks, joint_space
from tests.conftest import FIXTURES

OLD_DIR, NEW_DIR = FIXTURES / "diff" / "old", FIXTURES / "diff" / "new"

Values = dict[str, "str | frozenset[str]"]


@pytest.fixture(scope="module")
def old() -> Rulebook:
    return load_rulebook(OLD_DIR)


@pytest.fixture(scope="module")
def new() -> Rulebook:
    return load_rulebook(NEW_DIR)


@pytest.fixture(scope="module")
def report(old: Rulebook, new: Rulebook) -> RulebookDiff:
    return diff_rulebooks(old, new)


def every_case(*rulebooks: Rulebook) -> Iterator[Values]:
    """Every valid combination of the fields (and set members) the rulebooks read."""
    atoms = sorted(
        {
            Atom(leaf.field, leaf.values[0] if leaf.op == "contains" else None)
            for rulebook in rulebooks
            for rule in rulebook.rules
            for leaf in leaves(rule.condition)
        }
    )
    for combo in itertools.product(*(a.domain for a in atoms)):
        values = view_of(dict(zip(atoms, combo, strict=True)))
        if not incompatibilities(values):
            yield values


@pytest.fixture(scope="module")
def cases(old: Rulebook, new: Rulebook) -> list[Values]:
    return list(every_case(old, new))


def fires(rulebook: Rulebook, rule_id: str, values: Values) -> bool:
    """Plain-Python truth of a rule's condition; False when the rulebook lacks the rule."""
    ids = {r.id for r in rulebook.rules}
    return rule_id in ids and holds(rulebook.rule(rule_id).condition, values)


def fired_ids(engine: Engine, case: Case) -> set[str]:
    discussion = netaid.discuss(case, engine=engine)
    return {p.id for p in discussion.points} | {n.id for n in discussion.notes}


def test_the_fixture_change_is_reported(report: RulebookDiff) -> None:
    assert [(m.rule, m.status) for m in report.appear] == [("question.stage_known", "added")]
    assert [(m.rule, m.status) for m in report.disappear] == [
        ("treatment.watchful_waiting", "changed"),
        ("question.grade_known", "removed"),
    ]
    assert report.added == ("question.stage_known",)
    assert report.removed == ("question.grade_known",)
    assert [(c.rule, c.parts) for c in report.changed] == [
        ("context.everyone", ("text",)),
        ("treatment.watchful_waiting", ("condition", "applies_when")),
    ]
    assert report.changed[0].was is None
    assert report.changed[1].now is not None
    assert report.changed[1].now.endswith("and grade is not G3")
    assert report.sources == ()
    assert not report.same


def test_counts_are_exactly_the_classes_where_the_point_moves(
    old: Rulebook, new: Rulebook, report: RulebookDiff, cases: list[Values]
) -> None:
    """Brute force: the classes holding a case where a point moves are as many as reported,
    every case of such a class moves the same way, and no other case moves at all."""
    space = joint_space(old, new)
    moved: dict[tuple[str, str], set[frozenset[tuple[int, int]]]] = {}
    unmoved: dict[tuple[str, str], set[frozenset[tuple[int, int]]]] = {}
    classes: set[frozenset[tuple[int, int]]] = set()
    ids = {r.id for r in (*old.rules, *new.rules)}
    for values in cases:
        where = frozenset(space.locate(values).items())
        classes.add(where)
        for rule_id in ids:
            before, after = fires(old, rule_id, values), fires(new, rule_id, values)
            for way, moves in (
                ("appear", after and not before),
                ("disappear", before and not after),
            ):
                (moved if moves else unmoved).setdefault((way, rule_id), set()).add(where)
    assert len(cases) > 1000
    assert len(classes) == space.class_count == report.classes
    reported = {("appear", m.rule): m.classes for m in report.appear}
    reported |= {("disappear", m.rule): m.classes for m in report.disappear}
    expected = {key: len(found) for key, found in moved.items()}
    assert reported == expected
    for key, found in moved.items():
        assert not found & unmoved.get(key, set()), f"{key}: a class moves only in part"
    # The narrowing loses exactly the spread, symptom-free G3 classes.
    lost = moved[("disappear", "treatment.watchful_waiting")]
    for where in lost:
        values = space.values(dict(where))
        assert values["grade"] == "G3"
        assert values["stage"] in ("regional", "metastatic")
        assert values["symptomatic"] == "false"


def non_defaults(values: Values) -> int:
    defaults = view_of({})
    count = 0
    for name, value in values.items():
        if isinstance(value, frozenset):
            count += len(value)
        elif name != "site" and value != defaults[name]:
            count += 1
    return count


def test_examples_are_the_smallest_cases_and_really_move(
    old: Rulebook, new: Rulebook, report: RulebookDiff, cases: list[Values]
) -> None:
    with make_engine(old) as old_engine, make_engine(new) as new_engine:
        for way, moves in (("appear", report.appear), ("disappear", report.disappear)):
            for m in moves:
                case = Case.model_validate(m.case)
                before, after = fired_ids(old_engine, case), fired_ids(new_engine, case)
                if way == "disappear":
                    before, after = after, before
                # `after`: the rulebook the point fires with; `before`: the other one.
                assert m.rule in after, m
                assert m.rule not in before, m
                # No smaller case moves this point: brute force over every case.
                smallest = min(
                    non_defaults(values)
                    for values in cases
                    if fires(old if way == "disappear" else new, m.rule, values)
                    and not fires(new if way == "disappear" else old, m.rule, values)
                )
                assert non_defaults(case_values(case)) == smallest, m
    waiting = next(m for m in report.disappear if m.rule == "treatment.watchful_waiting")
    assert waiting.case == {
        "site": "unknown",
        "grade": "G3",
        "stage": "regional",
        "symptomatic": False,
    }


def test_a_rulebook_against_itself_is_the_same(old: Rulebook) -> None:
    report = diff_rulebooks(old, load_rulebook(OLD_DIR))
    assert report.same
    assert report.appear == report.disappear == report.changed == ()


def test_count_and_smallest_agree_with_find(old: Rulebook, new: Rulebook) -> None:
    """ClassSpace.count with several rules that must hold, and smallest, against find."""
    space = joint_space(old, new)
    names = space.names
    for a, b in itertools.combinations(names, 2):
        together = space.count([a, b])
        assert (together > 0) == (space.find([a, b]) is not None)
        assert (space.smallest([a], [b]) is None) == (space.find([a], [b]) is None)
        assert space.count([a]) == space.count([a, b]) + space.count([a], [b])
    assert space.count() == space.class_count
    with pytest.raises(KeyError):
        space.count(["no.such.rule"])
    with pytest.raises(KeyError):
        space.smallest([], ["no.such.rule"])


def test_the_shipped_rulebook_against_itself(rulebook: Rulebook) -> None:
    report = diff_rulebooks(rulebook, rulebook)
    assert report.same
    assert report.classes > 1_000_000
    assert {OLD + r.id for r in rulebook.rules} | {NEW + r.id for r in rulebook.rules} == set(
        joint_space(rulebook, rulebook).names
    )
