"""Running the rulebook through the engines: the covering cases, each ruleset's heaviest
case, and the rules' embedded examples."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from netaid.case import Case
from netaid.check._search import Assignment
from netaid.check._space import ClassSpace
from netaid.engines import Engine
from netaid.errors import EngineError
from netaid.rulebook import Rulebook

#: durable-rules' C engine fails (error 303, state corrupt) when one fact fills more than 64
#: entries of its match stack; see docs/engine.md.
ENGINE_MATCH_LIMIT = 64
#: The budget the durable backend keeps each ruleset within, below the limit.
STACK_BUDGET = 60


def _dump(case: Case) -> dict[str, Any]:
    return case.model_dump(mode="json", exclude_defaults=True)


@dataclass(frozen=True)
class RulesetLoad:
    """How much of one engine ruleset a single case can light up.

    Rules with the same condition are one durable-rules rule (`Engine.layout`), so
    `durable_rules` and `max_firing` count those, as durable-rules' limits do. `stack_need`
    is the most match-stack entries any valid case can fill (`Engine.stack_need`).
    """

    index: int
    rules: int
    durable_rules: int
    max_firing: int
    stack_need: int
    case: dict[str, Any]


@dataclass(frozen=True)
class ExampleResult:
    rule: str
    index: int
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not (self.missing or self.unexpected)


def _ruleset_loads(
    space: ClassSpace, engine: Engine, match_limit: int, problems: list[str]
) -> tuple[RulesetLoad, ...]:
    loads = []
    for n, shared in enumerate(engine.layout):
        # One rule stands for each durable-rules rule: those sharing it fire with it.
        firsts = [ids[0] for ids in shared]
        most, assignment = space.max_together(firsts)
        stack_need = engine.stack_need(firsts)
        case = space.case(assignment)
        rules = sum(len(ids) for ids in shared)
        loads.append(RulesetLoad(n, rules, len(firsts), most, stack_need, _dump(case)))
        if most > match_limit:
            problems.append(
                f"ruleset {n}: {most} durable-rules rules fire together for one case; the "
                f"engine's limit is {match_limit}"
            )
        if stack_need > match_limit:
            problems.append(
                f"ruleset {n}: one case can fill {stack_need} entries of the match stack; "
                f"the engine's limit is {match_limit}"
            )
        # The case that loads this ruleset most, through the real engine: it must not fail
        # and must agree with the class space.
        expected = space.fired(space.values(assignment)) & frozenset(space.names)
        try:
            actual = engine.fired_ids(case)
        except EngineError as exc:
            problems.append(f"ruleset {n}: the engine failed on its heaviest case: {exc}")
            continue
        if actual != expected:
            problems.append(
                f"ruleset {n}: on its heaviest case the engine fired "
                f"{sorted(actual ^ expected)} differently from the rules' conditions"
            )
    return tuple(loads)


def _differential(
    space: ClassSpace, covering: Sequence[tuple[Assignment, frozenset[str]]], engine: Engine
) -> tuple[str, ...]:
    """Every covering case through the engine, against what the rules' conditions say."""
    problems: list[str] = []
    rules = frozenset(space.names)
    for assignment, fired in covering:
        case = space.case(assignment)
        try:
            actual = engine.fired_ids(case)
        except EngineError as exc:
            problems.append(f"the engine failed on {_dump(case)}: {exc}")
        else:
            if actual != fired & rules:
                diff = sorted(actual ^ (fired & rules))
                problems.append(f"the engine disagrees on {diff} for {_dump(case)}")
        if len(problems) >= 10:
            break
    return tuple(problems)


def _run_examples(rulebook: Rulebook, engine: Engine) -> Iterator[ExampleResult]:
    # The loader has already refused examples naming rules that do not exist.
    for rule in rulebook.rules:
        for n, example in enumerate(rule.examples):
            fired = engine.fired_ids(Case.model_validate(example.case))
            yield ExampleResult(
                rule=rule.id,
                index=n,
                missing=tuple(p for p in example.produces if p not in fired),
                unexpected=tuple(p for p in example.not_produces if p in fired),
            )
