"""netaid.review and the plain-words conditions: what a clinical reviewer reads must be exact,
complete and safe to open (escaped HTML and Markdown, CSV a spreadsheet cannot execute)."""

from __future__ import annotations

import csv
import io
import itertools
import shutil
from pathlib import Path

import pytest

from netaid import Rulebook, load_rulebook
from netaid._conditions import Always, Condition, holds, leaves
from netaid._wording import _Constant, _Junction, _Member, _Node, _normal, describe_condition
from netaid.case import case_fields, incompatibilities
from netaid.check import Atom, parse_condition, view_of
from netaid.review import CSV_COLUMNS, SIGN_OFF, csv_cell, render_review, review_sheet
from tests.conftest import FIXTURES, MINI_RULES

DIFF_NEW = FIXTURES / "diff" / "new"

# --- the condition in plain words ---


@pytest.mark.parametrize(
    ("when", "words"),
    [
        (None, "every case"),
        ({"equals": {"site": "pancreas"}}, "primary site is pancreas"),
        ({"not": {"equals": {"site": "pancreas"}}}, "primary site is not pancreas"),
        ({"one_of": {"stage": ["regional", "metastatic"]}}, "stage is regional or metastatic"),
        ({"is_known": "grade"}, "grade is known"),
        ({"not": {"is_known": "grade"}}, "grade is unknown"),
        ({"not": {"equals": {"stage": "metastatic"}}}, "stage is not metastatic"),
        # Two negations on one field under `all` merge into the values left.
        (
            {
                "all": [
                    {"not": {"equals": {"stage": "localized"}}},
                    {"not": {"equals": {"stage": "unknown"}}},
                ]
            },
            "stage is regional or metastatic",
        ),
        (
            {
                "all": [
                    {"equals": {"site": "pancreas"}},
                    {"one_of": {"stage": ["regional", "metastatic"]}},
                    {"equals": {"completely_removed": False}},
                ]
            },
            "primary site is pancreas, stage is regional or metastatic, and the tumour has not "
            "been completely removed",
        ),
        (
            {"not": {"equals": {"resectable": False}}},
            "surgery could remove the tumour completely (or this is not known)",
        ),
        ({"equals": {"symptomatic": False}}, "the tumour causes no symptoms"),
        (
            {"not": {"is_known": "symptomatic"}},
            "it is not known whether the tumour causes symptoms",
        ),
        (
            {"any": [{"contains": {"metastases": "liver"}}, {"contains": {"metastases": "bone"}}]},
            "metastases include liver or bone",
        ),
        (
            {
                "not": {
                    "any": [
                        {"contains": {"metastases": "liver"}},
                        {"contains": {"metastases": "bone"}},
                    ]
                }
            },
            "metastases include neither liver nor bone",
        ),
        # A disjunction inside a conjunction is bracketed, its parts joined by ", or".
        (
            {
                "all": [
                    {
                        "any": [
                            {"equals": {"stage": "regional"}},
                            {"contains": {"metastases": "lymph_nodes"}},
                        ]
                    },
                    {"equals": {"symptomatic": False}},
                ]
            },
            "(stage is regional, or metastases include lymph nodes) and the tumour causes no "
            "symptoms",
        ),
        ({"equals": {"differentiation": "poorly"}}, "the tumour is poorly differentiated"),
        (
            {"not": {"equals": {"differentiation": "well"}}},
            "the tumour is not well differentiated",
        ),
        (
            {"not": {"one_of": {"site": ["stomach", "duodenum", "lung"]}}},
            "primary site is none of stomach, duodenum or lung",
        ),
        # A part that lists values with commas, then more parts: semicolons between them.
        (
            {
                "all": [
                    {"one_of": {"site": ["stomach", "duodenum", "lung"]}},
                    {"equals": {"symptomatic": False}},
                    {"equals": {"grade": "G1"}},
                ]
            },
            "primary site is stomach, duodenum or lung; the tumour causes no symptoms; and "
            "grade is G1",
        ),
        # De Morgan: not (a and b) is (not a, or not b).
        (
            {
                "not": {
                    "all": [{"equals": {"grade": "G3"}}, {"contains": {"syndromes": "insulinoma"}}]
                }
            },
            "grade is not G3, or syndromes do not include insulinoma",
        ),
    ],
)
def test_condition_in_words(when: object, words: str) -> None:
    condition = Always() if when is None else parse_condition(when)
    assert describe_condition(condition) == words


