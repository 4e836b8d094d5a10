from __future__ import annotations

import re
from functools import cache

import jinja2

from netaid.discussion import Discussion
from netaid.render._common import (
    case_summary,
    cited_sources,
    review_text,
    sections,
    source_numbers,
    urgency_tag,
)

# Characters that start markup anywhere in a line; "(" ")" "#" only matter in places our
# templates never put free text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|&])")


def markdown_escape(text: object) -> str:
    """Free text rendered literally: no markup, no raw HTML, from any case or rule field."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("netaid", "templates"),
        autoescape=False,  # Markdown, not HTML: every value goes through the `md` filter
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_escape
    return env


def render_markdown(discussion: Discussion) -> str:
    template = _environment().get_template("discussion.md.j2")
    return template.render(
        d=discussion,
        summary=case_summary(discussion.case),
        sections=sections(discussion),
        numbers=source_numbers(discussion),
        sources=cited_sources(discussion),
        review_text=review_text,
        urgency_tag=urgency_tag,
    )
