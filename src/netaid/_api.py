"""The one-line API: `netaid.discuss(case)`."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping

from netaid.case import Case, case_from_mapping
from netaid.discussion import Discussion, build_discussion
from netaid.engine import DurableEngine, Engine
from netaid.rulebook import load_rulebook

_default_engine: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    """The engine for the shipped rulebook, built once per process on first use."""
    global _default_engine
    with _default_lock:
        if _default_engine is None:
            _default_engine = DurableEngine(load_rulebook())
        return _default_engine


def discuss(
    case: Case | Mapping[str, object],
    *,
    engine: Engine | None = None,
    today: dt.date | None = None,
) -> Discussion:
    """The discussion points the documents associate with a case.

    `case` may be a `Case` or a mapping of its fields (then a `CaseError` names any faulty
    field). `today` decides which sources are flagged as past their stated review date.
    """
    if not isinstance(case, Case):
        case = case_from_mapping(case)
    engine = engine or default_engine()
    evaluation = engine.evaluate(case)
    return build_discussion(case, engine.rulebook, evaluation, today=today or dt.date.today())
