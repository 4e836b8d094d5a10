"""The Discussion: what the documents associate with a case, every point sourced and explained."""

from __future__ import annotations

import datetime as dt
import difflib
import threading
import weakref
from operator import itemgetter
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, PrivateAttr

from netaid._conditions import Reason, describe, unmet
from netaid._conditions import reasons as condition_reasons
from netaid._whatif import Flip, flips
from netaid.case import Case, case_values, describe_value, field_label
from netaid.engines import Evaluation
from netaid.errors import NetaidError, UnknownPointError
from netaid.rulebook import Category, Citation, Kind, Rule, Rulebook, Therapy, Urgency

__all__ = [
    "DISCLAIMER",
    "Because",
    "Discussion",
    "IfKnown",
    "Note",
    "Point",
    "PointRef",
    "SourceRef",
    "Tie",
    "Unmet",
    "WhyNot",
    "build_discussion",
    "describe",
    "describe_value",
    "field_label",
]

DISCLAIMER = "educational only — not medical advice"


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


class Tie(_Frozen):
    """What the documents tie a point to, in their words: its condition, as they state it.

    `basis` is "documents" when the condition is theirs (the `sources` quote them), "profile"
    when the point is shown because the profile leaves a fact unknown.
    """

    ties: str
    basis: Literal["documents", "profile"]
    sources: tuple[SourceRef, ...]


class Point(_Frozen):
    """One discussion point: what the documents say, why it applies to the case (`because`)
    and where it comes from (`sources`). Always labelled educational only."""

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
    applies_when: Tie | None = None
    educational_only: Literal[True] = True
    label: str = DISCLAIMER


class Note(_Frozen):
    """A flag on the input, or a gap: something the documents read differently or do not cover."""

    id: str
    title: str
    text: str
    because: tuple[Because, ...]
    sources: tuple[SourceRef, ...]
    applies_when: Tie | None = None


class PointRef(_Frozen):
    """A point or note by id and title (of a rule that may not be in this discussion)."""

    id: str
    title: str
    kind: Kind


class IfKnown(_Frozen):
    """What one unknown fact of the case, were it known, would change in the discussion."""

    field: str
    value: str
    adds: tuple[PointRef, ...]
    removes: tuple[PointRef, ...]
    #: "If grade were G3: adds ...; removes ...".
    text: str


class Unmet(_Frozen):
    """A part of a rule's condition the case does not meet."""

    needs: str
    has: str
    text: str


class WhyNot(_Frozen):
    """Why a point is, or is not, in a discussion."""

    point_id: str
    title: str
    applies: bool
    #: Where it applies: the facts of the case that make it apply.
    because: tuple[Because, ...]
    #: Where it does not: each part of its condition the case does not meet.
    unmet: tuple[Unmet, ...]

    @property
    def text(self) -> str:
        head = f"{self.point_id} ({self.title})"
        if self.applies:
            return f"{head} applies: " + "; ".join(b.text for b in self.because) + "."
        lines = [f"{head} does not apply. It would need:"]
        lines += [f"  - {u.text}" for u in self.unmet]
        return "\n".join(lines)


class Discussion(_Frozen):
    """What the documents associate with one case: the points (sorted: urgent warnings
    first, then by kind, urgency and id), the notes (flags and gaps), what knowing each
    unknown fact would change (`if_known`), and where it came from (rulebook version, engine,
    the day it was made for). Frozen; `why_not` explains a point that is absent."""

    case: Case
    points: tuple[Point, ...]
    notes: tuple[Note, ...]
    disclaimer: str = DISCLAIMER
    rulebook_version: str
    as_of: dt.date
    #: The engine backend that evaluated the case ("durable" or "python").
    engine: str = ""
    #: For each unknown field of the case and each value it could take: what would change.
    if_known: tuple[IfKnown, ...] = ()
    # The rulebook the discussion was built from, for `why_not` (not part of the data).
    _rulebook: Rulebook | None = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        # The data, field by field, as for any model; not the rulebook kept for `why_not`,
        # which a discussion read back from JSON does not have.
        if isinstance(other, Discussion):
            return type(self) is type(other) and self.__dict__ == other.__dict__
        return NotImplemented

    def of_kind(self, kind: Kind | str) -> tuple[Point, ...]:
        return tuple(p for p in self.points if p.kind == kind)

    def why_not(self, point_id: str, rulebook: Rulebook | None = None) -> WhyNot:
        """Why the point (or note) `point_id` is not in this discussion: each part of its
        rule's condition the case does not meet, in plain words against the case's values;
        or, for one that is, the facts that make it apply.

        `rulebook` is needed only for a discussion not built by netaid in this process (read
        back from JSON, say); it must be the one the discussion names. Raises
        `UnknownPointError` for an id no rule has.
        """
        book = rulebook or self._rulebook
        if book is None:
            raise NetaidError(
                "this discussion does not carry its rulebook (it was not built by discuss() "
                "here): pass rulebook="
            )
        version = f"{book.version}+{book.fingerprint}"
        if version != self.rulebook_version:
            raise NetaidError(
                f"the rulebook given is {version}; this discussion was built with "
                f"{self.rulebook_version}"
            )
        return why_not(book, self.case, point_id)

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


