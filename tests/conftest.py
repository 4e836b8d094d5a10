"""Fixtures shared by every kind of test (see tests/README.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netaid import DurableEngine, Rulebook, load_rulebook

TESTS = Path(__file__).parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
MINI_RULES = FIXTURES / "mini"
#: The source documents live beside the repository, never inside it.
CORPUS = REPO.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def mini_rulebook() -> Rulebook:
    """A small rulebook using every operator and kind, independent of the shipped rules."""
    return load_rulebook(MINI_RULES)


@pytest.fixture(scope="session")
def mini_engine(mini_rulebook: Rulebook) -> Iterator[DurableEngine]:
    with DurableEngine(mini_rulebook) as engine:
        yield engine


@pytest.fixture(scope="session")
def rulebook() -> Rulebook:
    """The shipped rulebook."""
    return load_rulebook()


@pytest.fixture(scope="session")
def engine(rulebook: Rulebook) -> Iterator[DurableEngine]:
    with DurableEngine(rulebook) as engine:
        yield engine
