"""Every error netaid raises on purpose.

    NetaidError
     ├── CaseError        a case could not be read or is not valid (names the field)
     ├── RulebookError    the rulebook could not be loaded (names file, rule id, reason)
     ├── ConditionError   a condition is not valid (names the place: when.all[1].one_of.grade)
     ├── CheckError       `netaid check` could not build the class space soundly
     ├── EngineError      the rule engine failed while evaluating a case
     │    └── EngineLimitError   a ruleset would exceed a hard limit of the C engine
     ├── RenderError      a discussion could not be rendered in the asked format
     ├── UnknownPointError  no rule has the point id asked about (`Discussion.why_not`)
     ├── WriteError       an output file could not be written (names the file)
     └── ServiceError     `netaid serve` cannot start with its settings (a bad trust file)
          └── RequestError   one HTTP request refused: its status and the fields at fault

`Case(...)` itself is a Pydantic model and raises `pydantic.ValidationError` (a
`ValueError`); the readers in `netaid.case` turn that into `CaseError` so callers reading
files or flags need to catch only netaid's own errors.

Every one of them pickles with its details (`problems`, `origin`, `location`), so an error
raised in a worker process reaches the caller as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netaid._untrusted import MAX_SHOWN, printable

__all__ = [
    "CaseError",
    "CheckError",
    "ConditionError",
    "EngineError",
    "EngineLimitError",
    "FieldProblem",
    "NetaidError",
    "RenderError",
    "RequestError",
    "RuleProblem",
    "RulebookError",
    "ServiceError",
    "UnknownPointError",
    "WriteError",
]


class NetaidError(Exception):
    """Base class of every error netaid raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions pickle as `type(*args)`, which breaks for those whose constructor takes
        # other arguments than their message: rebuild from the message and the attributes.
        return (_rebuild, (type(self), self.args, dict(vars(self))))


def _rebuild(kind: type[NetaidError], args: tuple[object, ...], state: dict[str, object]) -> object:
    error = kind.__new__(kind)
    error.args = args
    vars(error).update(state)
    return error


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a case: which field, what was given, what is allowed."""

    field: str
    message: str
    value: object = None
    allowed: tuple[str, ...] = ()

    def __str__(self) -> str:
        # The field may be a key of the input (an unknown field): shown cut and printable.
        field = self.field if len(self.field) <= MAX_SHOWN else self.field[:MAX_SHOWN] + "..."
        text = f"{printable(field)}: {self.message}"
        if self.allowed:
            text += f" (allowed: {', '.join(self.allowed)})"
        return text


#: The most problems an error's message lists (all of them stay in its `problems`).
MAX_PROBLEMS_SHOWN = 20


def _listed(problems: Sequence[object]) -> list[str]:
    lines = [f"  - {p}" for p in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"  - and {len(problems) - MAX_PROBLEMS_SHOWN:,} more")
    return lines


class CaseError(NetaidError, ValueError):
    """A case could not be read, or it is not a valid case."""

    def __init__(self, problems: Sequence[FieldProblem], *, origin: str | None = None) -> None:
        self.problems = tuple(problems)
        self.origin = origin
        where = f"{origin}: " if origin else ""
        super().__init__("\n".join([f"{where}invalid case", *_listed(self.problems)]))


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with the rulebook, located as precisely as we can."""

    file: str
    message: str
    rule_id: str | None = None
    location: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.rule_id:
            parts.append(f"rule {self.rule_id!r}")
        if self.location:
            parts.append(self.location)
        return f"{': '.join(parts)}: {self.message}"


class RulebookError(NetaidError):
    """The rulebook could not be loaded. Nothing of it was loaded."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"rulebook not loaded: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([head, *_listed(self.problems)]))


class EngineError(NetaidError):
    """The rule engine failed while evaluating a case; the engine was reset."""


class EngineLimitError(EngineError):
    """A ruleset would exceed a hard limit of the durable-rules C engine."""


class RenderError(NetaidError):
    """A discussion could not be rendered."""


class UnknownPointError(NetaidError, LookupError):
    """No rule of the rulebook has the point id asked about."""


class ConditionError(NetaidError, ValueError):
    """A condition (a rule's `when:`, a term, a probe) is not valid; `location` is where."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")


class CheckError(NetaidError):
    """The class space could not be built soundly (the case model broke an assumption)."""


class WriteError(NetaidError):
    """An output file could not be written; what was there before is left as it was."""


class ServiceError(NetaidError):
    """`netaid serve` cannot start with its settings, e.g. a trust file that is not valid."""


class RequestError(ServiceError):
    """One HTTP request the service refuses: the status to answer and the fields at fault.

    `problems` name the field (`context.patientId`, `prefetch.conditions`, `site`); `code` is
    the FHIR OperationOutcome issue type the CDS Hooks endpoints report it as.
    """

    def __init__(
        self, status: int, problems: Sequence[FieldProblem], *, code: str = "invalid"
    ) -> None:
        self.status = status
        self.problems = tuple(problems)
        self.code = code
        super().__init__("; ".join(str(p) for p in self.problems) or f"HTTP {status}")
