"""What every human-readable format shows the same way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from netaid.case import Case, case_fields, case_values, incompatibilities
from netaid.discussion import (
    Discussion,
    Point,
    SourceRef,
    Tie,
    describe_value,
    field_label,
)
from netaid.rulebook import Kind, Urgency

SECTION_TITLES = {
    Kind.WARNING: "Warning signs to know about",
    Kind.TREATMENT: "Treatments to discuss",
    Kind.TEST: "Tests to ask about",
    Kind.QUESTION: "Questions to ask the care team",
    Kind.SUPPORT: "Support and living with a NET",
    Kind.CONTEXT: "Background from the documents",
}

#: The lead-in every handout opens with, after the educational-only statement.
INTRO = "These points come from patient-education documents; talk them through with the care team."


@dataclass(frozen=True)
class Section:
    kind: Kind
    title: str
    points: tuple[Point, ...]


def sections(discussion: Discussion) -> list[Section]:
    """Points grouped by kind, in the Discussion's own order."""
    found: dict[Kind, list[Point]] = {}
    for point in discussion.points:
        found.setdefault(point.kind, []).append(point)
    return [Section(kind, SECTION_TITLES[kind], tuple(pts)) for kind, pts in found.items()]


def case_summary(case: Case) -> list[tuple[str, str]]:
    """The known facts of a case as (label, value) pairs; unknown, empty and "no" flags left out."""
    rows = []
    for name, value in case_values(case).items():
        if isinstance(value, frozenset):
            text = ", ".join(sorted(describe_value(v) for v in value))
        elif value == "unknown" or (value == "false" and case_fields()[name].kind == "flag"):
            text = ""
        else:
            text = describe_value(value)
        if text:
            rows.append((field_label(name), text))
    return rows


def unknown_fields(case: Case) -> list[str]:
    """The scalar and yes/no fields the case leaves unknown, as people say them.

    A field no known value could fill (cell type of a well-differentiated tumour) is not
    unknown but does not apply, so it is left out.
    """
    values = case_values(case)
    found = []
    for name, value in values.items():
        spec = case_fields()[name]
        if value != "unknown" or spec.kind not in ("scalar", "tristate"):
            continue
        if any(
            not incompatibilities({**values, name: known})
            for known in spec.values
            if known != "unknown"
        ):
            found.append(field_label(name))
    return found


def source_numbers(discussion: Discussion) -> dict[str, int]:
    """Each cited document numbered in order of first citation, points before notes."""
    numbers: dict[str, int] = {}
    for ref in _all_refs(discussion):
        numbers.setdefault(ref.source_id, len(numbers) + 1)
    return numbers


def cited_sources(discussion: Discussion) -> list[SourceRef]:
    """One SourceRef per cited document, in reference-number order."""
    first: dict[str, SourceRef] = {}
    for ref in _all_refs(discussion):
        first.setdefault(ref.source_id, ref)
    return list(first.values())


def cited_sections(discussion: Discussion) -> dict[str, list[str]]:
    """The sections cited from each document, in order of first citation, without repeats."""
    found: dict[str, list[str]] = {}
    for ref in _all_refs(discussion):
        sections = found.setdefault(ref.source_id, [])
        if ref.section not in sections:
            sections.append(ref.section)
    return found


def _all_refs(discussion: Discussion) -> Iterator[SourceRef]:
    for point in discussion.points:
        yield from point.sources
        if point.applies_when is not None:
            yield from point.applies_when.sources
    for note in discussion.notes:
        yield from note.sources
        if note.applies_when is not None:
            yield from note.applies_when.sources


#: The short flag every citation of a source past its stated next review carries, next to its
#: reference number. The sources list gives the full dates.
STALE_FLAG = "possibly out of date"


def citation_flag(ref: SourceRef) -> str:
    """What a citation shows after its reference number: `STALE_FLAG` when the source's stated
    next review had passed on the discussion's date, else nothing."""
    return STALE_FLAG if ref.possibly_out_of_date else ""


def review_text(ref: SourceRef) -> str:
    text = ref.reviewed_as_stated
    if ref.possibly_out_of_date and ref.next_review:
        text += f"; possibly out of date: its stated next review was {ref.next_review.isoformat()}"
    return text


def tie_lead(tie: Tie) -> str:
    """How a handout introduces a point's condition: the documents' tie, or the profile's gap."""
    if tie.basis == "profile":
        return f"Shown because {tie.ties}."
    return f"The documents tie this to {tie.ties}" + (":" if tie.sources else ".")


def urgency_tag(urgency: Urgency) -> str:
    return "" if urgency is Urgency.INFO else f"[{urgency.value.upper()}] "


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 test", "2 tests"."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"


@dataclass(frozen=True)
class IfKnownGroup:
    """What knowing one unknown field would change, value by value, for display."""

    label: str
    #: (the value as people say it, titles added, titles removed)
    values: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]


#: The heading of the "what would change" section, in every format.
IF_KNOWN_TITLE = "What knowing the unknown facts would change"


def if_known_groups(discussion: Discussion) -> list[IfKnownGroup]:
    """`Discussion.if_known`, grouped by field in the order given."""
    groups: dict[str, list[tuple[str, tuple[str, ...], tuple[str, ...]]]] = {}
    for entry in discussion.if_known:
        groups.setdefault(entry.field, []).append(
            (
                describe_value(entry.value),
                tuple(p.title for p in entry.adds),
                tuple(p.title for p in entry.removes),
            )
        )
    return [IfKnownGroup(capfirst(field_label(f)), tuple(v)) for f, v in groups.items()]


def provenance(rulebook_version: str, engine: str, as_of: dt.date) -> str:
    """The footer line saying what produced a handout: "Rulebook 0.2.0+3f9a..., durable
    engine, as of 2025-01-01" (no engine named for a discussion built without one)."""
    by = f", {engine} engine" if engine else ""
    return f"Rulebook {rulebook_version}{by}, as of {as_of.isoformat()}"


def capfirst(text: str) -> str:
    """Upper-case the first letter only ("reviewed 30 June" -> "Reviewed 30 June")."""
    return text[:1].upper() + text[1:]
