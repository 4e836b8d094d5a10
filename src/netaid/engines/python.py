"""The pure-Python backend: a rulebook compiled into one plain Python function.

Every rule's condition becomes a Python expression over the case's attributes, and all of
them one generated function (`fired(case)`): no tree is walked per case, no view of the case
is built, and rules with the same condition share one test. It runs wherever Python runs
(durable-rules' C extension does not import on 3.13+), has no limits beyond Python's own,
and is several times faster than driving durable-rules (docs/performance.md).

The generated source holds only identifiers and operators: every value (enum members, rule
ids) is a constant of the function's namespace, so nothing in a rule file can inject code.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from typing import NoReturn

from netaid._conditions import All, Always, AnyOf, Condition, Leaf, Not, not_a_condition
from netaid.case import Case, attribute_values, case_fields
from netaid.engines._base import Engine
from netaid.errors import EngineError
from netaid.rulebook import Rulebook

__all__ = ["PythonEngine", "compile_rulebook", "generated_source"]

FiredIds = Callable[[Case], frozenset[str]]


class _Compiler:
    """Turns conditions into expressions, naming each constant it needs once."""

    def __init__(self) -> None:
        self.namespace: dict[str, object] = {}
        self._names: dict[tuple[str, object], str] = {}

    def constant(self, value: object) -> str:
        # Keyed by type too: True == 1 and "a" == StrEnum("a") must stay distinct constants.
        key = (type(value).__qualname__, value)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = f"_k{len(self._names)}"
            self.namespace[name] = value
        return name

    def expression(self, condition: Condition) -> str:
        match condition:
            case Always():
                return "True"
            case Leaf():
                return self.leaf(condition)
            case All(children=children):
                return "(" + " and ".join(self.expression(c) for c in children) + ")"
            case AnyOf(children=children):
                return "(" + " or ".join(self.expression(c) for c in children) + ")"
            case Not(child=child):
                return f"(not {self.expression(child)})"
            case _:
                not_a_condition(condition)

    def leaf(self, leaf: Leaf) -> str:
        raw = attribute_values(leaf.field)
        var = _variable(leaf.field)
        match leaf.op:
            case "equals":
                return f"({var} == {self.constant(raw[leaf.values[0]])})"
            case "one_of":
                options = frozenset(raw[v] for v in leaf.values)
                return f"({var} in {self.constant(options)})"
            case "contains":
                return f"({self.constant(raw[leaf.values[0]])} in {var})"
            case "is_known":
                return f"({var} != {self.constant(raw['unknown'])})"
            case _:
                not_a_condition(leaf.op)


def _variable(field: str) -> str:
    # Field names are identifiers (they are Case attributes); the prefix keeps them apart
    # from the function's own names.
    return f"f_{field}"


def generated_source(rulebook: Rulebook) -> tuple[str, dict[str, object]]:
    """The source of the function a rulebook compiles to, and the constants it refers to."""
    compiler = _Compiler()
    # Every field rules may read, read or not by this rulebook: each value is checked.
    fields = list(case_fields())
    by_test: dict[str, list[str]] = {}
    always: list[str] = []
    for rule in rulebook.rules:
        if isinstance(rule.condition, Always):
            always.append(rule.id)
        else:
            by_test.setdefault(compiler.expression(rule.condition), []).append(rule.id)
    lines = ["def fired(case):"]
    if len(fields) == 1:
        lines.append(f"    {_variable(fields[0])} = case.{fields[0]}")
    elif fields:
        getter = compiler.constant(operator.attrgetter(*fields))
        lines.append(f"    {', '.join(_variable(f) for f in fields)} = {getter}(case)")
    if fields:
        # A value outside its field's domain (a Case built without validation) is an error,
        # as it is to durable-rules, never a silent "no rule matches".
        checks = []
        for name in fields:
            domain = compiler.constant(frozenset(attribute_values(name).values()))
            test = "<=" if case_fields()[name].kind == "set" else "in"
            checks.append(f"{_variable(name)} {test} {domain}")
        lines.append(f"    if not ({' and '.join(checks)}):")
        lines.append(f"        {compiler.constant(_unknown_value)}(case)")
    lines.append(f"    out = list({compiler.constant(tuple(always))})")
    lines.append("    add = out.extend")
    for test, ids in by_test.items():
        lines.append(f"    if {test}: add({compiler.constant(tuple(ids))})")
    lines.append("    return frozenset(out)")
    return "\n".join(lines) + "\n", compiler.namespace


def _unknown_value(case: Case) -> NoReturn:
    for name in case_fields():
        value = getattr(case, name, None)
        domain = attribute_values(name).values()
        known = all(v in domain for v in value) if isinstance(value, frozenset) else value in domain
        if not known:
            raise EngineError(f"the case holds a value the engine does not know: {name}={value!r}")
    raise EngineError("the case holds a value the engine does not know")


def compile_rulebook(rulebook: Rulebook) -> FiredIds:
    """One generated function: the ids of the rules whose conditions hold for a case."""
    source, namespace = generated_source(rulebook)
    code = compile(source, f"<netaid rulebook {rulebook.version}+{rulebook.fingerprint}>", "exec")
    exec(code, namespace)  # the source is ours: identifiers and operators only (see above)
    fired = namespace["fired"]
    assert callable(fired)
    return fired


class PythonEngine(Engine):
    """The pure-Python backend: the rulebook compiled into one Python function."""

    name = "python"

    def __init__(self, rulebook: Rulebook) -> None:
        super().__init__(rulebook)
        self._fired = compile_rulebook(rulebook)
        self._closed = threading.Event()

    def fired_ids(self, case: Case) -> frozenset[str]:
        if self._closed.is_set():
            raise EngineError("engine is closed")
        try:
            return self._fired(case)
        except (AttributeError, TypeError) as exc:
            # Only a Case-like object that is not a valid Case gets here.
            raise EngineError(f"the case holds a value the engine does not know: {exc}") from None

    def close(self) -> None:
        self._closed.set()
