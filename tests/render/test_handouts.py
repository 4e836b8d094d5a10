"""Handouts in every format and audience: structure, sources, the statement, no answers for
students. Rendered over cases that fire every rule of the mini rulebook, over many random
cases, and over every bundled example with the shipped rulebook."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from netaid import Case, Discussion, Engine, Kind, SourceRef, Urgency, discuss, load_case
from netaid.render import AUDIENCES, FORMATS, Worksheet, render, worksheet
from netaid.render._common import SECTION_TITLES, case_summary, cited_sections, source_numbers
from tests.conftest import REPO, random_cases
from tests.render.helpers import (
    TreeBuilder,
    find_all,
    only,
    parse_html,
    text_of,
    unescape_markdown,
    unescaped_angle_brackets,
)

STATEMENT = "Educational only — not medical advice."
TODAY = dt.date(2025, 6, 1)  # after Macmillan's stated next review (2020-12-31)

#: Between them these fire every rule of the mini rulebook (checked below).
MINI_CASES = [
    {"site": "colon", "stage": "localized", "title": "Localized colon NET"},
    {
        "site": "lung",
        "grade": "G2",
        "differentiation": "poorly",
        "stage": "metastatic",
        "metastases": ["liver"],
        "syndromes": ["carcinoid_syndrome"],
        "symptomatic": False,
        "title": "Lung NET, carcinoid syndrome & liver spread",
        "notes": "Seen in clinic.\nAsks about diet.",
    },
    {"site": "unknown"},
]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def visible(output: str, fmt: str) -> str:
    """The output as a reader sees it: escapes undone."""
    if fmt == "markdown":
        return unescape_markdown(output)
    if fmt == "html":
        return html.unescape(output)
    return output


def flat(text: str) -> str:
    return " ".join(text.split())


def mini_discussions(engine: Engine) -> list[Discussion]:
    cases = [Case.model_validate(c) for c in MINI_CASES] + random_cases(40, seed=11)
    return [discuss(case, engine=engine, today=TODAY) for case in cases]


# --- what every tutor handout must hold ---


def check_tutor_markdown(d: Discussion, out: str) -> None:
    lines = out.splitlines()
    assert lines[0].startswith(f"> **{STATEMENT}**")
    assert lines[-1] == f"> **{STATEMENT}**"
    assert unescaped_angle_brackets(out) == []
    shown = unescape_markdown(out)
    numbers = source_numbers(d)
    assert out.count("*Why this applies:*") == len(d.points)
    for kind in {p.kind for p in d.points}:
        assert f"## {SECTION_TITLES[kind]}\n" in out
    for p in d.points:
        assert out.count(f"Point `{p.id}`") == 1
        block = shown[: shown.index(f"Point `{p.id}`")]
        block = block[block.rindex("\n### ") :]
        tag = "" if p.urgency is Urgency.INFO else f"[{p.urgency.value.upper()}] "
        assert block.startswith(f"\n### {tag}{flat(p.title)}")
        assert flat(p.text) in block
        assert ("(documents disagree)" in block) == p.contested
        for ref in p.sources:
            assert f"[{numbers[ref.source_id]}]" in block
            assert f"“{flat(ref.quote)}”" in block
            if p.contested:
                assert ref.says is not None
                assert f"{ref.publisher}:** {flat(ref.says)}" in block
    for n in d.notes:
        assert out.count(f"Note `{n.id}`") == 1
        assert flat(n.text) in shown
    check_source_list(d, shown, lambda n, ref: f"\n{n}. {ref.publisher}, *{ref.title}*.")


def check_source_list(d: Discussion, shown: str, head: Callable[[int, SourceRef], str]) -> None:
    listing = shown[shown.rindex("Sources") :]
    sections = cited_sections(d)
    for sid, number in source_numbers(d).items():
        ref = next(r for p in (*d.points, *d.notes) for r in p.sources if r.source_id == sid)
        start = listing.index(head(number, ref))
        entry = listing[start : listing.find("\n", start + 1)]
        for section in sections[sid]:
            assert section in entry
        assert ref.reviewed_as_stated[1:] in entry
        assert ("Possibly out of date:" in entry) == ref.possibly_out_of_date
        if ref.possibly_out_of_date:
            assert ref.next_review is not None
            assert ref.next_review.isoformat() in entry


def check_html_document(out: str) -> TreeBuilder:
    tree = parse_html(out)
    root = tree.root
    only(find_all(root, "html"))
    only(find_all(root, "head"))
    body = only(find_all(root, "body"))
    assert [m.attrs.get("charset") for m in find_all(root, "meta")].count("utf-8") == 1
    # Self-contained: nothing fetched, nothing run.
    assert find_all(root, "script") == []
    assert find_all(root, "link") == []
    assert find_all(root, "img") == []
    assert find_all(root, "iframe") == []
    assert not any("src" in e.attrs for e in find_all(root))
    for a in find_all(root, "a"):
        assert a.attrs["href"].startswith("#")
        assert a.attrs["href"][1:] in tree.ids
    css = text_of(only(find_all(root, "style")))
    assert "url(" not in css
    assert "@import" not in css
    assert "@page" in css
    assert re.search(r"@media print \{.*\.page-footer \{ position: fixed;", css)
    # The statement opens the page (repeated as the table header on every printed page) and
    # closes it (the fixed footer on every printed page).
    body_text = text_of(body)
    assert body_text.startswith(STATEMENT)
    footer = only(find_all(body, "footer", "page-footer"))
    assert body.children[-1] is footer
    assert text_of(footer).startswith(STATEMENT)
    assert body_text.endswith(text_of(footer))
    thead = only(find_all(body, "thead"))
    assert text_of(thead) == STATEMENT
    return tree


def check_tutor_html(d: Discussion, out: str, prefix: str = "h1-") -> None:
    tree = check_html_document(out)
    ids = tree.ids
    numbers = source_numbers(d)
    for p in d.points:
        point = ids[f"{prefix}point-{p.id}"]
        text = text_of(point)
        assert flat(p.title) in text
        assert flat(p.text) in text
        assert "Why this applies:" in text
        assert f"Point {p.id}" in text
        badges = [text_of(b) for b in find_all(point, "span", "badge")]
        if p.urgency is not Urgency.INFO:
            assert p.urgency.value.capitalize() in badges
        assert ("Documents disagree" in badges) == p.contested
        hrefs = [a.attrs["href"] for a in find_all(point, "a")]
        quotes = [text_of(q) for q in find_all(point, "q")]
        for ref in p.sources:
            assert f"#{prefix}source-{numbers[ref.source_id]}" in hrefs
            assert flat(ref.quote) in quotes
            if p.contested:
                assert ref.says is not None
                assert flat(ref.says) in text
    for n in d.notes:
        assert flat(n.text) in text_of(ids[f"{prefix}note-{n.id}"])
    for sid, number in numbers.items():
        entry = text_of(ids[f"{prefix}source-{number}"])
        ref = next(r for p in (*d.points, *d.notes) for r in p.sources if r.source_id == sid)
        assert entry.startswith(f"[{number}] {flat(ref.publisher)}, {flat(ref.title)}.")
        for section in cited_sections(d)[sid]:
            assert flat(section) in entry
        assert ("Possibly out of date:" in entry) == ref.possibly_out_of_date
    assert len(find_all(tree.root, "article", "point")) == len(d.points) + len(d.notes)


def check_tutor_text(d: Discussion, out: str) -> None:
    assert out.splitlines()[0].endswith("EDUCATIONAL ONLY — NOT MEDICAL ADVICE")
    assert (
        out.rstrip().splitlines()[-1] == "This discussion is educational only — not medical advice."
    )
    for p in d.points:
        assert f"    Point {p.id}\n" in out
    for n in d.notes:
        assert f"    Note {n.id}\n" in out
    for ref in {r.source_id: r for p in d.points for r in p.sources}.values():
        assert ref.publisher in out


def check_tutor(d: Discussion, fmt: str, out: str) -> None:
    if fmt == "markdown":
        check_tutor_markdown(d, out)
    elif fmt == "html":
        check_tutor_html(d, out)
    elif fmt == "text":
        check_tutor_text(d, out)
    else:
        assert Discussion.model_validate_json(out) == d


# --- what a student handout must hold, and must not ---


def check_student(d: Discussion, fmt: str, out: str) -> None:
    sheet = worksheet(d)
    if fmt == "json":
        assert Worksheet.model_validate_json(out) == sheet
        assert "points" not in json.loads(out)
    else:
        shown = flat(visible(out, fmt))
        for question in sheet.questions:
            assert flat(question.text) in shown
        for label, value in case_summary(d.case):
            assert label in shown
            assert value in shown
        for doc in sheet.documents:
            assert flat(doc.publisher) in shown
            assert flat(doc.title) in shown
        assert "Why this applies" not in shown
        if fmt == "html":
            tree = check_html_document(out)
            items = find_all(tree.root, "li", "question")
            assert len(items) == len(sheet.questions)
        elif fmt == "markdown":
            assert out.splitlines()[0].startswith(f"> **{STATEMENT}**")
            assert out.splitlines()[-1] == f"> **{STATEMENT}**"
            assert unescaped_angle_brackets(out) == []
        else:
            assert "EDUCATIONAL ONLY — NOT MEDICAL ADVICE" in out.splitlines()[0]
            assert out.rstrip().endswith("educational only — not medical advice.")
    # No answers: nothing of a point but a care-team question's own title (which a quote
    # may repeat, when a document lists the question).
    shown = flat(visible(out, fmt))
    for p in d.of_kind(Kind.QUESTION):
        shown = shown.replace(flat(p.title), "")
    # The case's own words may echo a point's title ("... with Zollinger-Ellison syndrome").
    for own in (d.case.title, d.case.notes):
        if own:
            shown = shown.replace(flat(own), "")
    for p in d.points:
        assert p.id not in out
        assert flat(p.text) not in shown
        assert flat(p.title) not in shown
        for ref in p.sources:
            assert flat(ref.quote) not in shown
            if ref.says:
                assert flat(ref.says) not in shown
    for n in d.notes:
        assert n.id not in out
        assert flat(n.text) not in shown


def check_fhir(d: Discussion, out: str) -> None:
    """A FHIR bundle holds the case, for either audience: never a point, note or answer."""
    from netaid.fhir import case_from_bundle

    assert case_from_bundle(out).case == d.case
    for p in (*d.points, *d.notes):
        assert p.id not in out
        assert flat(p.text) not in flat(out)


def check(d: Discussion, fmt: str, audience: str, out: str) -> None:
    if fmt == "fhir":
        check_fhir(d, out)
        return
    (check_student if audience == "student" else check_tutor)(d, fmt, out)


# --- the tests ---


def test_the_mini_cases_fire_every_kind_of_point(mini_engine: Engine) -> None:
    # The structure checks below are only as good as the points they see.
    fired = {p.id for d in mini_discussions(mini_engine) for p in (*d.points, *d.notes)}
    assert fired == {r.id for r in mini_engine.rulebook.rules}


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_and_audience_over_many_cases(
    mini_engine: Engine, fmt: str, audience: str
) -> None:
    for d in mini_discussions(mini_engine):
        check(d, fmt, audience, render(d, fmt, audience=audience))


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_in_every_format_and_audience(
    engine: Engine, example: Path, fmt: str, audience: str
) -> None:
    d = discuss(load_case(example), engine=engine, today=TODAY)
    check(d, fmt, audience, render(d, fmt, audience=audience))
