"""Soak: many evaluations on shared engines, across threads and processes, with zero wrong
results against the plain-Python evaluator.

Each of `PROCESSES` worker processes shares one DurableEngine between `THREADS` threads that
switch as often as the interpreter allows, and checks every answer against PythonEngine (two
of the threads check whole evaluations: the rules and the reasons they fired for).
`make soak` runs the 1,000,000-evaluation version; the normal suite runs 50,000.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

import pytest

from netaid import DurableEngine, PythonEngine, discuss, discuss_many, load_rulebook
from netaid.rulebook import Rulebook
from tests.conftest import needs_durable, random_cases

# The soak drives durable-rules' C engine from many threads: it tests that backend.
pytestmark = needs_durable

PROCESSES = 2
THREADS = 8


def _soak_process(rulebook: Rulebook, evaluations: int, seed: int) -> tuple[int, int, int]:
    """In a worker process: (evaluations done, wrong results, engine errors)."""
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    cases = random_cases(min(evaluations, 5_000), seed=seed)
    reference = PythonEngine(rulebook)
    expected = [reference.fired_ids(c) for c in cases]
    explained = [reference.evaluate(c) for c in cases[:500]]
    per_thread = evaluations // THREADS
    counts = [[0, 0, 0] for _ in range(THREADS)]
    with DurableEngine(rulebook) as engine:

        def run(index: int) -> None:
            done, wrong, errors = counts[index]
            for i in range(per_thread):
                k = (i * 7919 + index * 104_729) % len(cases)
                try:
                    if index % 4 == 0:  # two threads of eight explain what fired, too
                        k %= len(explained)
                        wrong += engine.evaluate(cases[k]).fired != explained[k].fired
                    elif engine.fired_ids(cases[k]) != expected[k]:
                        wrong += 1
                except Exception:
                    errors += 1
                done += 1
            counts[index] = [done, wrong, errors]

        threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    done, wrong, errors = (sum(c[i] for c in counts) for i in range(3))
    return done, wrong, errors


def _soak(evaluations: int) -> None:
    rulebook = load_rulebook()
    per_process = evaluations // PROCESSES
    with ProcessPoolExecutor(
        max_workers=PROCESSES, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        futures = [
            pool.submit(_soak_process, rulebook, per_process, seed) for seed in range(PROCESSES)
        ]
        results = [f.result() for f in futures]
    done = sum(r[0] for r in results)
    assert done == evaluations
    assert [r[1:] for r in results] == [(0, 0)] * PROCESSES  # no wrong results, no errors


def test_fifty_thousand_evaluations_across_threads_and_processes() -> None:
    _soak(50_000)


@pytest.mark.slow
def test_a_million_evaluations_across_threads_and_processes() -> None:
    _soak(1_000_000)


@pytest.mark.slow
def test_discuss_many_matches_discuss_on_twenty_thousand_cases() -> None:
    cases = random_cases(20_000, seed=2026)
    for index, got in enumerate(discuss_many(cases, processes=2)):
        assert got == discuss(cases[index], cache=False), index
