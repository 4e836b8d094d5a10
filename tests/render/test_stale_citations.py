"""A source past its stated next review is flagged at every citation, not only in the sources
list; citations of other sources carry no flag."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from netaid import Case, Discussion, Engine, Note, Point, SourceRef, discuss
from netaid.render import render
from netaid.render._common import sections, source_numbers
from tests.render.helpers import find_all, parse_html, text_of

# Macmillan states its next review as 2020-12-31 (rules/sources.yaml); no other source states one.
PAST = dt.date(2025, 6, 1)
NOT_YET = dt.date(2020, 12, 31)

#: Points cite Macmillan and other documents; the notes of the unknown-primary case cite
#: Macmillan too (note.gap.unknown_primary).
CASES = [
    Case(
        site="lung",
        grade="G2",
        differentiation="poorly",
        stage="metastatic",
        metastases=frozenset({"liver"}),
        syndromes=frozenset({"carcinoid_syndrome"}),
        symptomatic=False,
    ),
    Case(site="unknown", stage="metastatic", metastases=frozenset({"liver"})),
]

Cited = list[tuple[int, bool]]


def _refs(item: Point | Note) -> list[SourceRef]:
    # Handouts show the documents' condition (the tie) before the content quotes.
    tie = list(item.applies_when.sources) if item.applies_when is not None else []
    return tie + list(item.sources)


def expected(d: Discussion) -> tuple[Cited, Cited]:
    """(reference number, flagged) for every citation of the points, in handout order, and
    for every citation of the notes: the quotes of their conditions, then their content."""
    numbers = source_numbers(d)
    points = [
        (numbers[r.source_id], r.possibly_out_of_date)
        for section in sections(d)
        for p in section.points
        for r in _refs(p)
    ]
    notes = [(numbers[r.source_id], r.possibly_out_of_date) for n in d.notes for r in _refs(n)]
    return points, notes


def expected_text(d: Discussion) -> tuple[Cited, Cited]:
    """As `expected`, laid out as the text handout is: every quoted line first (the points'
    and the notes' conditions among them), then the notes' one-line source lists."""
    numbers = source_numbers(d)
    points, _ = expected(d)
    note_ties = [
        (numbers[r.source_id], r.possibly_out_of_date)
        for n in d.notes
        if n.applies_when is not None
        for r in n.applies_when.sources
    ]
    notes = [(numbers[r.source_id], r.possibly_out_of_date) for n in d.notes for r in n.sources]
    return points + note_ties, notes


@pytest.fixture(params=range(len(CASES)), ids=["lung-spread", "unknown-primary"])
def stale(request: pytest.FixtureRequest, engine: Engine) -> Discussion:
    d = discuss(CASES[request.param], engine=engine, today=PAST)
    points, notes = expected(d)
    # The case must cite both kinds of source, or the test proves nothing.
    assert {flagged for _, flagged in points} == {True, False}
    if request.param == 1:
        assert any(flagged for _, flagged in notes)
    return d


def text_citations(out: str) -> tuple[Cited, Cited]:
    points = [
        (int(m[1]), m[2] is not None)
        for m in re.finditer(r"^ {4}(?:  )?\[(\d+)\]( \(possibly out of date\))? ", out, re.M)
    ]
    notes = [
        (int(m[1]), m[2] is not None)
        for line in re.findall(r"^    Sources: (.*)$", out, re.M)
        for m in re.finditer(r"\[(\d+)\]( \(possibly out of date\))?(?:, |$)", line)
    ]
    return points, notes


def markdown_citations(out: str) -> Cited:
    return [
        (int(m[1]), m[2] is not None)
        for m in re.finditer(r"^- \[(\d+)\]( \*\*\(possibly out of date\)\*\*)? ", out, re.M)
    ]


def html_citations(out: str, d: Discussion) -> tuple[Cited, Cited]:
    tree = parse_html(out)

    def cited(article_id: str) -> Cited:
        found = []
        for li in find_all(tree.ids[article_id], "li"):
            number = text_of(find_all(li, "a", "ref-number")[0])
            flags = [text_of(s) for s in find_all(li, "strong", "stale")]
            assert flags in ([], ["(possibly out of date)"])
            found.append((int(number.strip("[]")), bool(flags)))
        return found

    points = [
        c for section in sections(d) for p in section.points for c in cited(f"h1-point-{p.id}")
    ]
    notes = [c for n in d.notes for c in cited(f"h1-note-{n.id}")]
    return points, notes


def test_every_citation_of_a_stale_source_is_flagged_in_text(stale: Discussion) -> None:
    out = render(stale, "text")
    assert text_citations(out) == expected_text(stale)
    # Compact: the dates stay in the sources list only.
    assert " ".join(out.split()).count("its stated next review was 2020-12-31") == 1


def test_every_citation_of_a_stale_source_is_flagged_in_markdown(stale: Discussion) -> None:
    out = render(stale, "markdown")
    points, notes = expected(stale)
    assert markdown_citations(out) == points + notes
    assert out.count("its stated next review was 2020-12-31") == 1


def test_every_citation_of_a_stale_source_is_flagged_in_html(stale: Discussion) -> None:
    out = render(stale, "html")
    assert html_citations(out, stale) == expected(stale)
    assert out.count("its stated next review was 2020-12-31") == 1


@pytest.mark.parametrize("case", CASES, ids=["lung-spread", "unknown-primary"])
def test_no_citation_is_flagged_before_the_stated_next_review(engine: Engine, case: Case) -> None:
    d = discuss(case, engine=engine, today=NOT_YET)
    points, notes = expected(d)
    assert not any(flagged for _, flagged in points + notes)
    assert points  # there are citations to look at
    assert text_citations(render(d, "text")) == expected_text(d)
    assert markdown_citations(render(d, "markdown")) == points + notes
    assert html_citations(render(d, "html"), d) == (points, notes)
    for fmt in ("text", "markdown", "html"):
        assert "ossibly out of date" not in render(d, fmt)
