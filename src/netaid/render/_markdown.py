from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from netaid.discussion import Discussion, change_text
from netaid.render._common import (
    IF_KNOWN_TITLE,
    INTRO,
    capfirst,
    case_summary,
    citation_flag,
    cited_sections,
    cited_sources,
    if_known_groups,
    provenance,
    review_text,
    sections,
    source_numbers,
    tie_lead,
    urgency_tag,
)
from netaid.render._worksheet import worksheet

if TYPE_CHECKING:
    import jinja2

# Backslash-escaping any ASCII punctuation is a no-op in CommonMark, so we escape every
# character that starts inline markup or raw HTML anywhere in a line, plus "#" (a trailing
# run closes a heading) and "~" (GFM strikethrough).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|&#~])")
# What makes a line a block (list item, thematic break, setext underline) when it starts one.
_BLOCK_START = re.compile(r"^(\d{1,9})([.)])|^([-+=])")
_BLANK_LINES = re.compile(r"\n\s*\n")
# What GitHub-flavoured Markdown turns into a link by itself (extended autolinks): a scheme
# and its colon, "www.", an email address. A backslash before the colon, the dot or the @
# stops it and shows the same characters: the text is the author's, not a link netaid vouches
# for.
_AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp|mailto|xmpp)(?=:)|\bwww(?=\.)|(?=@)")


def markdown_escape(text: object) -> str:
    """Free text as one literal line: no markup, no raw HTML, no line breaks to escape through.

    Used for every value the templates put inside a line (titles, table cells, list items).
    """
    return _no_autolinks(_MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split())))


def markdown_escape_block(text: object) -> str:
    """Multi-paragraph free text (case notes) kept as paragraphs, every line literal."""
    paragraphs = []
    for paragraph in _BLANK_LINES.split(str(text).strip()):
        lines = []
        for line in paragraph.splitlines():
            escaped = _no_autolinks(_MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(line.split())))
            if escaped:
                lines.append(_BLOCK_START.sub(_escape_block_start, escaped))
        # A backslash at the end of a line is a hard line break: the author's lines survive.
        paragraphs.append("\\\n".join(lines))
    return "\n\n".join(p for p in paragraphs if p)


def _no_autolinks(text: str) -> str:
    return _AUTOLINK.sub(lambda match: match.group(0) + "\\", text)


def _escape_block_start(match: re.Match[str]) -> str:
    if match.group(3):
        return "\\" + match.group(3)
    return f"{match.group(1)}\\{match.group(2)}"


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # only when a template is rendered: it is most of the CLI's start-up

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("netaid", "templates"),
        autoescape=False,  # Markdown, not HTML: every value goes through the `md` filters
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_escape
    env.filters["md_block"] = markdown_escape_block
    env.filters["capfirst"] = capfirst
    env.globals.update(
        review_text=review_text,
        citation_flag=citation_flag,
        tie_lead=tie_lead,
        urgency_tag=urgency_tag,
        intro=INTRO,
        provenance=provenance,
        change_text=change_text,
        if_known_title=IF_KNOWN_TITLE,
    )
    return env


def render_markdown(discussion: Discussion, *, audience: str = "tutor") -> str:
    if audience == "student":
        return (
            _environment()
            .get_template("worksheet.md.j2")
            .render(w=worksheet(discussion), summary=case_summary(discussion.case))
        )
    return (
        _environment()
        .get_template("discussion.md.j2")
        .render(
            d=discussion,
            summary=case_summary(discussion.case),
            sections=sections(discussion),
            numbers=source_numbers(discussion),
            sources=cited_sources(discussion),
            cited_sections=cited_sections(discussion),
            if_known=if_known_groups(discussion),
        )
    )


def render_markdown_many(discussions: Sequence[Discussion], *, audience: str = "tutor") -> str:
    # A thematic break between handouts; each handout keeps its own statement top and bottom.
    return "\n* * *\n\n".join(render_markdown(d, audience=audience) for d in discussions)
