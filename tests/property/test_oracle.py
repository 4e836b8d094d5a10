"""Each engine backend against an independent evaluator of the rule files.

Over the whole class space: a plain loop over the cases that between them contain every
class of every independent part of the space (`ClassSpace.covering`). A rule reads the
fields of one part only, so this puts every rule through every situation it can tell apart.
Random cases then check the reduction itself: each lands in a class whose rules are the ones
the independent evaluator finds.
"""

from __future__ import annotations

from hypothesis import given

from netaid import Case
from netaid.case import case_values
from netaid.strategies import cases
from tests.property._support import PROPERTY, fired
from tests.property.conftest import Subject


def test_engine_agrees_with_independent_evaluator_on_every_class(subject: Subject) -> None:
    space, engine = subject.space, subject.engine
    assert set(subject.raw) == {r.id for r in subject.rulebook.rules}
    rules = frozenset(subject.raw)
    checked = 0
    for assignment, in_space in space.covering():
        case = space.case(assignment)
        expected = fired(subject.raw, case)
        assert engine.fired_ids(case) == expected, case
        assert in_space & rules == expected, case
        checked += 1
    # The heaviest case of each group of rules the engine evaluates under a hard limit (the
    # durable-rules rulesets, where the 64-match limit would bite; the Python engine has none).
    for shared in engine.layout:
        _, assignment = space.max_together(rule_id for same in shared for rule_id in same)
        case = space.case(assignment)
        assert engine.fired_ids(case) == fired(subject.raw, case), case
    assert checked == len(space.covering()) > 0


@given(case=cases())
@PROPERTY
def test_every_case_is_in_a_class_with_its_rules(subject: Subject, case: Case) -> None:
    assert subject.space.fired(case_values(case)) & frozenset(subject.raw) == fired(
        subject.raw, case
    )


@given(case=cases())
@PROPERTY
def test_engine_agrees_on_random_cases(subject: Subject, case: Case) -> None:
    assert subject.engine.fired_ids(case) == fired(subject.raw, case)
