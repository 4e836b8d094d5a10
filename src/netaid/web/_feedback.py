"""CDS Hooks feedback: which cards were accepted or overridden, appended as JSON lines.

A line holds the card's id, the outcome, its time, the override reason's code (a code the
service offers, never the user's comment) and the ids of accepted suggestions: nothing about
the patient. Lines are appended whole under a lock (one `write` of one line, in append mode).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FeedbackLog", "FeedbackRequest"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Coding(_Open):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class _OverrideReason(_Open):
    reason: _Coding | None = None
    userComment: str | None = None


class _Accepted(_Open):
    id: str


class FeedbackItem(_Open):
    card: str = Field(min_length=1, max_length=200)
    outcome: Literal["accepted", "overridden"]
    outcomeTimestamp: dt.datetime
    acceptedSuggestions: list[_Accepted] | None = None
    overrideReason: _OverrideReason | None = None


class FeedbackRequest(_Open):
    feedback: list[FeedbackItem] = Field(max_length=1000)


class FeedbackLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, service: str, request: FeedbackRequest) -> int:
        received = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        lines = []
        for item in request.feedback:
            record: dict[str, Any] = {
                "service": service,
                "card": item.card,
                "outcome": item.outcome,
                "outcomeTimestamp": item.outcomeTimestamp.isoformat(),
                "received": received,
            }
            if item.acceptedSuggestions:
                record["acceptedSuggestions"] = [s.id for s in item.acceptedSuggestions]
            reason = item.overrideReason.reason if item.overrideReason else None
            if reason is not None and reason.code is not None:
                record["overrideReason"] = {"system": reason.system, "code": reason.code}
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        data = "".join(lines).encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        return len(lines)
