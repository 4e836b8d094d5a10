from __future__ import annotations

from netaid.discussion import Discussion


def render_json(discussion: Discussion) -> str:
    """The Discussion model as JSON: the machine-readable contract of the CLI."""
    return discussion.model_dump_json(indent=2) + "\n"
