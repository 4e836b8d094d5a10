"""Named conditions (`terms.yaml`) and `contains_any`: rules using them fire exactly as the
same conditions written out, and every mistake is named by file, term or rule, and place."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from netaid import PythonEngine, RulebookError, load_rulebook
from netaid._conditions import holds
from netaid.case import case_values
from netaid.check import parse_condition
from tests.conftest import FIXTURES, MINI_RULES, random_cases
from tests.property._support import fired, raw_rules

TERMS_RULES = FIXTURES / "terms"

RULE = """
rules:
  - id: r.one
    kind: context
    title: A title
    text: Some text.
    when: {when}
    citations:
      - source: macmillan
        section: Treatment
        quote: The main treatment is surgery to remove the tumour.
"""

TERMS = """
terms:
  - name: has_spread
    label: the tumour has spread
    when:
      any:
        - one_of: {stage: [regional, metastatic]}
        - contains_any: {metastases: [lymph_nodes, liver, bone, lung, other]}
"""


def _book(tmp_path: Path, when: str, terms: str | None = TERMS) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    shutil.copy(MINI_RULES / "sources.yaml", folder / "sources.yaml")
    (folder / "rules.yaml").write_text(textwrap.dedent(RULE).replace("{when}", when))
    if terms is not None:
        (folder / "terms.yaml").write_text(textwrap.dedent(terms))
    return folder


def _problems(folder: Path) -> list[str]:
    with pytest.raises(RulebookError) as info:
        load_rulebook(folder)
    return [str(p) for p in info.value.problems]


def test_terms_load_with_their_labels_and_are_no_rule_file() -> None:
    book = load_rulebook(TERMS_RULES)
    assert list(book.terms) == ["distant_spread", "has_spread", "spread_without_symptoms"]
    assert book.terms["has_spread"].label == "the tumour has spread"
    assert {r.id for r in book.rules} == {
        "treatment.watchful_waiting",
        "treatment.watchful_waiting.written",
        "context.not_distant",
        "context.not_distant.written",
    }


def test_a_rule_using_a_term_fires_exactly_as_the_condition_written_out() -> None:
    book = load_rulebook(TERMS_RULES)
    engine = PythonEngine(book)
    seen = {True: 0, False: 0}
    for case in random_cases(1_500, seed=13):
        ids = engine.fired_ids(case)
        for rule_id in ("treatment.watchful_waiting", "context.not_distant"):
            assert (rule_id in ids) == (f"{rule_id}.written" in ids), (rule_id, case)
            seen[rule_id in ids] += 1
    assert seen[True] > 100
    assert seen[False] > 100


def test_the_independent_evaluator_expands_terms_the_same_way() -> None:
    book = load_rulebook(TERMS_RULES)
    raw = raw_rules(TERMS_RULES)
    assert "term" not in str(raw["treatment.watchful_waiting"]["when"])
    engine = PythonEngine(book)
    for case in random_cases(500, seed=7):
        assert engine.fired_ids(case) == fired(raw, case), case


def test_the_shipped_terms_say_what_the_rule_files_write_out(rulebook) -> None:  # type: ignore[no-untyped-def]
    written = {
        "has_spread": parse_condition(
            {
                "any": [
                    {"one_of": {"stage": ["regional", "metastatic"]}},
                    *({"contains": {"metastases": m}} for m in ("lymph_nodes", "liver")),
                    *({"contains": {"metastases": m}} for m in ("bone", "lung", "other")),
                ]
            }
        ),
        "distant_spread": parse_condition(
            {
                "any": [
                    {"equals": {"stage": "metastatic"}},
                    *({"contains": {"metastases": m}} for m in ("liver", "bone", "lung", "other")),
                ]
            }
        ),
    }
    for case in random_cases(1_000, seed=3):
        values = case_values(case)
        for name, condition in written.items():
            assert holds(rulebook.terms[name].condition, values) == holds(condition, values)


def test_a_term_in_a_probe_condition() -> None:
    book = load_rulebook(TERMS_RULES)
    condition = parse_condition({"term": "has_spread"}, terms=book.terms)
    assert holds(condition, case_values(random_cases(1, seed=1)[0])) in (True, False)
    with pytest.raises(ValueError, match="unknown term 'nope'"):
        parse_condition({"term": "nope"}, terms=book.terms)


def test_an_unknown_term_is_named_with_the_rule_and_the_terms_there_are(tmp_path: Path) -> None:
    problems = _problems(_book(tmp_path, "{all: [{term: has_sprad}, {is_known: grade}]}"))
    assert problems == [
        "rules.yaml: rule 'r.one': when.all[0].term: unknown term 'has_sprad' (terms: has_spread)"
    ]


def test_a_term_without_a_terms_file_is_unknown(tmp_path: Path) -> None:
    problems = _problems(_book(tmp_path, "{term: has_spread}", terms=None))
    assert problems == [
        "rules.yaml: rule 'r.one': when.term: unknown term 'has_spread' (terms: none are defined)"
    ]


def test_a_term_may_use_only_the_terms_above_it(tmp_path: Path) -> None:
    terms = """
    terms:
      - name: first
        label: first
        when: {term: second}
      - name: second
        label: second
        when: {equals: {stage: metastatic}}
    """
    problems = _problems(_book(tmp_path, "{term: second}", terms=terms))
    assert problems == [
        "terms.yaml: terms[0] (first).when.term: unknown term 'second' (terms: none are defined)"
    ]


def test_a_term_defined_twice_is_refused(tmp_path: Path) -> None:
    twice = TERMS + TERMS.removeprefix("\nterms:\n")
    problems = _problems(_book(tmp_path, "{term: has_spread}", terms=twice))
    assert problems == ["terms.yaml: terms[1] (has_spread): term 'has_spread' defined twice"]


def test_a_term_that_can_never_hold_is_refused(tmp_path: Path) -> None:
    terms = """
    terms:
      - name: impossible
        label: never
        when:
          all:
            - equals: {stage: localized}
            - contains: {metastases: liver}
    """
    problems = _problems(_book(tmp_path, "{is_known: grade}", terms=terms))
    assert problems == [
        "terms.yaml: terms[0] (impossible): this condition can never be true for a valid case"
    ]


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ("terms:\n  - name: x\n    when: {is_known: grade}\n", "(x).label: Field required"),
        ("terms:\n  - name: Bad Name\n    label: l\n    when: {is_known: grade}\n", "name"),
        ("terms:\n  - name: x\n    label: l\n    when: {equals: {grde: G1}}\n", "grde"),
        ("terms: 3\n", "terms: Input should be a valid list"),
    ],
)
def test_a_malformed_terms_file_is_named(tmp_path: Path, terms: str, expected: str) -> None:
    problems = _problems(_book(tmp_path, "{is_known: grade}", terms=terms))
    assert len(problems) == 1
    assert problems[0].startswith("terms.yaml: ")
    assert expected in problems[0]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (
            "{contains_any: {metastases: [liver]}}",
            "when.contains_any.metastases: contains_any needs at least two members",
        ),
        (
            "{contains_any: {metastases: [liver, liver]}}",
            "when.contains_any.metastases: contains_any lists a member twice",
        ),
        (
            "{contains_any: {stage: [regional, metastatic]}}",
            "when.contains_any.stage: contains_any does not apply to scalar field 'stage'",
        ),
        (
            "{contains_any: {metastases: [liver, brain]}}",
            "when.contains_any.metastases: 'brain' is not a value of 'metastases'",
        ),
        (
            "{contains_any: {metastases: [liver, bone], syndromes: [vipoma, insulinoma]}}",
            "when.contains_any: names 2 fields; a leaf tests exactly one",
        ),
    ],
)
def test_contains_any_mistakes_are_named(tmp_path: Path, when: str, expected: str) -> None:
    problems = _problems(_book(tmp_path, when, terms=None))
    assert len(problems) == 1
    assert problems[0].startswith(f"rules.yaml: rule 'r.one': {expected}"), problems[0]


def test_contains_any_holds_when_any_member_is_present() -> None:
    condition = parse_condition({"contains_any": {"metastases": ["liver", "bone"]}})
    base = case_values(random_cases(1, seed=1)[0])
    for members, expected in [
        (frozenset(), False),
        (frozenset({"lung"}), False),
        (frozenset({"bone"}), True),
        (frozenset({"liver", "bone", "lung"}), True),
    ]:
        assert holds(condition, {**base, "metastases": members}) is expected
