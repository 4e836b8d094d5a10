"""The `Engine` interface every backend implements, and what an evaluation returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from netaid._conditions import Reason, leaves, reasons
from netaid.case import Case, case_values
from netaid.errors import EngineError
from netaid.rulebook import Rulebook

_MAX_KNOWN_REASONS = 20_000  # (rule, values read) pairs an engine remembers reasons for


@dataclass(frozen=True)
class Evaluation:
    """The rules that fired for one case, each with the case facts that satisfied it, and
    the name of the engine that found them."""

    fired: Mapping[str, tuple[Reason, ...]]
    engine: str = ""

    @property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(self.fired)


class Engine(ABC):
    """Evaluates one case at a time against a rulebook. Safe to share between threads.

    A backend implements `fired_ids`; `evaluate` adds the reasons, the same for every backend
    (they come from the conditions, not from the engine). Build engines with
    `netaid.engines.make_engine`, which picks the backend.
    """

    #: The backend's name, as `--engine` and `make_engine` spell it.
    name: ClassVar[str]

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        # Reasons are a function of the values of the fields a condition reads, so they are
        # kept per rule and those values (the same few combinations recur case after case).
        self._reads = {
            r.id: tuple(sorted({leaf.field for leaf in leaves(r.condition)}))
            for r in rulebook.rules
        }
        self._reasons: dict[tuple[str, tuple[object, ...]], tuple[Reason, ...]] = {}

    @abstractmethod
    def fired_ids(self, case: Case) -> frozenset[str]:
        """The ids of the rules whose conditions hold for the case."""

    def evaluate(self, case: Case) -> Evaluation:
        """The rules that fire for the case, each with the facts of the case that made its
        condition true. Raises `EngineError` if the backend fails or reports a rule whose
        condition does not hold (the engine is then reset, and may be used again)."""
        fired_ids = self.fired_ids(case)
        values = case_values(case)
        known, reads = self._reasons, self._reads
        fired: dict[str, tuple[Reason, ...]] = {}
        for rule_id in sorted(fired_ids):
            key = (rule_id, tuple([values[name] for name in reads[rule_id]]))
            why = known.get(key)
            if why is None:
                why = reasons(self.rulebook.rule(rule_id).condition, values)
                if not why:
                    raise EngineError(
                        f"engine fired rule {rule_id!r} but its condition does not hold "
                        "for this case"
                    )
                if len(known) < _MAX_KNOWN_REASONS:
                    known[key] = why
            fired[rule_id] = why
        return Evaluation(MappingProxyType(fired), self.name)

    # -- what `netaid check` asks of a backend with hard limits (durable-rules has some) --

    @property
    def layout(self) -> tuple[tuple[tuple[str, ...], ...], ...]:
        """The groups of rules the backend evaluates together under a hard limit: per group,
        its backend rules, each as the ids of the rules sharing it. Empty: no such limits."""
        return ()

    def stack_need(self, rule_ids: Iterable[str]) -> int:
        """The most entries of a bounded match stack one valid case can fill when these
        rules share a group of `layout` (0 for backends without one)."""
        return 0

    def close(self) -> None:  # noqa: B027 - engines without resources need no cleanup
        """Release what the engine holds. The engine must not be used afterwards."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
