"""`discuss_many`: input order, bounded read-ahead, errors in place, dying workers.

Each multi-process test starts fresh worker processes (spawn), so these take a few seconds.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
import signal
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import netaid
from netaid import Case, CaseError, EngineError, Rulebook, discuss, discuss_many
from tests.conftest import random_cases

CASES = random_cases(240, seed=4242)
DAY = dt.date(2026, 1, 15)


def _same(got: list[netaid.Discussion], cases: list[Case], **kwargs: Any) -> None:
    assert len(got) == len(cases)
    for discussion, case in zip(got, cases, strict=True):
        assert discussion == discuss(case, today=DAY, cache=False, **kwargs)


@pytest.mark.parametrize("processes", [1, 2])
def test_results_come_in_input_order(processes: int) -> None:
    got = list(discuss_many(CASES, processes=processes, today=DAY, chunk_size=7, window=3))
    _same(got, CASES)


def test_mappings_are_validated_and_the_rulebook_and_day_are_used(
    mini_rulebook: Rulebook,
) -> None:
    data = [c.model_dump(mode="json", exclude_defaults=True) for c in CASES[:40]]
    got = list(discuss_many(data, processes=2, rulebook=mini_rulebook, today=DAY, chunk_size=5))
    with netaid.make_engine(mini_rulebook) as engine:
        _same(got, CASES[:40], engine=engine)
    assert {d.as_of for d in got} == {DAY}


@pytest.mark.parametrize("processes", [1, 2])
def test_a_bad_case_raises_in_its_place(processes: int) -> None:
    cases: list[Case | Mapping[str, object]] = [*CASES[:25], {"site": "atlantis"}, *CASES[25:50]]
    results = discuss_many(cases, processes=processes, today=DAY, chunk_size=4)
    got = list(itertools.islice(results, 25))
    with pytest.raises(CaseError, match="case 26") as caught:
        next(results)
    assert caught.value.origin == "case 26"
    assert [p.field for p in caught.value.problems] == ["site"]
    _same(got, CASES[:25])


@pytest.mark.parametrize("processes", [1, 2])
def test_an_unvalidated_case_raises_in_its_place(processes: int) -> None:
    # Once an EngineError (the engine could not spell it); discuss now validates it first.
    broken = Case.model_construct(site="atlantis")
    cases = [*CASES[:9], broken, *CASES[9:30]]
    results = discuss_many(cases, processes=processes, today=DAY, chunk_size=4)
    got = list(itertools.islice(results, 9))
    with pytest.raises(CaseError, match=r"^case 10: invalid case\n  - site: Input should be"):
        next(results)
    _same(got, CASES[:9])


class Crash(Mapping[str, object]):
    """A case that kills the process reading it, as a segmentation fault would."""

    def __getitem__(self, key: str) -> object:
        os.kill(os.getpid(), signal.SIGSEGV)
        raise KeyError(key)  # pragma: no cover

    def __iter__(self) -> Iterator[str]:
        os.kill(os.getpid(), signal.SIGSEGV)
        return iter(())  # pragma: no cover

    def __len__(self) -> int:
        return 1


def test_a_worker_that_dies_is_an_engine_error_not_a_hang() -> None:
    cases: list[Case | Mapping[str, object]] = [*CASES[:20], Crash(), *CASES[20:60]]
    got: list[netaid.Discussion] = []

    def consume() -> None:
        got.extend(discuss_many(cases, processes=2, today=DAY, chunk_size=5))

    with pytest.raises(EngineError, match="worker process died"):
        consume()
    assert len(got) <= 20
    _same(got, CASES[: len(got)])
    assert multiprocessing.active_children() == []


def _endless(counter: list[int]) -> Iterator[Case]:
    for case in itertools.cycle(CASES):
        counter[0] += 1
        yield case


@pytest.mark.parametrize("processes", [1, 2])
def test_an_endless_input_is_read_only_a_bounded_way_ahead(processes: int) -> None:
    read = [0]
    results = discuss_many(_endless(read), processes=processes, today=DAY, chunk_size=8, window=4)
    taken = list(itertools.islice(results, 100))
    _same(taken, [*CASES, *CASES][:100])
    # At most the window (4 chunks of 8) beyond the chunk being handed out.
    assert read[0] <= 100 + 8 + 4 * 8
    results.close()
    assert multiprocessing.active_children() == []


def test_arguments_are_checked_before_any_work() -> None:
    for bad in ({"processes": 0}, {"chunk_size": 0}, {"window": 0}):
        with pytest.raises(ValueError, match="at least 1"):
            discuss_many(CASES, **bad)  # type: ignore[arg-type]