def _node_holds(node: _Node, values: dict[str, str | frozenset[str]]) -> bool:
    """The normal form's own truth, read independently of the condition it came from."""
    if isinstance(node, _Constant):
        return node.value
    if isinstance(node, _Member):
        raw = values[node.field]
        assert isinstance(raw, frozenset)
        return (node.member in raw) == node.present
    if isinstance(node, _Junction):
        results = [_node_holds(c, values) for c in node.children]
        return all(results) if node.conjunctive else any(results)
    return values[node.field] in node.allowed


def _every_case(condition: Condition) -> list[dict[str, str | frozenset[str]]]:
    """Every valid combination of the values of the fields (and members) a condition reads."""
    atoms = sorted(
        {Atom(x.field, x.values[0] if x.op == "contains" else None) for x in leaves(condition)}
    )
    found = []
    for combo in itertools.product(*(a.domain for a in atoms)):
        values = view_of(dict(zip(atoms, combo, strict=True)))
        if not incompatibilities(values):
            found.append(values)
    return found


def test_the_words_are_exact_for_every_shipped_and_mini_condition(rulebook: Rulebook) -> None:
    """The normal form the words are read from (merged, negations pushed down) is true of
    exactly the cases the condition is true of: nothing is lost in the rewording."""
    checked = 0
    for rule in (*rulebook.rules, *load_rulebook(MINI_RULES).rules):
        node = _normal(rule.condition)
        for values in _every_case(rule.condition):
            assert _node_holds(node, values) == holds(rule.condition, values), (rule.id, values)
            checked += 1
    assert checked > 1000


def test_every_field_value_has_words() -> None:
    for name, spec in case_fields().items():
        for value in spec.values:
            leaf = {"contains": {name: value}} if spec.kind == "set" else {"equals": {name: value}}
            words = describe_condition(parse_condition(leaf))
            assert words, (name, value)
            assert "_" not in words, (name, value, words)


# --- the review sheet ---


def test_one_entry_per_rule_in_every_format(rulebook: Rulebook) -> None:
    sheet = review_sheet(rulebook)
    assert [e.id for e in sheet.entries] == [r.id for r in rulebook.rules]
    for fmt in ("markdown", "html"):
        text = render_review(sheet, fmt)
        for rule in rulebook.rules:
            assert rule.id in text, (fmt, rule.id)
    rows = list(csv.DictReader(io.StringIO(render_review(sheet, "csv"))))
    assert [r["id"] for r in rows] == [r.id for r in rulebook.rules]


def test_entries_carry_conditions_ties_quotes_sides_and_examples() -> None:
    rulebook = load_rulebook(DIFF_NEW)
    sheet = {e.id: e for e in review_sheet(rulebook).entries}
    waiting = sheet["treatment.watchful_waiting"]
    assert waiting.condition == (
        "stage is regional or metastatic, the tumour causes no symptoms, and grade is not G3"
    )
    assert waiting.ties == "NETs that have spread but cause no symptoms"
    assert [q.publisher for q in waiting.condition_quotes] == ["Macmillan Cancer Support"]
    assert waiting.quotes[0].section == "Treatment for neuroendocrine tumours (NETs)"
    malignancy = sheet["context.malignancy"]
    assert malignancy.contested
    assert [(q.source_id, q.says) for q in malignancy.sides] == [
        ("cityofhope", "Every NET is treated as malignant."),
        ("franklyspeaking", "Some NETs are not cancers."),
    ]
    markdown = render_review(review_sheet(rulebook))
    assert "**The documents tie it to.** NETs that have spread but cause no symptoms" in markdown
    assert "- City of Hope: Every NET is treated as malignant." in markdown
    assert "| Reviewer | Date | Verdict | Comment |" in markdown
    assert "applies to every case: no tie needed" in markdown  # context.everyone
    # A restricted rule without a tie is called out, not passed over.
    assert "MISSING: the rule is restricted" in markdown  # e.g. treatment.surgery.localized


