"""Renderers: a Discussion as text, Markdown or JSON.

Each format is one function from a Discussion to a string, registered in `FORMATS`, so a new
format (HTML handouts, FHIR, CDS Hooks cards) is one more entry, not a change to the core.
"""

from __future__ import annotations

from collections.abc import Callable

from netaid.discussion import Discussion
from netaid.errors import RenderError
from netaid.render._json import render_json
from netaid.render._markdown import render_markdown
from netaid.render._text import render_text

__all__ = ["FORMATS", "render"]

Renderer = Callable[[Discussion], str]

FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}


def render(discussion: Discussion, fmt: str = "text") -> str:
    """Render a discussion in one of `FORMATS`."""
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        raise RenderError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})") from None
    return renderer(discussion)
