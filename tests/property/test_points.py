"""Every point is sourced and labelled educational, and every reason it gives is true.

Checked on every class of the space (a plain loop) and on random cases.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given

from netaid import DISCLAIMER, Case, Discussion, Note, Point, discuss
from netaid.strategies import cases
from tests.property._support import PROPERTY, TODAY, _word, case_data, fields_read, fired
from tests.property.conftest import Subject

MAX_QUOTE_WORDS = 25


def because_is_true(field: str | None, relation: str, values: tuple[str, ...], data: Any) -> bool:
    """A reason read against the case's own data, relation by relation."""
    if field is None:
        return relation == "always"
    actual = data[field]
    if relation in ("includes", "excludes"):
        return (values[0] in actual) == (relation == "includes")
    word = _word(actual)
    return {
        "is": word in values,
        "is_one_of": word in values,
        "is_not": word not in values,
        "is_none_of": word not in values,
        "is_known": word != "unknown",
        "is_unknown": word == "unknown",
    }[relation]


#: What does not depend on the case is checked once per rule: a rule's sources are the same in
#: every discussion it appears in, and the fields its condition reads are fixed. (The whole-space
#: loop below meets each rule in tens of thousands of classes.)
_SOURCES_CHECKED: set[tuple[str, str]] = set()
_FIELDS_READ: dict[tuple[str, str], set[str]] = {}


def check_sources(subject: Subject, item: Point | Note) -> None:
    key = (subject.name, item.id)
    if key in _SOURCES_CHECKED:
        return
    assert item.sources, f"{item.id} has no source"
    tie = item.applies_when.sources if item.applies_when is not None else ()
    for source in (*item.sources, *tie):
        assert source.source_id in subject.rulebook.sources
        assert source.publisher.strip()
        assert source.section.strip()
        assert 0 < len(source.quote.split()) <= MAX_QUOTE_WORDS
    _SOURCES_CHECKED.add(key)


def read_by(subject: Subject, rule_id: str) -> set[str]:
    key = (subject.name, rule_id)
    if key not in _FIELDS_READ:
        _FIELDS_READ[key] = fields_read(subject.raw[rule_id].get("when"))
    return _FIELDS_READ[key]


def check_discussion(
    subject: Subject,
    case: Case,
    discussion: Discussion,
    expected: frozenset[str] | None = None,
) -> None:
    """`expected`: the rules that fire, when already known (the whole-space loop takes them
    from the class space, which test_oracle.py holds to the independent evaluator on every
    class); otherwise the independent evaluator decides."""
    data = case_data(case)
    assert discussion.disclaimer == DISCLAIMER
    # Every rule that fires is shown, as a point or (kind note) as a note; nothing else is.
    shown = {p.id for p in discussion.points} | {n.id for n in discussion.notes}
    assert shown == (expected if expected is not None else fired(subject.raw, case))
    for item in (*discussion.points, *discussion.notes):
        check_sources(subject, item)
        assert item.because, f"{item.id} gives no reason"
        read = read_by(subject, item.id)
        for reason in item.because:
            assert reason.text.strip()
            assert because_is_true(reason.field, reason.relation, reason.values, data), (
                f"{item.id}: '{reason.text}' is not true of {data}"
            )
            # A reason names a field the rule actually reads.
            assert reason.field is None or reason.field in read, (item.id, reason)
    for point in discussion.points:
        assert point.educational_only is True
        assert point.label == DISCLAIMER


def test_every_class(subject: Subject) -> None:
    for assignment, expected in subject.space.covering():
        case = subject.space.case(assignment)
        discussion = discuss(case, engine=subject.engine, today=TODAY)
        check_discussion(subject, case, discussion, expected)


@given(case=cases())
@PROPERTY
def test_random_cases(subject: Subject, case: Case) -> None:
    check_discussion(subject, case, discuss(case, engine=subject.engine, today=TODAY))


def test_a_false_reason_is_caught() -> None:
    # The checker above must be able to fail.
    data = {"stage": "regional", "metastases": ["liver"], "symptomatic": None}
    assert not because_is_true("stage", "is", ("metastatic",), data)
    assert not because_is_true("metastases", "excludes", ("liver",), data)
    assert not because_is_true("symptomatic", "is_known", (), data)
    assert because_is_true("symptomatic", "is_none_of", ("true", "false"), data)
