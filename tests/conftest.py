"""Fixtures shared by every kind of test (see tests/README.md)."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from netaid import Case, DurableEngine, Rulebook, load_rulebook
from netaid.case import case_fields

TESTS = Path(__file__).parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
MINI_RULES = FIXTURES / "mini"
#: The source documents live beside the repository, never inside it.
CORPUS = REPO.parent / "shared" / "seeds"


def pytest_configure(config: pytest.Config) -> None:
    # The suite runs with the rule-file cache on, but in a folder of its own: tests never
    # write into the user's cache, and every run starts from an empty one.
    os.environ["NETAID_CACHE_DIR"] = tempfile.mkdtemp(prefix="netaid-test-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = os.environ.pop("NETAID_CACHE_DIR", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


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


def random_cases(count: int, seed: int) -> list[Case]:
    """Varied valid cases, reproducibly: each field drawn independently, invalid ones redrawn.

    Deliberately naive (no shrinking, no constraints): the engine tests only need many
    different cases, and must not depend on the library's own generators to get them.
    """
    rng = random.Random(seed)
    cases: list[Case] = []
    while len(cases) < count:
        data: dict[str, object] = {}
        for name, spec in case_fields().items():
            if spec.kind == "set":
                data[name] = [v for v in spec.values if rng.random() < 0.25]
            elif spec.kind in ("flag", "tristate"):
                data[name] = {"true": True, "false": False, "unknown": None}[
                    rng.choice(spec.values)
                ]
            else:
                data[name] = (
                    None
                    if (v := rng.choice(spec.values)) == "unknown" and name == "cell_type"
                    else v
                )
        try:
            cases.append(Case.model_validate(data))
        except ValidationError:
            continue
    return cases
