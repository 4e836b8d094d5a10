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

from netaid import Case, Engine, Rulebook, available_engines, load_rulebook, make_engine
from netaid.case import case_fields

TESTS = Path(__file__).parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
MINI_RULES = FIXTURES / "mini"
#: The source documents live beside the repository, never inside it.
CORPUS = REPO.parent / "shared" / "seeds"


#: The engine backends that run on this Python. The conformance tests (property, oracle and
#: fault tests) run on each; other tests use the default one (durable where it runs).
ENGINES = available_engines()
needs_durable = pytest.mark.skipif(
    "durable" not in ENGINES, reason="durable-rules does not run on this Python"
)
#: The backends tests actually evaluated cases with, written where NETAID_ENGINES_TESTED
#: says at the end of the run: `.ci/run` fails if no engine was tested.
TESTED: set[str] = set()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    log = os.environ.get("NETAID_ENGINES_TESTED")
    if log:
        Path(log).write_text("".join(f"{name}\n" for name in sorted(TESTED)), encoding="utf-8")


@pytest.fixture(scope="session", params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    """Each available backend in turn."""
    name: str = request.param
    TESTED.add(name)
    return name


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
def mini_engine(mini_rulebook: Rulebook) -> Iterator[Engine]:
    """The default engine for the mini rulebook."""
    with make_engine(mini_rulebook) as engine:
        TESTED.add(engine.name)
        yield engine


@pytest.fixture(scope="session")
def rulebook() -> Rulebook:
    """The shipped rulebook."""
    return load_rulebook()


@pytest.fixture(scope="session")
def engine(rulebook: Rulebook) -> Iterator[Engine]:
    """The default engine for the shipped rulebook."""
    with make_engine(rulebook) as engine:
        TESTED.add(engine.name)
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