def test_examples_read_as_case_and_expected_points(rulebook: Rulebook) -> None:
    entry = next(e for e in review_sheet(rulebook).entries if e.id == "treatment.surgery.primary")
    texts = [x.text for x in entry.examples]
    assert len(texts) == len(rulebook.rule("treatment.surgery.primary").examples)
    assert any("→ produces treatment.surgery.primary" in t for t in texts)
    assert any("→ does not produce treatment.surgery.primary" in t for t in texts)
    assert all("primary site:" in t for t in texts)
    markdown = render_review(review_sheet(rulebook))
    assert "→ produces `treatment.surgery.primary`" in markdown
    assert "→ does not produce `treatment.surgery.primary`" in markdown


_HOSTILE = """\
rules:
  - id: context.hostile
    kind: context
    contested: true
    title: "=HYPERLINK(\\"http://example.invalid\\") <script>alert(1)</script>"
    text: "Tom & Jerry <b>bold</b> *stars* | pipe"
    citations:
      - source: cityofhope
        section: "<img src=x onerror=alert(1)>"
        quote: "@SUM(A1) quoted"
        says: "-1+1 side"
      - source: macmillan
        section: "+section"
        quote: A quote.
        says: plain side
"""


@pytest.fixture
def hostile(tmp_path: Path) -> Rulebook:
    shutil.copy(MINI_RULES / "sources.yaml", tmp_path / "sources.yaml")
    (tmp_path / "rules.yaml").write_text(_HOSTILE)
    return load_rulebook(tmp_path)


def test_html_is_escaped_and_self_contained(hostile: Rulebook) -> None:
    page = render_review(review_sheet(hostile), "html")
    assert "<script>" not in page
    assert "<img" not in page
    assert "<b>bold" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Tom &amp; Jerry" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # Self-contained and print-friendly: no external resources, no scripts, print rules.
    assert "src=" not in page.replace("&lt;img src=x", "")
    assert "<link" not in page
    assert "http" not in page.replace("http://example.invalid", "")
    assert "@media print" in page
    assert "break-inside: avoid" in page


def test_markdown_shows_hostile_text_literally(hostile: Rulebook) -> None:
    text = render_review(review_sheet(hostile), "markdown")
    assert "\\<script\\>" in text
    assert "<script>" not in text
    assert "\\*stars\\*" in text
    assert "\\| pipe" in text


def test_csv_parses_back_and_defuses_formulas(hostile: Rulebook) -> None:
    out = render_review(review_sheet(hostile), "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 2  # the header and one row per rule
    row = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert row["title"].startswith("'=HYPERLINK(")
    assert row["contested"] == "yes"
    assert "City of Hope: -1+1 side" in row["contested_sides"]
    assert "“@SUM(A1) quoted”" in row["content_quotes"]  # quoted: no longer at the start
    assert all(row[s] == "" for s in SIGN_OFF)
    for cell in rows[1]:
        assert not cell.startswith(("=", "+", "-", "@")), cell


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cell_defuses_every_formula_start(start: str) -> None:
    assert csv_cell(f"{start}1+1") == f"'{start}1+1"


def test_csv_cell_leaves_text_alone() -> None:
    assert csv_cell("a = b") == "a = b"
    assert csv_cell("") == ""
    assert csv_cell("'already") == "'already"


def test_unknown_format_is_refused(mini_rulebook: Rulebook) -> None:
    with pytest.raises(ValueError, match="unknown review format 'pdf'"):
        render_review(review_sheet(mini_rulebook), "pdf")


def test_a_profile_tie_says_it_is_about_the_profile(tmp_path: Path) -> None:
    shutil.copy(MINI_RULES / "sources.yaml", tmp_path / "sources.yaml")
    (tmp_path / "rules.yaml").write_text(
        """\
rules:
  - id: question.grade_unknown
    kind: question
    title: What is the grade?
    text: Ask what grade the tumour is.
    when:
      equals: {grade: unknown}
    applies_when:
      ties: the profile does not give the grade
      basis: profile
    citations:
      - source: cleveland
        section: Are there grades of neuroendocrine tumors?
        quote: healthcare providers use a grading system to create your treatment plan.
"""
    )
    entry = review_sheet(load_rulebook(tmp_path)).entries[0]
    assert entry.ties_basis == "profile"
    assert entry.condition_quotes == ()
    text = render_review(review_sheet(load_rulebook(tmp_path)))
    assert "shown because the profile does not give the grade" in text
    assert "**Condition, in plain words.** grade is unknown" in text
