"""Every treatment category and therapy id is produced by at least one valid case, and the
treatment points are sourced: each has citations, and each contested one shows two sides.

Witnesses are searched for, not listed: the bundled examples, the cases embedded in the rules'
own `examples`, and a reproducible set of naive random cases (tests/conftest.random_cases).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import netaid
from netaid import Case, Category, Discussion, Engine, Kind, Rulebook, Therapy, load_case
from tests.conftest import REPO, random_cases

RANDOM_CASES = 400


def candidate_cases(rulebook: Rulebook) -> Iterator[Case]:
    for path in sorted((REPO / "examples").glob("*.yaml")):
        yield load_case(path)
    for rule in rulebook.rules:
        for example in rule.examples:
            yield Case.model_validate(example.case)
    yield from random_cases(RANDOM_CASES, seed=2024)


@pytest.fixture(scope="module")
def discussions(rulebook: Rulebook, engine: Engine) -> list[Discussion]:
    return [netaid.discuss(case, engine=engine) for case in candidate_cases(rulebook)]


def witness(discussions: list[Discussion], wanted: Category | Therapy) -> Discussion | None:
    for d in discussions:
        found = d.categories if isinstance(wanted, Category) else d.therapies
        if wanted in found:
            return d
    return None


@pytest.mark.parametrize("category", list(Category), ids=str)
def test_every_category_is_produced_by_a_valid_case(
    category: Category, discussions: list[Discussion], engine: Engine
) -> None:
    d = witness(discussions, category)
    assert d is not None, f"no case produces category {category}"
    case = Case.model_validate(d.case.model_dump())  # still a valid case on its own
    assert category in netaid.discuss(case, engine=engine).categories


@pytest.mark.parametrize("therapy", list(Therapy), ids=str)
def test_every_therapy_is_produced_by_a_valid_case(
    therapy: Therapy, discussions: list[Discussion], engine: Engine
) -> None:
    d = witness(discussions, therapy)
    assert d is not None, f"no case produces therapy {therapy}"
    case = Case.model_validate(d.case.model_dump())
    assert therapy in netaid.discuss(case, engine=engine).therapies


def test_every_vocabulary_item_is_named_by_some_treatment_rule(rulebook: Rulebook) -> None:
    treatments = [r for r in rulebook.rules if r.kind is Kind.TREATMENT]
    assert {r.category for r in treatments} == set(Category)
    assert {t for r in treatments for t in r.therapies} == set(Therapy)


def test_no_treatment_rule_lacks_sources(rulebook: Rulebook) -> None:
    treatments = [r for r in rulebook.rules if r.kind is Kind.TREATMENT]
    assert treatments
    for rule in treatments:
        assert rule.citations, rule.id
        assert all(c.source.id and c.quote.strip() for c in rule.citations), rule.id


def test_every_contested_rule_has_two_sources_each_with_its_side(rulebook: Rulebook) -> None:
    contested = [r for r in rulebook.rules if r.contested]
    assert contested
    for rule in contested:
        assert len({c.source.id for c in rule.citations}) >= 2, rule.id
        assert all(c.says and c.says.strip() for c in rule.citations), rule.id


def test_produced_points_show_their_sources(
    rulebook: Rulebook, discussions: list[Discussion]
) -> None:
    """What a reader sees: every treatment point shows a source, every contested point shows
    at least two sources with each one's side, and every contested rule is seen somewhere."""
    seen_contested: set[str] = set()
    for d in discussions:
        for p in d.points:
            if p.kind is Kind.TREATMENT:
                assert p.sources, p.id
            if p.contested:
                seen_contested.add(p.id)
                assert len({s.source_id for s in p.sources}) >= 2, p.id
                assert all(s.says for s in p.sources), p.id
    assert seen_contested == {r.id for r in rulebook.rules if r.contested}


def test_every_rule_fires_for_some_candidate(
    rulebook: Rulebook, discussions: list[Discussion]
) -> None:
    """A rule no valid case reaches would be dead text; the search space reaches them all."""
    fired = {p.id for d in discussions for p in d.points} | {
        n.id for d in discussions for n in d.notes
    }
    assert {r.id for r in rulebook.rules} - fired == set()
