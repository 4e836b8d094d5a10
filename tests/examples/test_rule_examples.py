"""The cases embedded in the rule files (`examples:` on a rule) hold with the shipped engine:
each produces the points it lists and none of those it rules out."""

from __future__ import annotations

import pytest

import netaid
from netaid import Case, Engine, Rulebook, load_rulebook


def embedded() -> list[tuple[str, int]]:
    return [(r.id, i) for r in load_rulebook().rules for i in range(len(r.examples))]


@pytest.mark.parametrize(("rule_id", "index"), embedded(), ids=lambda v: str(v))
def test_embedded_example_holds(
    rule_id: str, index: int, rulebook: Rulebook, engine: Engine
) -> None:
    example = rulebook.rule(rule_id).examples[index]
    d = netaid.discuss(Case.model_validate(example.case), engine=engine)
    shown = {p.id for p in d.points} | {n.id for n in d.notes}
    assert set(example.produces) <= shown, (rule_id, example.case)
    assert not set(example.not_produces) & shown, (rule_id, example.case)


def test_rules_carry_embedded_examples() -> None:
    assert len(embedded()) >= 20
