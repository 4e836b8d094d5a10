"""The student handout: the case and questions to work through, never the answers.

Every student format renders a `Worksheet`, never a `Discussion`, so what a student may see is
decided here once: no point titles or texts other than the care-team questions, no reasons,
no citations or sections. The counts in the questions say how much there is to find.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from netaid.case import Case
from netaid.discussion import Discussion
from netaid.render._common import cited_sources, plural, unknown_fields
from netaid.rulebook import Kind


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Question(_Frozen):
    number: int
    topic: str
    text: str


class Document(_Frozen):
    """A document to read, without the sections (those would point at the answers)."""

    number: int
    publisher: str
    title: str
    reviewed_as_stated: str
    next_review: dt.date | None
    possibly_out_of_date: bool


class Worksheet(_Frozen):
    audience: Literal["student"] = "student"
    disclaimer: str
    case: Case
    unknown: tuple[str, ...]
    questions: tuple[Question, ...]
    documents: tuple[Document, ...]
    rulebook_version: str
    as_of: dt.date
    engine: str = ""


def _as_question(title: str) -> str:
    """A care-team question point's title as something to work through; some titles name a
    topic ("Second opinions") rather than ask."""
    title = " ".join(title.split())
    if title.endswith("?"):
        return title
    return f"{title.rstrip('.:')}: what might the patient ask the care team, and why?"


def _one_or_many(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def _prompts(discussion: Discussion) -> list[tuple[str, str]]:
    prompts: list[tuple[str, str]] = []

    def count(kind: Kind) -> int:
        return len(discussion.of_kind(kind))

    if n := count(Kind.WARNING):
        prompts.append(
            (
                "warning",
                f"The documents name {plural(n, 'warning sign')} to know about for this profile. "
                + _one_or_many(
                    n,
                    "What is it, and how urgently would it need attention?",
                    "Which are they, and how urgently would each need attention?",
                ),
            )
        )
    if n := count(Kind.TREATMENT):
        prompts.append(
            (
                "treatment",
                f"The documents associate {plural(n, 'treatment')} with this profile. "
                + _one_or_many(
                    n,
                    "What could it be, and which facts of the case point to it?",
                    "Which could they be, and which facts of the case point to each?",
                ),
            )
        )
    if n := count(Kind.TEST):
        prompts.append(
            (
                "test",
                f"The documents mention {plural(n, 'test')} worth asking about. "
                + _one_or_many(
                    n,
                    "Which, and why might it be asked for here?",
                    "Which, and why might each be asked for here?",
                ),
            )
        )
    # A care-team question is itself something to work through, not an answer.
    prompts += [("question", _as_question(p.title)) for p in discussion.of_kind(Kind.QUESTION)]
    if n := count(Kind.SUPPORT):
        prompts.append(
            (
                "support",
                f"The documents raise {plural(n, 'support topic')} for living with a NET. "
                + _one_or_many(
                    n,
                    "What is it, and how does it fit this patient?",
                    "Which are they, and how does each fit this patient?",
                ),
            )
        )
    if n := count(Kind.CONTEXT):
        prompts.append(
            (
                "context",
                f"What background do the documents give ({plural(n, 'point')})"
                " that helps explain this case?",
            )
        )
    if n := sum(p.contested for p in discussion.points):
        prompts.append(
            (
                "contested",
                f"The documents disagree on {plural(n, 'point')} for this case."
                " Find where, and set out each side with its source.",
            )
        )
    if n := len(discussion.notes):
        prompts.append(
            (
                "gaps",
                f"The documents do not settle {plural(n, 'aspect')} of this profile."
                " What is missing or read differently, and how would you raise it?",
            )
        )
    if unknown := unknown_fields(discussion.case):
        prompts.append(
            (
                "unknowns",
                f"The case does not say: {', '.join(unknown)}."
                " How could knowing each change the discussion?",
            )
        )
    return prompts


def worksheet(discussion: Discussion) -> Worksheet:
    return Worksheet(
        disclaimer=discussion.disclaimer,
        case=discussion.case,
        unknown=tuple(unknown_fields(discussion.case)),
        questions=tuple(
            Question(number=i, topic=topic, text=text)
            for i, (topic, text) in enumerate(_prompts(discussion), start=1)
        ),
        documents=tuple(
            Document(
                number=i,
                publisher=ref.publisher,
                title=ref.title,
                reviewed_as_stated=ref.reviewed_as_stated,
                next_review=ref.next_review,
                possibly_out_of_date=ref.possibly_out_of_date,
            )
            for i, ref in enumerate(cited_sources(discussion), start=1)
        ),
        rulebook_version=discussion.rulebook_version,
        as_of=discussion.as_of,
        engine=discussion.engine,
    )
