"""The render API: formats, audiences, several handouts in one document, the worksheet."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from netaid import Case, Discussion, Engine, RenderError, discuss
from netaid.render import AUDIENCES, EXTENSIONS, FORMATS, render, render_many, worksheet
from tests.render.helpers import find_all, parse_html, text_of

LOCALIZED = Case(site="colon", stage="localized", grade="G1", differentiation="well")
SPREAD = Case(
    site="lung",
    grade="G2",
    differentiation="poorly",
    stage="metastatic",
    metastases=frozenset({"liver"}),
    syndromes=frozenset({"carcinoid_syndrome"}),
    symptomatic=False,
)


@pytest.fixture
def two(mini_engine: Engine) -> list[Discussion]:
    return [discuss(c, engine=mini_engine, today=dt.date(2025, 1, 1)) for c in (LOCALIZED, SPREAD)]


def test_formats_and_audiences_are_public(two: list[Discussion]) -> None:
    assert set(FORMATS) == {"text", "markdown", "html", "json", "fhir"} == set(EXTENSIONS)
    assert AUDIENCES == ("tutor", "student")
    assert render(two[0]) == render(two[0], "text", audience="tutor")
    assert render(two[0], "json") == two[0].model_dump_json(indent=2) + "\n"


@pytest.mark.parametrize(
    ("fmt", "audience", "message"),
    [
        ("pdf", "tutor", "unknown format 'pdf'"),
        ("html", "parent", "unknown audience 'parent' (audiences: tutor, student)"),
    ],
)
def test_unknown_format_or_audience_is_a_render_error(
    two: list[Discussion], fmt: str, audience: str, message: str
) -> None:
    with pytest.raises(RenderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        render(two[0], fmt, audience=audience)
    with pytest.raises(RenderError):
        render_many(two, fmt, audience=audience)


def test_render_many_needs_something_to_render() -> None:
    with pytest.raises(RenderError, match="nothing to render"):
        render_many([], "html")


@pytest.mark.parametrize("audience", AUDIENCES)
def test_several_handouts_make_one_html_document_a_page_each(
    two: list[Discussion], audience: str
) -> None:
    out = render_many(two, "html", audience=audience)
    tree = parse_html(out)  # also proves ids stay unique across handouts
    handouts = find_all(tree.root, "article", "handout")
    assert [h.attrs["id"] for h in handouts] == ["h1-handout", "h2-handout"]
    assert ".handout + .handout { margin-top: 12mm; break-before: page;" in out
    assert len(find_all(tree.root, "footer")) == 1
    if audience == "tutor":
        for i, d in enumerate(two, start=1):
            for p in d.points:
                assert p.title in text_of(tree.ids[f"h{i}-point-{p.id}"])


def test_several_handouts_in_the_other_formats(two: list[Discussion]) -> None:
    markdown = render_many(two, "markdown")
    assert markdown.count("> **Educational only — not medical advice.**") == 4
    assert markdown == "\n* * *\n\n".join(render(d, "markdown") for d in two)
    assert render_many(two, "text").split("\f\n") == [render(d, "text") for d in two]
    data = json.loads(render_many(two, "json"))
    assert [Discussion.model_validate(item) for item in data] == two
    students = json.loads(render_many(two, "json", audience="student"))
    assert [s["audience"] for s in students] == ["student", "student"]
    assert all("points" not in s for s in students)


def test_sources_are_flagged_only_once_past_their_stated_review(
    mini_engine: Engine,
) -> None:
    # Macmillan states its next review as 2020-12-31.
    for today, flagged in ((dt.date(2020, 12, 31), False), (dt.date(2021, 1, 1), True)):
        d = discuss(LOCALIZED, engine=mini_engine, today=today)
        for fmt in ("markdown", "html", "text"):
            for audience in AUDIENCES:
                out = " ".join(render(d, fmt, audience=audience).split())
                assert ("ossibly out of date" in out) == flagged, (fmt, audience)
                assert ("next review was 2020-12-31" in out) == flagged


def test_worksheet_questions_follow_the_discussion(two: list[Discussion]) -> None:
    localized, spread = (worksheet(d) for d in two)
    assert [q.topic for q in localized.questions] == [
        "treatment",
        "question",
        "context",
        "contested",
        "unknowns",
    ]
    assert localized.questions[0].text.startswith(
        "The documents associate 1 treatment with this profile. What could it be,"
    )
    assert [q.number for q in localized.questions] == [1, 2, 3, 4, 5]
    # Cell type cannot apply to a well-differentiated tumour, so it is not "unknown".
    assert localized.unknown == ("functional status", "symptomatic", "resectable")
    assert [q.topic for q in spread.questions] == [
        "warning",
        "treatment",
        "question",
        "context",
        "contested",
        "gaps",
        "unknowns",
    ]
    # Embolisation only: watchful waiting is never for a poorly differentiated tumour.
    assert spread.questions[1].text.startswith(
        "The documents associate 1 treatment with this profile. What could it be,"
    )
    assert spread.unknown == ("cell type", "functional status", "resectable")
    assert [d.publisher for d in spread.documents][:2] == [
        "Cleveland Clinic",
        "Macmillan Cancer Support",
    ]


def test_a_fully_known_case_has_no_unknowns_question(mini_engine: Engine) -> None:
    case = Case.model_validate(
        {
            **LOCALIZED.model_dump(),
            "functional_status": "non_functioning",
            "symptomatic": True,
            "resectable": True,
        }
    )
    sheet = worksheet(discuss(case, engine=mini_engine))
    assert sheet.unknown == ()
    assert "unknowns" not in [q.topic for q in sheet.questions]
