"""The documents' condition on a rule (`applies_when`): loaded, checked by lint, and shown."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

import netaid
from netaid import Engine, PythonEngine, Rulebook, RulebookError, load_rulebook
from netaid.lint import check_conditions, check_quotes
from tests.conftest import CORPUS, MINI_RULES

TODAY = dt.date(2026, 11, 30)

RULE = """
rules:
  - id: treatment.spread
    kind: treatment
    category: chemotherapy
    title: Chemotherapy for spread disease
    text: One document ties chemotherapy to spread disease.
    when:
      one_of: {{stage: [regional, metastatic]}}
{applies_when}
    citations:
      - source: macmillan
        section: Treatment for neuroendocrine tumours (NETs)
        quote: You may have chemotherapy to treat NETs that have spread.
"""

TIE = """\
    applies_when:
      ties: NETs that have spread
      citations:
        - source: macmillan
          section: Treatment for neuroendocrine tumours (NETs)
          quote: {quote}
"""
GOOD_QUOTE = "You may have chemotherapy to treat NETs that have spread."


def _book(tmp_path: Path, applies_when: str) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    shutil.copy(MINI_RULES / "sources.yaml", folder / "sources.yaml")
    (folder / "rules.yaml").write_text(RULE.format(applies_when=applies_when))
    return folder


def _problems(folder: Path) -> list[str]:
    with pytest.raises(RulebookError) as info:
        load_rulebook(folder)
    return [str(p) for p in info.value.problems]


def test_a_tie_loads_with_its_citations(tmp_path: Path) -> None:
    book = load_rulebook(_book(tmp_path, TIE.format(quote=GOOD_QUOTE)))
    tie = book.rule("treatment.spread").applies_when
    assert tie is not None
    assert tie.ties == "NETs that have spread"
    assert tie.basis == "documents"
    assert [c.source.id for c in tie.citations] == ["macmillan"]
    assert check_conditions(book) == []


@pytest.mark.parametrize(
    ("applies_when", "message"),
    [
        (TIE.format(quote=GOOD_QUOTE).replace("macmillan", "nobody"), "unknown source 'nobody'"),
        (
            "    applies_when:\n      ties: NETs that have spread\n",
            "cite the documents' words for when this applies",
        ),
        ("    applies_when:\n      ties: '  '\n      basis: profile\n", "must not be empty"),
        (
            TIE.format(quote=GOOD_QUOTE) + "          says: a side\n",
            "`says` belongs to a contested rule's citations",
        ),
    ],
)
def test_a_broken_tie_is_named_by_rule(tmp_path: Path, applies_when: str, message: str) -> None:
    problems = _problems(_book(tmp_path, applies_when))
    assert len(problems) == 1
    assert "rules.yaml" in problems[0]
    assert "treatment.spread" in problems[0]
    assert message in problems[0]


def test_a_tie_on_a_rule_for_every_case_is_refused(tmp_path: Path) -> None:
    folder = _book(tmp_path, TIE.format(quote=GOOD_QUOTE))
    text = (folder / "rules.yaml").read_text()
    without_when = text.replace("      one_of: {stage: [regional, metastatic]}\n", "")
    (folder / "rules.yaml").write_text(without_when.replace("    when:\n", ""))
    [problem] = _problems(folder)
    assert "applies to every case; drop applies_when" in problem


def test_lint_refuses_a_restricted_rule_without_a_tie(tmp_path: Path) -> None:
    book = load_rulebook(_book(tmp_path, ""))
    [problem] = check_conditions(book)
    assert problem.rule_id == "treatment.spread"
    assert "cites no words for when" in str(problem)


def test_lint_refuses_a_profile_basis_that_reads_clinical_fields(tmp_path: Path) -> None:
    tie = "    applies_when:\n      basis: profile\n      ties: the stage is given\n"
    book = load_rulebook(_book(tmp_path, tie))
    [problem] = check_conditions(book)
    assert "basis: profile, but the condition reads stage" in str(problem)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the source documents are not beside the repo")
def test_lint_checks_condition_quotes_verbatim(tmp_path: Path) -> None:
    book = load_rulebook(_book(tmp_path, TIE.format(quote="Chemotherapy is for everyone.")))
    [problem] = check_quotes(book, CORPUS)
    assert problem.quote == "Chemotherapy is for everyone."
    assert "not found" in problem.message


def test_the_shipped_rulebook_ties_every_restricted_rule(rulebook: Rulebook) -> None:
    assert check_conditions(rulebook) == []
    restricted = [r for r in rulebook if r.applies_when is not None]
    assert len(restricted) >= 80


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_every_format_shows_the_documents_tie(tmp_path: Path, fmt: str) -> None:
    book = load_rulebook(_book(tmp_path, TIE.format(quote=GOOD_QUOTE)))
    d = netaid.discuss(
        {"site": "lung", "stage": "metastatic"}, engine=PythonEngine(book), today=TODAY
    )
    [point] = d.points
    assert point.applies_when is not None
    assert point.applies_when.sources[0].quote == GOOD_QUOTE
    out = netaid.render(d, fmt)
    assert "NETs that have spread" in out
    if fmt != "json":
        assert "The documents tie this to NETs that have spread" in out


def test_a_profile_basis_says_why_it_is_shown(tmp_path: Path) -> None:
    book = load_rulebook(MINI_RULES)
    d = netaid.discuss({"site": "lung", "grade": "G2"}, engine=PythonEngine(book), today=TODAY)
    md = netaid.render(d, "markdown")
    assert "Shown because the profile gives a grade." in md


def test_text_never_drops_the_tie_quotes(engine: Engine) -> None:
    d = netaid.discuss(
        {"site": "small_bowel", "stage": "metastatic", "symptomatic": False, "grade": "G1"},
        engine=engine,
        today=TODAY,
    )
    point = next(p for p in d.points if p.id == "treatment.watchful_waiting.spread_no_symptoms")
    assert point.applies_when is not None
    text = " ".join(netaid.render(d, "text").split())
    for ref in point.applies_when.sources:
        assert ref.quote in text
