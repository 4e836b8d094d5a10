"""Failures of the durable-rules C engine, provoked: each reaches the caller as an EngineError
(a NetaidError), never as a bare C error or a crash, and the engine is rebuilt and right again.

The crash-prone ones also run in a child process, where a segmentation fault would show as
the child's exit status instead of ending the test run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import netaid
from netaid import Case, DurableEngine, EngineError, NetaidError, PythonEngine, Rulebook, Syndrome
from netaid.engines.durable import plan_rulesets
from tests.conftest import REPO, needs_durable, random_cases
from tests.unit.test_engine import _many_rules_book

CASES = random_cases(300, seed=606)
BASE = Case(site="colon")
ALL_SYNDROMES = Case(site="colon", syndromes=list(Syndrome))


# This module tests the durable backend itself, whatever the default engine is.
pytestmark = needs_durable


@pytest.fixture(scope="module")
def mini_engine(mini_rulebook: Rulebook) -> Iterator[DurableEngine]:
    with DurableEngine(mini_rulebook) as engine:
        yield engine


@pytest.fixture(scope="module")
def engine(rulebook: Rulebook) -> Iterator[DurableEngine]:
    with DurableEngine(rulebook) as engine:
        yield engine


def _assert_right(engine: DurableEngine, rulebook: Rulebook) -> None:
    reference = PythonEngine(rulebook)
    for case in CASES:
        assert engine.fired_ids(case) == reference.fired_ids(case)


@pytest.fixture
def unsplit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DurableEngine]:
    """An engine whose 67 rules share one ruleset: BASE matches all 67 tests, error 303."""
    book = _many_rules_book(tmp_path)
    monkeypatch.setattr(plan_rulesets, "__defaults__", (10_000,))
    monkeypatch.setattr("netaid.engines.durable.MAX_MATCH_PATHS", 10_000)
    with DurableEngine(book) as engine:
        assert len(engine.plan) == 1
        yield engine


def test_error_303_reaches_discuss_as_an_engine_error(unsplit: DurableEngine) -> None:
    with pytest.raises(EngineError, match="error code: 303") as caught:
        netaid.discuss(BASE, engine=unsplit, cache=False)
    assert isinstance(caught.value, NetaidError)
    # Rebuilt: the next case is right, and the failing one fails the same way again.
    expected = PythonEngine(unsplit.rulebook).fired_ids(ALL_SYNDROMES)
    discussion = netaid.discuss(ALL_SYNDROMES, engine=unsplit, cache=False)
    assert {p.id for p in discussion.points} | {n.id for n in discussion.notes} == expected
    assert unsplit.fired_ids(ALL_SYNDROMES) == expected
    for _ in range(3):
        with pytest.raises(EngineError, match="303"):
            unsplit.fired_ids(BASE)
        assert unsplit.fired_ids(ALL_SYNDROMES) == expected


def test_a_corrupted_handle_is_an_engine_error_and_the_engine_is_rebuilt(
    mini_rulebook: Rulebook,
) -> None:
    with DurableEngine(mini_rulebook) as engine:
        engine._handles[0] = 987_654
        with pytest.raises(EngineError, match="error code: 111"):
            engine.fired_ids(CASES[0])
        assert engine._handles[0] != 987_654
        _assert_right(engine, mini_rulebook)


def test_a_ruleset_deleted_behind_the_engines_back(mini_rulebook: Rulebook) -> None:
    with DurableEngine(mini_rulebook) as engine:
        engine._c.delete_ruleset(engine._handles[0])
        with pytest.raises(EngineError):
            engine.fired_ids(CASES[0])
        _assert_right(engine, mini_rulebook)


def test_another_engines_ruleset_cannot_pass_for_ours(mini_rulebook: Rulebook) -> None:
    # Rule names are unique to each engine, so a swapped handle is caught, not believed.
    with DurableEngine(mini_rulebook) as ours, DurableEngine(mini_rulebook) as theirs:
        ours._handles[0] = theirs._handles[0]
        with pytest.raises(EngineError, match="unknown rule"):
            ours.fired_ids(Case(site="lung", stage="localized"))
        _assert_right(ours, mini_rulebook)
        # Ours discarded what it held, their ruleset too: they fail once, then rebuild.
        with pytest.raises(EngineError, match="error code: 111"):
            theirs.fired_ids(Case(site="lung"))
        _assert_right(theirs, mini_rulebook)


def test_a_fact_left_behind_is_detected(mini_rulebook: Rulebook) -> None:
    # durable-rules refuses an identical fact while one is asserted (MessageObserved).
    with DurableEngine(mini_rulebook) as engine:
        case = Case(site="lung", stage="localized")
        engine._c.assert_fact(engine._handles[0], engine._schema.encode(case))
        with pytest.raises(EngineError, match="still holds a fact"):
            engine.fired_ids(case)
        _assert_right(engine, mini_rulebook)


class _FailingC:
    """The durable_rules_engine module, whose function `name` fails `failures` times once
    armed."""

    def __init__(self, real: Any, name: str, error: BaseException, failures: int = 1) -> None:
        self._real, self._name, self._error = real, name, error
        self.failures = failures
        self.armed = False

    def __getattr__(self, attribute: str) -> Any:
        function = getattr(self._real, attribute)
        if attribute != self._name:
            return function

        def wrapper(*args: Any) -> Any:
            if self.armed and self.failures > 0:
                self.failures -= 1
                raise self._error
            return function(*args)

        return wrapper


@pytest.mark.parametrize(
    ("function", "error"),
    [
        ("assert_fact", MemoryError()),
        ("start_action_for_state", RuntimeError("Could not start action, error code: 1")),
        ("complete_and_start_action", OSError("boom")),
        ("retract_fact", ValueError("Could not retract fact, error code: 302")),
    ],
)
def test_any_failure_of_a_c_call_becomes_an_engine_error(
    mini_rulebook: Rulebook, function: str, error: BaseException
) -> None:
    with DurableEngine(mini_rulebook) as engine:
        failing = _FailingC(engine._c, function, error)
        engine._c = failing
        case = Case(site="lung", stage="metastatic", syndromes=["carcinoid_syndrome"])
        expected = PythonEngine(mini_rulebook).fired_ids(case)
        assert engine.fired_ids(case) == expected
        failing.armed = True
        with pytest.raises(EngineError, match="durable-rules failed"):
            engine.fired_ids(case)
        assert failing.failures == 0
        assert engine.fired_ids(case) == expected
        _assert_right(engine, mini_rulebook)


def test_a_failed_rebuild_never_evaluates_on_nothing(mini_rulebook: Rulebook) -> None:
    with DurableEngine(mini_rulebook) as engine:
        real = engine._c
        failing = _FailingC(real, "create_ruleset", RuntimeError("no memory"), failures=2)
        failing.armed = True
        engine._c = failing
        engine._handles[0] = 987_654
        with pytest.raises(EngineError):  # the case fails, and so does the rebuild
            engine.fired_ids(CASES[0])
        assert engine._handles == []
        with pytest.raises(EngineError, match="refused the rulebook"):  # not an empty answer
            engine.fired_ids(CASES[0])
        _assert_right(engine, mini_rulebook)  # the third build succeeds


def test_durable_rules_refusing_the_rulebook_is_an_engine_error(
    mini_rulebook: Rulebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    import durable_rules_engine

    def refuse(name: str, definition: str) -> int:
        raise durable_rules_engine.error("Could not create ruleset, error code: 113")

    monkeypatch.setattr(durable_rules_engine, "create_ruleset", refuse)
    with pytest.raises(EngineError, match=r"refused the rulebook: .*113"):
        DurableEngine(mini_rulebook)


def test_a_case_the_engine_cannot_spell_is_an_engine_error(mini_engine: DurableEngine) -> None:
    # model_construct skips validation, so a Case can hold anything.
    with pytest.raises(EngineError, match="does not know"):
        mini_engine.fired_ids(Case.model_construct(site="atlantis"))
    assert mini_engine.fired_ids(Case(site="lung")) == PythonEngine(mini_engine.rulebook).fired_ids(
        Case(site="lung")
    )


_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    import pytest
    import netaid
    from netaid import Case, DurableEngine, EngineError, PythonEngine, Syndrome
    from netaid.engines.durable import plan_rulesets
    from tests.unit.test_engine import _many_rules_book

    book = _many_rules_book(Path({tmp!r}))
    plan_rulesets.__defaults__ = (10_000,)
    import netaid.engines.durable
    netaid.engines.durable.MAX_MATCH_PATHS = 10_000
    engine = DurableEngine(book)
    reference = PythonEngine(book)
    outcomes = []
    for round in range(50):
        for case in (Case(site="colon"), Case(site="colon", syndromes=list(Syndrome))):
            try:
                outcomes.append(engine.fired_ids(case) == reference.fired_ids(case))
            except EngineError as exc:
                outcomes.append("303" in str(exc))
        engine._handles[0] = 10_000 + round
        try:
            engine.fired_ids(Case(site="lung"))
        except EngineError:
            outcomes.append(True)
        engine._c.delete_ruleset(engine._handles[0])
        try:
            engine.fired_ids(Case(site="lung"))
        except EngineError:
            outcomes.append(True)
    engine.close()
    engine.close()
    print(sum(outcomes), len(outcomes))
    """
)


def test_provoked_failures_never_crash_the_process(tmp_path: Path) -> None:
    child = _CHILD.format(repo=str(REPO), tmp=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-2000:]  # a segfault would be -11
    right, total = map(int, done.stdout.split())
    assert right == total == 200


def test_the_cli_reports_an_engine_failure_as_an_error_not_a_traceback(tmp_path: Path) -> None:
    book = tmp_path / "many"
    _many_rules_book(tmp_path)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from netaid.engines.durable import plan_rulesets
        import netaid.engines.durable
        plan_rulesets.__defaults__ = (10_000,)
        netaid.engines.durable.MAX_MATCH_PATHS = 10_000
        from netaid.cli import main
        argv = ["discuss", "--site", "colon", "--engine", "durable", "--rules", {str(book)!r}]
        sys.exit(main(argv))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("netaid: error: "), done.stderr
    assert "303" in done.stderr
    assert "Traceback" not in done.stderr
