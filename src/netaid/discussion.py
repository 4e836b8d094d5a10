"""The Discussion: what the documents associate with a case, every point sourced and explained."""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from operator import itemgetter
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

from netaid._conditions import Reason
from netaid.case import Case
from netaid.engines import Evaluation
from netaid.rulebook import Category, Citation, Kind, Rule, Rulebook, Therapy, Urgency

__all__ = [
    "DISCLAIMER",
    "Because",
    "Discussion",
    "Note",
    "Point",
    "SourceRef",
    "build_discussion",
    "describe",
    "describe_value",
    "field_label",
]

DISCLAIMER = "educational only — not medical advice"

_FIELD_LABELS = {
    "site": "primary site",
    "cell_type": "cell type",
    "functional_status": "functional status",
    "completely_removed": "tumour completely removed",
    "carcinoid_heart_disease": "carcinoid heart disease",
    "diarrhoea_despite_ssa": "diarrhoea despite a somatostatin analogue",
    "inherited": "inherited syndromes",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceRef(_Frozen):
    """One citation: where in which document the point comes from."""

    source_id: str
    publisher: str
    title: str
    section: str
    quote: str
    says: str | None = None
    reviewed: dt.date | None
    reviewed_as_stated: str
    next_review: dt.date | None
    possibly_out_of_date: bool


class Because(_Frozen):
    """One fact of the case that made the point apply."""

    field: str | None
    relation: str
    values: tuple[str, ...]
    text: str


class Point(_Frozen):
    id: str
    kind: Kind
    category: Category | None
    therapies: tuple[Therapy, ...]
    title: str
    text: str
    urgency: Urgency
    because: tuple[Because, ...]
    contested: bool
    sources: tuple[SourceRef, ...]
    educational_only: Literal[True] = True
    label: str = DISCLAIMER


class Note(_Frozen):
    """A flag on the input, or a gap: something the documents read differently or do not cover."""

    id: str
    title: str
    text: str
    because: tuple[Because, ...]
    sources: tuple[SourceRef, ...]


class Discussion(_Frozen):
    case: Case
    points: tuple[Point, ...]
    notes: tuple[Note, ...]
    disclaimer: str = DISCLAIMER
    rulebook_version: str
    as_of: dt.date
    #: The engine backend that evaluated the case ("durable" or "python").
    engine: str = ""

    def of_kind(self, kind: Kind | str) -> tuple[Point, ...]:
        return tuple(p for p in self.points if p.kind == kind)

    @property
    def categories(self) -> frozenset[Category]:
        return frozenset(p.category for p in self.points if p.category is not None)

    @property
    def therapies(self) -> frozenset[Therapy]:
        return frozenset(t for p in self.points for t in p.therapies)


_OrderKey: TypeAlias = tuple[int, int, int, str]
_KIND_ORDER = [Kind.WARNING, Kind.TREATMENT, Kind.TEST, Kind.QUESTION, Kind.SUPPORT, Kind.CONTEXT]
_URGENCY_ORDER = [Urgency.URGENT, Urgency.WARNING, Urgency.INFO]


def _order(point: Point) -> _OrderKey:
    # Urgent warnings lead; after them the fixed kind order, more urgent first, then by id.
    urgent_warning = point.kind is Kind.WARNING and point.urgency is Urgency.URGENT
    return (
        0 if urgent_warning else 1,
        _KIND_ORDER.index(point.kind),
        _URGENCY_ORDER.index(point.urgency),
        point.id,
    )


def field_label(name: str) -> str:
    """A case field as people say it: "primary site", "cell type"."""
    return _FIELD_LABELS.get(name, name.replace("_", " "))


def describe_value(value: str) -> str:
    """A field value as people say it: "yes", "small bowel"."""
    return {"true": "yes", "false": "no"}.get(value, value.replace("_", " "))


def describe(reason: Reason) -> str:
    """A reason in plain words: "primary site: pancreas", "syndromes include insulinoma"."""
    if reason.field is None:
        return "applies to every case"
    label = field_label(reason.field)
    values = [describe_value(v) for v in reason.values]
    match reason.relation:
        case "is":
            return f"{label}: {values[0]}"
        case "is_one_of":
            return f"{label}: {' or '.join(values)}"
        case "is_not":
            return f"{label}: not {values[0]}"
        case "is_none_of":
            return f"{label}: neither {' nor '.join(values)}"
        case "includes":
            return f"{label} include {values[0]}"
        case "excludes":
            return f"{label} do not include {values[0]}"
        case "is_known":
            return f"{label} is known"
        case _:
            return f"{label} is unknown"


def _because(reasons: tuple[Reason, ...]) -> tuple[Because, ...]:
    return tuple(
        Because(field=r.field, relation=r.relation, values=r.values, text=describe(r))
        for r in reasons
    )


def _source_ref(citation: Citation, today: dt.date) -> SourceRef:
    source = citation.source
    return SourceRef(
        source_id=source.id,
        publisher=source.publisher,
        title=source.title,
        section=citation.section,
        quote=citation.quote,
        says=citation.says,
        reviewed=source.reviewed,
        reviewed_as_stated=source.reviewed_as_stated,
        next_review=source.next_review,
        possibly_out_of_date=source.past_review(today),
    )


def _point(rule: Rule, reasons: tuple[Reason, ...], today: dt.date) -> Point:
    return Point(
        id=rule.id,
        kind=rule.kind,
        category=rule.category,
        therapies=rule.therapies,
        title=rule.title,
        text=rule.text,
        urgency=rule.urgency,
        because=_because(reasons),
        contested=rule.contested,
        sources=tuple(_source_ref(c, today) for c in rule.citations),
    )


def _note(rule: Rule, reasons: tuple[Reason, ...], today: dt.date) -> Note:
    return Note(
        id=rule.id,
        title=rule.title,
        text=rule.text,
        because=_because(reasons),
        sources=tuple(_source_ref(c, today) for c in rule.citations),
    )


_Key: TypeAlias = tuple[str, tuple[Reason, ...], dt.date]
# What is remembered of a point or note: its place in the order, and itself.
_Built: TypeAlias = tuple[_OrderKey, Point | Note]

#: Points and notes remembered per rulebook. A point depends only on its rule, the reasons it
#: fired for and the day (which sources are past review), and cases share most points: 1,000
#: varied cases hold about 200 distinct ones. Points are frozen, so sharing them is safe.
MEMO_SIZE = 4_096


_memo_lock = threading.Lock()
_memos: dict[int, tuple[weakref.ref[Rulebook], dict[_Key, _Built]]] = {}


def _memo_of(rulebook: Rulebook) -> dict[_Key, _Built]:
    """The points and notes built for this rulebook, forgotten with it."""
    # Keyed by identity (hashing a rulebook hashes every rule); the weak reference both frees
    # the memo with the rulebook and tells a reused id from the rulebook it belonged to.
    key = id(rulebook)
    with _memo_lock:
        found = _memos.get(key)
        if found is not None and found[0]() is rulebook:
            return found[1]
        memo: dict[_Key, _Built] = {}

        def forget(ref: weakref.ref[Rulebook]) -> None:
            # No lock: this runs wherever the rulebook happens to be freed.
            if _memos.get(key, (None,))[0] is ref:
                _memos.pop(key, None)

        _memos[key] = (weakref.ref(rulebook, forget), memo)
        return memo


def build_discussion(
    case: Case, rulebook: Rulebook, evaluation: Evaluation, *, today: dt.date
) -> Discussion:
    memo = _memo_of(rulebook)
    points: list[tuple[_OrderKey, Point]] = []
    notes: list[tuple[_OrderKey, Note]] = []
    for rule_id, reasons in evaluation.fired.items():
        key = (rule_id, reasons, today)
        built = memo.get(key)
        if built is None:
            rule = rulebook.rule(rule_id)
            if rule.kind is Kind.NOTE:
                built = ((0, 0, 0, rule.id), _note(rule, reasons, today))  # notes: by id
            else:
                point = _point(rule, reasons, today)
                built = (_order(point), point)
            if len(memo) >= MEMO_SIZE:
                memo.clear()  # rare, and simpler than tracking recency for ~200 hot points
            memo[key] = built
        order, item = built
        if isinstance(item, Note):
            notes.append((order, item))
        else:
            points.append((order, item))
    points.sort(key=itemgetter(0))
    notes.sort(key=itemgetter(0))
    return Discussion(
        case=case,
        points=tuple(p for _, p in points),
        notes=tuple(n for _, n in notes),
        rulebook_version=f"{rulebook.version}+{rulebook.fingerprint}",
        as_of=today,
        engine=evaluation.engine,
    )
