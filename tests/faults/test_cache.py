"""The discussion cache never hands out a wrong discussion: not for another day, another engine
or rulebook, or a case that differs in any field; and it stays bounded."""

from __future__ import annotations

import datetime as dt
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

import netaid
from netaid import Case, Engine, Rulebook, discuss, make_engine
from netaid._api import CACHE_SIZE, _cache_for
from tests.conftest import random_cases

CASES = random_cases(400, seed=77)
BEFORE = dt.date(2020, 6, 1)  # one mini source is due for review on 2020-12-31
AFTER = dt.date(2021, 6, 1)


@pytest.fixture
def engine(mini_rulebook: Rulebook) -> Engine:
    return make_engine(mini_rulebook)


def test_cached_discussions_equal_fresh_ones(engine: Engine) -> None:
    rng = random.Random(1)
    for _ in range(1_500):
        case = rng.choice(CASES[:150])
        day = rng.choice([BEFORE, AFTER])
        assert discuss(case, engine=engine, today=day) == discuss(
            case, engine=engine, today=day, cache=False
        )


def test_another_day_is_another_discussion(engine: Engine) -> None:
    case = Case(site="lung", stage="metastatic", syndromes=["carcinoid_syndrome"])
    before = discuss(case, engine=engine, today=BEFORE)
    after = discuss(case, engine=engine, today=AFTER)
    flags = {
        d: {s.possibly_out_of_date for p in x.points for s in p.sources}
        for d, x in ((BEFORE, before), (AFTER, after))
    }
    assert flags[BEFORE] == {False}
    assert True in flags[AFTER]
    assert (before.as_of, after.as_of) == (BEFORE, AFTER)


def test_every_field_is_part_of_the_key(engine: Engine) -> None:
    base = Case(site="colon", stage="metastatic", metastases=["liver"])
    variants = [
        base,
        base.model_copy(update={"title": "Another title"}),
        base.model_copy(update={"notes": "a note"}),
        base.model_copy(update={"resectable": False}),
        base.model_copy(update={"resectable": None}),
        Case(site="colon", stage="metastatic", metastases=["liver", "bone"]),
    ]
    for case in variants * 2:
        got = discuss(case, engine=engine, today=BEFORE)
        assert got.case == case
        assert got == discuss(case, engine=engine, today=BEFORE, cache=False)


def test_the_discussion_carries_the_callers_case(engine: Engine) -> None:
    terse = Case(site="colon")
    explicit = Case(site="colon", grade="unknown", stage="unknown")
    assert terse == explicit
    assert terse.model_fields_set != explicit.model_fields_set
    discuss(terse, engine=engine, today=BEFORE)
    got = discuss(explicit, engine=engine, today=BEFORE)
    assert got.case is explicit
    assert got.case.model_fields_set == {"site", "grade", "stage"}


def test_each_engine_has_its_own_cache(engine: Engine, rulebook: Rulebook) -> None:
    case = Case(site="pancreas", stage="metastatic", metastases=["liver"])
    with make_engine(rulebook) as shipped:
        mini = discuss(case, engine=engine, today=BEFORE)
        full = discuss(case, engine=shipped, today=BEFORE)
        assert mini != full
        assert discuss(case, engine=engine, today=BEFORE) == mini
        assert discuss(case, engine=shipped, today=BEFORE) == full


def test_the_cache_is_bounded(engine: Engine) -> None:
    for case in CASES[: CACHE_SIZE + 60]:
        discuss(case, engine=engine, today=BEFORE)
    assert len(_cache_for(engine)) == CACHE_SIZE
    # The newest are kept, and still right.
    for case in CASES[60 : CACHE_SIZE + 60]:
        assert discuss(case, engine=engine, today=BEFORE) == discuss(
            case, engine=engine, today=BEFORE, cache=False
        )


def test_without_the_cache_nothing_is_kept(engine: Engine) -> None:
    for case in CASES[:20]:
        discuss(case, engine=engine, today=BEFORE, cache=False)
    assert len(_cache_for(engine)) == 0


def test_threads_sharing_the_cache_get_right_answers(engine: Engine) -> None:
    expected = {c: discuss(c, engine=engine, today=AFTER, cache=False) for c in CASES[:200]}
    rng = random.Random(3)
    work = [rng.choice(CASES[:200]) for _ in range(4_000)]

    def check(case: Case) -> bool:
        return discuss(case, engine=engine, today=AFTER) == expected[case]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(check, work, chunksize=16))


def test_clearing_the_cache(engine: Engine) -> None:
    discuss(CASES[0], engine=engine, today=BEFORE)
    netaid._api.clear_cache()
    assert len(_cache_for(engine)) == 0