def _tie(rule: Rule, today: dt.date) -> Tie | None:
    if rule.applies_when is None:
        return None
    return Tie(
        ties=rule.applies_when.ties,
        basis=rule.applies_when.basis,
        sources=tuple(_source_ref(c, today) for c in rule.applies_when.citations),
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
        applies_when=_tie(rule, today),
    )


def _note(rule: Rule, reasons: tuple[Reason, ...], today: dt.date) -> Note:
    return Note(
        id=rule.id,
        title=rule.title,
        text=rule.text,
        because=_because(reasons),
        sources=tuple(_source_ref(c, today) for c in rule.citations),
        applies_when=_tie(rule, today),
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
    discussion = Discussion(
        case=case,
        points=tuple(p for _, p in points),
        notes=tuple(n for _, n in notes),
        rulebook_version=f"{rulebook.version}+{rulebook.fingerprint}",
        as_of=today,
        engine=evaluation.engine,
        if_known=if_known(rulebook, case, frozenset(evaluation.fired)),
    )
    discussion._rulebook = rulebook
    return discussion


def _point_ref(rule: Rule) -> PointRef:
    return PointRef(id=rule.id, title=rule.title, kind=rule.kind)


#: IfKnown entries remembered (by rulebook and change): like points, the same few recur.
_IF_KNOWN_SIZE = 4_096
_if_known_memo: dict[tuple[str, str, Flip], IfKnown] = {}


def if_known(rulebook: Rulebook, case: Case, fired: frozenset[str]) -> tuple[IfKnown, ...]:
    """What each unknown fact of the case would change, were it known (see `netaid._whatif`)."""
    found = []
    for flip in flips(rulebook, case_values(case), fired):
        # An entry depends on the flip and the rules' titles and kinds, which the rulebook's
        # version and fingerprint (a digest of its files) pin down.
        key = (rulebook.version, rulebook.fingerprint, flip)
        known = _if_known_memo.get(key)
        if known is None:
            if len(_if_known_memo) >= _IF_KNOWN_SIZE:
                _if_known_memo.clear()
            known = _if_known_memo[key] = _if_known(rulebook, flip)
        found.append(known)
    return tuple(found)


def _if_known(rulebook: Rulebook, flip: Flip) -> IfKnown:
    name, value, adds, removes = flip
    added = tuple(_point_ref(rulebook.rule(i)) for i in adds)
    removed = tuple(_point_ref(rulebook.rule(i)) for i in removes)
    changes = change_text(tuple(p.title for p in added), tuple(p.title for p in removed))
    text = f"If {field_label(name)} were {describe_value(value)}: {changes}"
    return IfKnown(field=name, value=value, adds=added, removes=removed, text=text)


def _similar(wanted: str, ids: list[str]) -> list[str]:
    """Ids like `wanted`: those sharing its longest beginning beyond the kind (a typo near the
    end: "treatment.watchfull"), else look-alikes."""

    def common(other: str) -> int:
        pairs = zip(wanted, other, strict=False)  # up to the shorter of the two
        return next((n for n, (a, b) in enumerate(pairs) if a != b), min(len(wanted), len(other)))

    shared = {i: common(i) for i in ids}
    best = max(shared.values(), default=0)
    if best > len(wanted.split(".")[0]) + 1:
        return [i for i in ids if shared[i] == best][:3]
    return difflib.get_close_matches(wanted, ids, n=3, cutoff=0.5)


def change_text(adds: tuple[str, ...], removes: tuple[str, ...]) -> str:
    """'adds “A”, “B”; removes “C”': titles quoted, since they may hold commas themselves."""
    parts = []
    if adds:
        parts.append("adds " + ", ".join(f"“{t}”" for t in adds))
    if removes:
        parts.append("removes " + ", ".join(f"“{t}”" for t in removes))
    return "; ".join(parts)


def why_not(rulebook: Rulebook, case: Case, point_id: str) -> WhyNot:
    """Why the rule `point_id` does or does not apply to the case (see `Discussion.why_not`)."""
    try:
        rule = rulebook.rule(point_id)
    except KeyError:
        ids = [r.id for r in rulebook.rules]
        close = _similar(point_id, ids)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownPointError(f"no point or note has the id {point_id!r}{hint}") from None
    values = case_values(case)
    because = condition_reasons(rule.condition, values)
    missing = unmet(rule.condition, values)
    return WhyNot(
        point_id=rule.id,
        title=rule.title,
        applies=bool(because),
        because=_because(because),
        unmet=tuple(
            Unmet(needs=u.needs, has=u.has, text=f"{u.needs} (the case: {u.has})") for u in missing
        ),
    )
