"""Fixtures of the property suite: each test runs on the mini rulebook and the shipped one,
through every engine backend available on this Python (the conformance suite)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from netaid import Engine, Rulebook, make_engine
from netaid.check import ClassSpace
from tests.property._support import raw_rules


@dataclass(frozen=True)
class Subject:
    """A rulebook under test, with its engine, its class space and its rule files as written."""

    name: str
    rulebook: Rulebook
    engine: Engine
    space: ClassSpace
    raw: dict[str, dict[str, Any]]


_SPACES: dict[str, ClassSpace] = {}


@pytest.fixture(scope="session", params=["mini", "shipped"])
def subject(request: pytest.FixtureRequest, engine_name: str) -> Iterator[Subject]:
    prefix = "mini_" if request.param == "mini" else ""
    rulebook: Rulebook = request.getfixturevalue(f"{prefix}rulebook")
    space = _SPACES.get(request.param)
    if space is None:
        space = _SPACES[request.param] = ClassSpace.build(rulebook)
    with make_engine(rulebook, engine_name) as engine:
        yield Subject(
            f"{request.param}-{engine_name}",
            rulebook,
            engine,
            space,
            raw_rules(rulebook.directory),
        )
