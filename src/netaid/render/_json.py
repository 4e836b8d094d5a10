from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from netaid.discussion import Discussion
from netaid.render._worksheet import worksheet


def _data(discussion: Discussion, audience: str) -> dict[str, Any]:
    model = worksheet(discussion) if audience == "student" else discussion
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


def render_json(discussion: Discussion, *, audience: str = "tutor") -> str:
    """The Discussion model as JSON: the machine-readable contract of the CLI. For students,
    the Worksheet instead, which holds no answers."""
    if audience == "student":
        return worksheet(discussion).model_dump_json(indent=2) + "\n"
    return discussion.model_dump_json(indent=2) + "\n"


def render_json_many(discussions: Sequence[Discussion], *, audience: str = "tutor") -> str:
    items = [_data(d, audience) for d in discussions]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
