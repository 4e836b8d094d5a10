"""Rule engines: which rules of a rulebook fire for a case, and why.

`Engine` is the small interface the rest of netaid sees. `DurableEngine` is the production
backend and the only code in netaid that touches durable-rules; `PythonEngine` evaluates the
same compiled conditions in plain Python (a reference, and the fallback seam for Python
versions durable-rules cannot run on).

durable-rules 2.0.28 has sharp edges (see docs/engine.md); this module designs them out:

- No `durable.engine.Host`: its two timer threads re-run pending actions concurrently with
  the caller. We drive the C module directly on rulesets we own, with no Python actions at
  all: the names of the rules that fired are read off the action queue.
- One fact may match at most 64 alpha nodes at once (error 303, after which the state is
  corrupt). Rules are packed into several rulesets so that no ruleset even *has* more than
  `MAX_MATCH_PATHS` nodes, which bounds what any case can match.
- Facts are asserted and then retracted under one fixed session id, so nothing of one case
  is left for the next and memory stays flat.
- Any failure of the C engine discards every ruleset and builds them afresh before the
  error (an `EngineError`) reaches the caller. One lock serialises evaluation, since the C
  engine is not thread-safe and never releases the GIL anyway.
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from netaid._conditions import Reason, holds, match_paths, reasons, set_member_key, to_durable
from netaid.case import Case, case_fields, case_values
from netaid.errors import EngineError, EngineLimitError
from netaid.rulebook import Rule, Rulebook

__all__ = [
    "MAX_MATCH_PATHS",
    "DurableEngine",
    "Engine",
    "Evaluation",
    "PythonEngine",
    "plan_rulesets",
]

#: durable-rules' C engine walks matching alpha nodes with a fixed stack of 64 entries
#: (`MAX_STACK_SIZE` in events.c). We keep every ruleset's node count, counted without any
#: sharing, below this: a few entries of headroom against miscounting our own bound.
MAX_MATCH_PATHS = 60

_GUARD_KEY = "netaid_fact"
_GUARD = {_GUARD_KEY: "case"}
_SID = "0"


@dataclass(frozen=True)
class Evaluation:
    """The rules that fired for one case, each with the case facts that satisfied it."""

    fired: Mapping[str, tuple[Reason, ...]]

    @property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(self.fired)


class Engine(ABC):
    """Evaluates one case at a time against a rulebook. Safe to share between threads."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook

    @abstractmethod
    def fired_ids(self, case: Case) -> frozenset[str]:
        """The ids of the rules whose conditions hold for the case."""

    def evaluate(self, case: Case) -> Evaluation:
        values = case_values(case)
        fired: dict[str, tuple[Reason, ...]] = {}
        for rule_id in sorted(self.fired_ids(case)):
            why = reasons(self.rulebook.rule(rule_id).condition, values)
            if not why:
                raise EngineError(
                    f"engine fired rule {rule_id!r} but its condition does not hold for this case"
                )
            fired[rule_id] = why
        return Evaluation(MappingProxyType(fired))

    def close(self) -> None:  # noqa: B027 - engines without resources need no cleanup
        """Release what the engine holds. The engine must not be used afterwards."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PythonEngine(Engine):
    """Every rule's condition evaluated in plain Python."""

    def fired_ids(self, case: Case) -> frozenset[str]:
        values = case_values(case)
        return frozenset(r.id for r in self.rulebook.rules if holds(r.condition, values))


def plan_rulesets(rules: Iterable[Rule], budget: int = MAX_MATCH_PATHS) -> list[list[Rule]]:
    """Pack rules into as few rulesets as the node budget allows (first fit, largest first)."""
    bins: list[tuple[int, list[Rule]]] = []
    for rule in sorted(rules, key=lambda r: (-match_paths(r.condition), r.id)):
        cost = match_paths(rule.condition)
        if cost > budget:
            raise EngineLimitError(
                f"rule {rule.id!r} ({rule.file}) expands to {cost} engine match paths; "
                f"at most {budget} fit in one ruleset. Split it into smaller rules."
            )
        for i, (used, members) in enumerate(bins):
            if used + cost <= budget:
                members.append(rule)
                bins[i] = (used + cost, members)
                break
        else:
            bins.append((cost, [rule]))
    return [members for _, members in bins]


