from __future__ import annotations

from collections.abc import Sequence

from netaid._untrusted import printable
from netaid.case import Case
from netaid.discussion import Discussion, SourceRef, Tie, change_text
from netaid.render._common import (
    IF_KNOWN_TITLE,
    capfirst,
    case_summary,
    citation_flag,
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

_WIDTH = 88


def _wrap(text: str, indent: str, first: str | None = None) -> list[str]:
    # A greedy fill on whitespace: textwrap's hyphen-aware splitting cost more than the rest of
    # the text renderer together (about 500 wraps a discussion), and a word longer than a line
    # (a URL in a tutor's notes) is better left whole than cut.
    lead = indent if first is None else first
    words = text.split()
    if not words:
        return [lead]
    lines = []
    line = lead + words[0]
    for word in words[1:]:
        if len(line) + 1 + len(word) <= _WIDTH:
            line += " " + word
        else:
            lines.append(line)
            line = indent + word
    lines.append(line)
    return lines


def _safe(lines: list[str]) -> str:
    # Control characters and bidi overrides in any string netaid did not write (a case's free
    # text, the titles and texts of a custom rulebook) could drive the reader's terminal or
    # make text read backwards: the whole handout shows them as U+FFFD instead. netaid's own
    # text holds none but the newlines joining the lines.
    return printable("\n".join(lines))


def _case_lines(case: Case) -> list[str]:
    out = []
    if case.title:
        out.append(f"Case: {' '.join(case.title.split())}")
    out += [f"  {label}: {value}" for label, value in case_summary(case)]
    if case.notes:
        out += _wrap(f"Notes: {case.notes}", "  ")
    return out


def _ref(ref: SourceRef, numbers: dict[str, int]) -> str:
    """A citation's reference number, flagged when its source is possibly out of date."""
    flag = citation_flag(ref)
    return f"[{numbers[ref.source_id]}]" + (f" ({flag})" if flag else "")


def _tie_lines(tie: Tie | None, numbers: dict[str, int]) -> list[str]:
    if tie is None:
        return []
    out = _wrap(tie_lead(tie), "    ")
    for ref in tie.sources:
        out += _wrap(
            f'{_ref(ref, numbers)} {ref.publisher}, {ref.section}: "{ref.quote}"', "      "
        )
    return out


def render_text(discussion: Discussion, *, audience: str = "tutor") -> str:
    if audience == "student":
        return _render_student(discussion)
    disclaimer = discussion.disclaimer.upper()
    numbers = source_numbers(discussion)
    out = [f"NET case discussion: {disclaimer}", ""]
    out += _case_lines(discussion.case)
    for section in sections(discussion):
        out += ["", section.title.upper(), "-" * len(section.title)]
        for point in section.points:
            contested = " (documents disagree)" if point.contested else ""
            out += _wrap(f"* {urgency_tag(point.urgency)}{point.title}{contested}", "")
            out += _wrap(point.text, "    ")
            out += _wrap(f"Point {point.id}", "    ")
            out += _wrap("Why: " + "; ".join(b.text for b in point.because), "    ")
            out += _tie_lines(point.applies_when, numbers)
            for ref in point.sources:
                side = f" {ref.says.rstrip('.')}:" if ref.says else ""
                out += _wrap(f'{_ref(ref, numbers)} {ref.section}:{side} "{ref.quote}"', "    ")
    if discussion.notes:
        out += ["", "NOTES ON WHAT THE DOCUMENTS COVER", "-" * 33]
        for note in discussion.notes:
            out += _wrap(f"* {note.title}", "")
            out += _wrap(note.text, "    ")
            out += _wrap(f"Note {note.id}", "    ")
            out += _tie_lines(note.applies_when, numbers)
            refs = ", ".join(_ref(r, numbers) for r in note.sources)
            out += _wrap(f"Sources: {refs}", "    ")
    if discussion.if_known:
        out += ["", IF_KNOWN_TITLE.upper(), "-" * len(IF_KNOWN_TITLE)]
        for group in if_known_groups(discussion):
            out += _wrap(f"* {group.label} (unknown now)", "")
            for value, adds, removes in group.values:
                out += _wrap(f"If {value}: {change_text(adds, removes)}", "    ")
    out += ["", "SOURCES", "-------"]
    for ref in cited_sources(discussion):
        out += _wrap(
            f'[{numbers[ref.source_id]}] {ref.publisher}, "{ref.title}" ({review_text(ref)})', ""
        )
    out += [
        "",
        provenance(discussion.rulebook_version, discussion.engine, discussion.as_of) + ".",
        f"This discussion is {discussion.disclaimer}.",
        "",
    ]
    return _safe(out)


def _render_student(discussion: Discussion) -> str:
    sheet = worksheet(discussion)
    out = [f"NET case to work through: {sheet.disclaimer.upper()}", ""]
    out += _case_lines(sheet.case)
    out += ["", "QUESTIONS TO WORK THROUGH", "-------------------------"]
    for q in sheet.questions:
        out += _wrap(q.text, "    ", first=f"{q.number}. ")
    out += ["", "DOCUMENTS TO READ", "-----------------"]
    for doc in sheet.documents:
        review = capfirst(doc.reviewed_as_stated)
        if doc.possibly_out_of_date and doc.next_review:
            review += f"; possibly out of date: its stated next review was {doc.next_review}"
        out += _wrap(f'[{doc.number}] {doc.publisher}, "{doc.title}" ({review})', "")
    out += [
        "",
        provenance(sheet.rulebook_version, sheet.engine, sheet.as_of) + ".",
        f"This worksheet is {sheet.disclaimer}.",
        "",
    ]
    return _safe(out)


def render_text_many(discussions: Sequence[Discussion], *, audience: str = "tutor") -> str:
    # A form feed starts each case on a new page when the text is printed.
    return "\f\n".join(render_text(d, audience=audience) for d in discussions)
