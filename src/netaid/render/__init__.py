"""Renderers: a Discussion as text, Markdown, HTML, JSON or FHIR, for a tutor or a student.

Each format is one function from a Discussion to a string, registered in `FORMATS`, so a new
format (FHIR, CDS Hooks cards) is one more entry, not a change to the core. Every renderer
takes `audience`: "tutor" (the full discussion with its reasoning) or "student" (the case and
the questions to work through, without the answers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from netaid.discussion import Discussion
from netaid.errors import RenderError
from netaid.render._fhir import render_fhir, render_fhir_many
from netaid.render._html import render_html, render_html_many
from netaid.render._json import render_json, render_json_many
from netaid.render._markdown import render_markdown, render_markdown_many
from netaid.render._text import render_text, render_text_many
from netaid.render._worksheet import Worksheet, worksheet

__all__ = [
    "AUDIENCES",
    "EXTENSIONS",
    "FORMATS",
    "Audience",
    "Format",
    "Renderer",
    "Worksheet",
    "render",
    "render_many",
    "worksheet",
]

Audience = Literal["tutor", "student"]
AUDIENCES: tuple[Audience, ...] = ("tutor", "student")
#: The formats, for type checkers; `FORMATS` holds their renderers.
Format = Literal["text", "markdown", "html", "json", "fhir"]


class Renderer(Protocol):
    def __call__(self, discussion: Discussion, *, audience: str = "tutor") -> str: ...


FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "markdown": render_markdown,
    "html": render_html,
    "json": render_json,
    "fhir": render_fhir,
}

#: The file name extension of each format, for commands that write files.
EXTENSIONS: dict[str, str] = {
    "text": "txt",
    "markdown": "md",
    "html": "html",
    "json": "json",
    "fhir": "json",
}

_MANY: dict[str, Callable[..., str]] = {
    "text": render_text_many,
    "markdown": render_markdown_many,
    "html": render_html_many,
    "json": render_json_many,
    "fhir": render_fhir_many,
}


def _check(fmt: str, audience: str) -> None:
    if fmt not in FORMATS:
        raise RenderError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    if audience not in AUDIENCES:
        raise RenderError(f"unknown audience {audience!r} (audiences: {', '.join(AUDIENCES)})")


def render(discussion: Discussion, fmt: Format = "text", *, audience: Audience = "tutor") -> str:
    """Render a discussion in one of `FORMATS` for one of `AUDIENCES`."""
    _check(fmt, audience)
    return FORMATS[fmt](discussion, audience=audience)


def render_many(
    discussions: Sequence[Discussion], fmt: Format = "text", *, audience: Audience = "tutor"
) -> str:
    """Several discussions as one document: one HTML file with a page per case, Markdown and
    text handouts one after another, a JSON array."""
    _check(fmt, audience)
    if not discussions:
        raise RenderError("nothing to render: no discussions given")
    return _MANY[fmt](discussions, audience=audience)
