from __future__ import annotations

import textwrap

from netaid.discussion import Discussion
from netaid.render._common import (
    case_summary,
    cited_sources,
    review_text,
    sections,
    source_numbers,
    urgency_tag,
)

_WIDTH = 88


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent=indent, subsequent_indent=indent) or [indent]


def render_text(discussion: Discussion) -> str:
    disclaimer = discussion.disclaimer.upper()
    numbers = source_numbers(discussion)
    case = discussion.case
    out = [f"NET case discussion: {disclaimer}", ""]
    if case.title:
        out.append(f"Case: {case.title}")
    out += [f"  {label}: {value}" for label, value in case_summary(case)]
    if case.notes:
        out += _wrap(f"Notes: {case.notes}", "  ")
    for section in sections(discussion):
        out += ["", section.title.upper(), "-" * len(section.title)]
        for point in section.points:
            contested = " (documents disagree)" if point.contested else ""
            out += _wrap(f"* {urgency_tag(point.urgency)}{point.title}{contested}", "")
            out += _wrap(point.text, "    ")
            out += _wrap("Why: " + "; ".join(b.text for b in point.because), "    ")
            for ref in point.sources:
                side = f" {ref.says.rstrip('.')}:" if ref.says else ""
                out += _wrap(
                    f'[{numbers[ref.source_id]}] {ref.section}:{side} "{ref.quote}"', "    "
                )
    if discussion.notes:
        out += ["", "NOTES ON WHAT THE DOCUMENTS COVER", "-" * 33]
        for note in discussion.notes:
            out += _wrap(f"* {note.title}", "")
            out += _wrap(note.text, "    ")
            refs = ", ".join(f"[{numbers[r.source_id]}]" for r in note.sources)
            out += _wrap(f"Sources: {refs}", "    ")
    out += ["", "SOURCES", "-------"]
    for ref in cited_sources(discussion):
        out += _wrap(
            f'[{numbers[ref.source_id]}] {ref.publisher}, "{ref.title}" ({review_text(ref)})', ""
        )
    out += [
        "",
        f"Rulebook {discussion.rulebook_version}, as of {discussion.as_of.isoformat()}.",
        f"This discussion is {discussion.disclaimer}.",
        "",
    ]
    return "\n".join(out)
