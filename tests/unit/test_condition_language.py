"""The condition language has one home: every operator is handled by every consumer (the
compiler, evaluation, reasons, plain words, `netaid check` and both backends), and a node that
is not part of the language is an error everywhere, never a silent answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

import pytest

from netaid._conditions import (
    OPERATORS,
    All,
    AnyOf,
    Leaf,
    Not,
    Op,
    describe,
    holds,
    leaf_truth,
    leaves,
    reason_holds,
    reasons,
    unmet,
)
from netaid.case import Case, case_fields, case_values
from netaid.check import ClassSpace
from netaid.engines.durable import match_paths, to_durable
from netaid.engines.python import _Compiler
from netaid.errors import ConditionError

BASE = case_values(Case(site="lung", grade="G2", metastases=["liver"], symptomatic=True))


def _example_leaf(op: Op) -> Leaf:
    """A leaf of `op` on the first field of a kind it applies to, true of BASE."""
    operator = OPERATORS[op]
    name = next(n for n, spec in case_fields().items() if spec.kind in operator.kinds)
    if op == "contains":
        name = "metastases"
    actual = BASE[name]
    match operator.arity:
        case "none":
            values: tuple[str, ...] = ()
        case "one":
            values = (sorted(actual)[0],) if isinstance(actual, frozenset) else (str(actual),)
        case "many":
            other = next(v for v in case_fields()[name].values if v != actual)
            values = (str(actual), other)
    return Leaf(name, op, values)


def test_the_operators_are_exactly_the_language_s_leaf_operators() -> None:
    assert set(OPERATORS) == set(get_args(Op))


@pytest.mark.parametrize("op", get_args(Op))
def test_every_consumer_handles_every_operator(op: Op) -> None:
    leaf = _example_leaf(op)
    assert leaf_truth(leaf, BASE[leaf.field]) is True
    assert holds(leaf, BASE)
    assert holds(Not(leaf), BASE) is False
    (reason,) = reasons(leaf, BASE)
    assert reason_holds(reason, BASE)
    assert describe(reason)
    (negated,) = unmet(Not(leaf), BASE)
    assert negated.needs
    assert to_durable(leaf) is not None
    assert to_durable(Not(leaf)) is not None
    assert match_paths(leaf) >= 1
    assert _Compiler().expression(leaf)
    space = ClassSpace.from_conditions({"probe": leaf})
    assert space.fired(BASE) == {"probe"}


@dataclass(frozen=True)
class Foreign:
    """Not a node of the language (what a bug, or a careless extension, might hand in)."""


FOREIGN: Any = Foreign()


@pytest.mark.parametrize(
    "consumer",
    [
        lambda c: holds(c, BASE),
        lambda c: list(leaves(c)),
        lambda c: reasons(All((c,)), BASE),
        lambda c: unmet(AnyOf((c,)), BASE),
        lambda c: to_durable(Not(c)),
        lambda c: match_paths(c),
        lambda c: _Compiler().expression(c),
        lambda c: ClassSpace.from_conditions({"probe": c}),
    ],
    ids=["holds", "leaves", "reasons", "unmet", "durable", "match_paths", "python", "check"],
)
def test_a_foreign_node_is_an_error_everywhere(consumer: Any) -> None:
    with pytest.raises(ConditionError, match="not a condition node"):
        consumer(FOREIGN)


def test_a_foreign_operator_is_an_error_everywhere() -> None:
    leaf: Any = Leaf("grade", "resembles", ("G1",))  # type: ignore[arg-type]
    for consumer in (
        lambda: leaf_truth(leaf, "G1"),
        lambda: holds(leaf, BASE),
        lambda: to_durable(leaf),
        lambda: _Compiler().expression(leaf),
    ):
        with pytest.raises(ConditionError, match="not a condition node or operator"):
            consumer()
