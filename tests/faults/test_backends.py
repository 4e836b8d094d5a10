"""Every engine backend, the same contract: the tests here run once per backend available on
this Python (`engine_name`), so the Python backend is held to what durable-rules is.

Choosing an engine is tested here too: one place chooses (`netaid.engines`), and every entry
point takes the choice the same way.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import netaid
from netaid import Case, EngineError, Rulebook, discuss, discuss_many, make_engine
from netaid._conditions import holds
from netaid.case import case_values
from netaid.check import ClassSpace
from netaid.cli import main
from netaid.engines import (
    ENGINE_NAMES,
    available_engines,
    default_engine_name,
    engine_factory,
)
from netaid.engines.python import PythonEngine, generated_source
from tests.conftest import ENGINES, MINI_RULES, REPO, random_cases

CASES = random_cases(2_000, seed=1313)


def _by_conditions(rulebook: Rulebook, case: Case) -> frozenset[str]:
    """The rules whose compiled condition trees hold, walked in plain Python."""
    values = case_values(case)
    return frozenset(r.id for r in rulebook.rules if holds(r.condition, values))


def test_each_backend_fires_what_the_conditions_say(
    engine_name: str, mini_rulebook: Rulebook, rulebook: Rulebook
) -> None:
    for book in (mini_rulebook, rulebook):
        with make_engine(book, engine_name) as engine:
            assert engine.name == engine_name
            for case in CASES:
                assert engine.fired_ids(case) == _by_conditions(book, case), case


def test_the_backends_agree_on_every_class_of_the_covering_set(rulebook: Rulebook) -> None:
    space = ClassSpace.build(rulebook)
    cases = [space.case(assignment) for assignment, _ in space.covering()]
    engines = [make_engine(rulebook, name) for name in ENGINES]
    try:
        for case in cases:
            answers = {engine.name: engine.fired_ids(case) for engine in engines}
            assert len(set(answers.values())) == 1, (case, answers)
    finally:
        for engine in engines:
            engine.close()
    assert len(cases) > 1_000


def test_evaluations_are_the_same_from_every_backend(mini_rulebook: Rulebook) -> None:
    engines = [make_engine(mini_rulebook, name) for name in ENGINES]
    for case in CASES[:300]:
        evaluations = [engine.evaluate(case) for engine in engines]
        assert all(e.fired == evaluations[0].fired for e in evaluations)
        assert [e.engine for e in evaluations] == list(ENGINES)


def test_threads_share_one_engine_of_each_backend(
    engine_name: str, mini_rulebook: Rulebook
) -> None:
    expected = [_by_conditions(mini_rulebook, c) for c in CASES]
    with make_engine(mini_rulebook, engine_name) as engine:

        def run(offset: int) -> bool:
            order = CASES[offset:] + CASES[:offset]
            wanted = expected[offset:] + expected[:offset]
            return all(engine.fired_ids(c) == w for c, w in zip(order, wanted, strict=True))

        with ThreadPoolExecutor(max_workers=6) as pool:
            assert all(pool.map(run, range(0, 600, 100)))


def test_a_closed_engine_of_each_backend_refuses_work(
    engine_name: str, mini_rulebook: Rulebook
) -> None:
    engine = make_engine(mini_rulebook, engine_name)
    engine.fired_ids(CASES[0])
    engine.close()
    engine.close()  # twice is harmless
    with pytest.raises(EngineError, match="closed"):
        engine.fired_ids(CASES[0])


def test_discuss_takes_a_name_a_factory_or_an_engine(
    engine_name: str, mini_rulebook: Rulebook
) -> None:
    case = CASES[5]
    by_name = discuss(case, engine=engine_name, cache=False)
    assert by_name.engine == engine_name
    with make_engine(mini_rulebook, engine_name) as engine:
        given = discuss(case, engine=engine, cache=False)
    assert given.engine == engine_name
    assert {p.id for p in given.points} == {
        p.id for p in discuss(case, engine=PythonEngine(mini_rulebook), cache=False).points
    }
    by_factory = discuss(case, engine=engine_factory(engine_name), cache=False)
    assert by_factory == by_name


def test_discuss_many_takes_the_engine_the_same_way(
    engine_name: str, mini_rulebook: Rulebook
) -> None:
    cases = CASES[:40]
    expected = [discuss(c, engine=make_engine(mini_rulebook, engine_name)) for c in cases]
    for processes in (1, 2):
        got = list(
            discuss_many(cases, processes=processes, rulebook=mini_rulebook, engine=engine_name)
        )
        assert got == expected
        assert {d.engine for d in got} == {engine_name}


def test_discuss_many_across_processes_builds_the_backend_of_an_engine_given(
    mini_rulebook: Rulebook,
) -> None:
    with make_engine(mini_rulebook, "python") as engine:
        got = list(discuss_many(CASES[:20], processes=2, engine=engine))
        expected = [discuss(c, engine=engine) for c in CASES[:20]]
    assert {d.engine for d in got} == {"python"}
    assert got == expected


def test_an_unknown_engine_is_an_engine_error_naming_the_engines(mini_rulebook: Rulebook) -> None:
    with pytest.raises(EngineError, match=r"unknown engine 'drools' \(engines: durable, python\)"):
        make_engine(mini_rulebook, "drools")
    with pytest.raises(EngineError, match="unknown engine"):
        discuss(CASES[0], engine="drools")
    with pytest.raises(EngineError, match="unknown engine"):
        next(iter(discuss_many(CASES[:2], processes=2, engine="drools")))


def test_an_engine_built_for_another_rulebook_is_refused(
    mini_rulebook: Rulebook, rulebook: Rulebook
) -> None:
    with make_engine(rulebook, "python") as engine, pytest.raises(EngineError, match="another"):
        make_engine(mini_rulebook, engine)


def test_the_default_is_durable_where_it_runs_and_the_environment_overrides_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NETAID_ENGINE", raising=False)
    assert default_engine_name() == ("durable" if "durable" in ENGINES else "python")
    assert available_engines()[0] == default_engine_name()
    assert set(available_engines()) <= set(ENGINE_NAMES)
    assert "python" in available_engines()  # it runs everywhere
    monkeypatch.setenv("NETAID_ENGINE", "python")
    assert default_engine_name() == "python"
    monkeypatch.setenv("NETAID_ENGINE", "clips")
    with pytest.raises(EngineError, match="NETAID_ENGINE: unknown engine 'clips'"):
        default_engine_name()


@pytest.mark.skipif("durable" in ENGINES, reason="durable-rules runs on this Python")
def test_without_durable_rules_asking_for_it_says_why(mini_rulebook: Rulebook) -> None:
    with pytest.raises(EngineError, match="not available on this Python"):
        make_engine(mini_rulebook, "durable")
    assert main(["discuss", "--site", "lung", "--engine", "durable"]) == 2


def test_the_cli_takes_engine_and_says_which_it_used(
    engine_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["discuss", "--site", "lung", "--stage", "metastatic", "--engine", engine_name]
    assert main([*argv, "--rules", str(MINI_RULES)]) == 0
    assert f", {engine_name} engine, as of " in capsys.readouterr().out
    assert main([*argv, "--format", "markdown"]) == 0
    assert f", {engine_name} engine, as of " in capsys.readouterr().out
    assert main(["check", "--rules", str(MINI_RULES), "--engine", engine_name]) == 0
    assert f"engines ({engine_name}): agree" in capsys.readouterr().out


def test_version_names_the_engine() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "netaid", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    line = done.stdout.strip()
    assert line.startswith(f"netaid {netaid.__version__} (engine: {default_engine_name()}; ")
    assert f"available: {', '.join(ENGINES)}" in line


def test_the_generated_source_holds_no_text_of_the_rule_files(rulebook: Rulebook) -> None:
    # Rule ids and values are constants of the namespace, never spliced into the code.
    source, namespace = generated_source(rulebook)
    for rule in rulebook.rules:
        assert rule.id not in source
    assert "'" not in source
    assert '"' not in source
    assert all(name.startswith("_k") for name in namespace)


def test_the_python_backend_is_safe_to_build_concurrently(mini_rulebook: Rulebook) -> None:
    built: list[PythonEngine] = []
    lock = threading.Lock()

    def build() -> None:
        engine = PythonEngine(mini_rulebook)
        with lock:
            built.append(engine)

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers = {frozenset(e.fired_ids(c) for c in CASES[:50]) for e in built}
    assert len(answers) == 1


@pytest.mark.parametrize(
    "broken",
    [
        {"site": "atlantis"},
        {"site": "lung", "grade": "G9"},
        {"site": "lung", "metastases": frozenset({"brain"})},
        {"site": "lung", "metastases": ["liver"]},
    ],
)
def test_a_case_no_backend_can_spell_is_an_engine_error(
    engine_name: str, mini_rulebook: Rulebook, broken: dict[str, object]
) -> None:
    case = Case.model_construct(**broken)  # unvalidated: it can hold anything
    with make_engine(mini_rulebook, engine_name) as engine:
        with pytest.raises(EngineError, match="does not know"):
            engine.fired_ids(case)
        assert engine.fired_ids(CASES[0]) == _by_conditions(mini_rulebook, CASES[0])
