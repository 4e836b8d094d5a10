"""A compiled plain-Python evaluator of a rulebook's conditions, for comparison only.

`netaid.PythonEngine` walks each rule's condition tree per case; this generates one Python
function with every condition written out as an expression, which is about as fast as plain
Python gets. The benchmark reports the durable-rules engine against both.
"""

from __future__ import annotations

from collections.abc import Callable

from netaid import Case, Rulebook
from netaid._conditions import All, Always, AnyOf, Condition, Leaf, Not
from netaid.case import case_values


def _expression(condition: Condition) -> str:
    if isinstance(condition, Always):
        return "True"
    if isinstance(condition, Not):
        return f"(not {_expression(condition.child)})"
    if isinstance(condition, All | AnyOf):
        joiner = " and " if isinstance(condition, All) else " or "
        return "(" + joiner.join(_expression(c) for c in condition.children) + ")"
    assert isinstance(condition, Leaf)
    value = f"v[{condition.field!r}]"
    if condition.op == "contains":
        return f"({condition.values[0]!r} in {value})"
    if condition.op == "is_known":
        return f"({value} != 'unknown')"
    if condition.op == "equals":
        return f"({value} == {condition.values[0]!r})"
    return f"({value} in {condition.values!r})"


def compile_rulebook(rulebook: Rulebook) -> Callable[[Case], frozenset[str]]:
    """One generated function: the ids of the rules whose conditions hold for a case."""
    lines = ["def fired(v):", "    out = []", "    add = out.append"]
    for rule in rulebook.rules:
        lines.append(f"    if {_expression(rule.condition)}: add({rule.id!r})")
    lines.append("    return frozenset(out)")
    namespace: dict[str, object] = {}
    exec(compile("\n".join(lines), "<compiled rulebook>", "exec"), namespace)
    fired = namespace["fired"]
    assert callable(fired)

    def fired_ids(case: Case) -> frozenset[str]:
        result: frozenset[str] = fired(case_values(case))
        return result

    return fired_ids