class DurableEngine(Engine):
    """The durable-rules backend, driven through its C module on rulesets it owns."""

    _names = itertools.count()

    def __init__(self, rulebook: Rulebook) -> None:
        import durable_rules_engine

        super().__init__(rulebook)
        self._c = durable_rules_engine
        self._lock = threading.Lock()
        self._rule_ids = frozenset(r.id for r in rulebook.rules)
        self._plan = plan_rulesets(rulebook.rules)
        self._definitions = [_ruleset_definition(group) for group in self._plan]
        self._handles: list[int] = []
        self._build()
        # C rulesets are never freed by durable-rules itself.
        self._finalizer = weakref.finalize(self, _delete_rulesets, self._c, self._handles)

    @property
    def plan(self) -> tuple[tuple[str, ...], ...]:
        """The rule ids of each C ruleset, as packed under `MAX_MATCH_PATHS`."""
        return tuple(tuple(r.id for r in group) for group in self._plan)

    def _build(self) -> None:
        for definition in self._definitions:
            name = f"netaid_{next(self._names)}"
            self._handles.append(self._c.create_ruleset(name, definition))

    def _reset(self) -> None:
        _delete_rulesets(self._c, self._handles)
        self._build()

    def close(self) -> None:
        with self._lock:
            self._finalizer()

    def fired_ids(self, case: Case) -> frozenset[str]:
        fact = json.dumps(_fact(case), separators=(",", ":"))
        with self._lock:
            if not self._finalizer.alive:
                raise EngineError("engine is closed")
            try:
                fired: set[str] = set()
                for handle in self._handles:
                    self._run(handle, fact, fired.update)
                return frozenset(fired)
            except Exception as exc:
                self._reset()
                if isinstance(exc, EngineError):
                    raise
                raise EngineError(f"durable-rules failed while evaluating the case: {exc}") from exc

    def _run(self, handle: int, fact: str, collect: Callable[[Iterable[str]], None]) -> None:
        status, state = self._c.assert_fact(handle, fact)
        if status == 1:  # no rule of this ruleset matched; nothing was stored
            return
        if status == 2:
            raise EngineError("durable-rules still holds a fact from an earlier case")
        try:
            action = self._c.start_action_for_state(handle, state)
            while action:
                message = action[1] if isinstance(action, tuple) else action
                collect(self._rule_names(message))
                action = self._c.complete_and_start_action(handle, state)
        finally:
            self._c.retract_fact(handle, fact)

    def _rule_names(self, message: str) -> Iterable[str]:
        names: list[str] = list(json.loads(message))
        for name in names:
            if name not in self._rule_ids:
                raise EngineError(f"durable-rules reported an unknown rule {name!r}")
        return names


def _delete_rulesets(c_module: Any, handles: list[int]) -> None:
    while handles:
        c_module.delete_ruleset(handles.pop())


def _fact(case: Case) -> dict[str, str]:
    fact = {"sid": _SID, **_GUARD}
    for name, value in case_values(case).items():
        if isinstance(value, frozenset):
            for member in case_fields()[name].values:
                fact[set_member_key(name, member)] = "yes" if member in value else "no"
        else:
            fact[name] = value
    return fact


def _ruleset_definition(rules: list[Rule]) -> str:
    definition: dict[str, Any] = {}
    for rule in rules:
        expression = to_durable(rule.condition)
        test = dict(_GUARD) if expression is None else {"$and": [dict(_GUARD), expression]}
        definition[rule.id] = {"all": [{"m": test}]}
    return json.dumps(definition)
