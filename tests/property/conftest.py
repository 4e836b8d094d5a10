"""Fixtures of the property suite: each test runs on the mini rulebook and the shipped one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from netaid import DurableEngine, Rulebook
from netaid.check import ClassSpace
from tests.property._support import raw_rules


@dataclass(frozen=True)
class Subject:
    """A rulebook under test, with its engine, its class space and its rule files as written."""

    name: str
    rulebook: Rulebook
    engine: DurableEngine
    space: ClassSpace
    raw: dict[str, dict[str, Any]]


@pytest.fixture(scope="session", params=["mini", "shipped"])
def subject(request: pytest.FixtureRequest) -> Subject:
    prefix = "mini_" if request.param == "mini" else ""
    rulebook: Rulebook = request.getfixturevalue(f"{prefix}rulebook")
    engine: DurableEngine = request.getfixturevalue(f"{prefix}engine")
    return Subject(
        request.param,
        rulebook,
        engine,
        ClassSpace.build(rulebook),
        raw_rules(rulebook.directory),
    )
