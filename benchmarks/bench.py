"""netaid's benchmark: prints every figure docs/performance.md records.

    make bench                                  # everything (discuss_many takes a while)
    .venv/bin/python benchmarks/bench.py --many 20000 --json figures.json

Sections: the machine; the rulebook and how the durable engine holds it; cold evaluation
through both engine backends side by side (durable-rules where it runs, and the Python
backend), with the condition trees walked in plain Python for scale; warm evaluation with the
discussion cache; memory over 100,000 evaluations; the `netaid discuss` command as a whole
process against a bare import baseline; discuss_many at 1 and 2 processes.

The cases: a fixed, seeded sample of valid cases (`netaid.vignettes.draw_cases`, seeds 1, 2,
...; the joint class space is far too large to enumerate), and the covering set of
`netaid.check.ClassSpace`, which contains every class of every independent part of the space.
Timings are medians of interleaved rounds, so that a busy machine slows every contender alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import netaid
from netaid import Case, Engine, discuss, discuss_many, load_rulebook, make_engine
from netaid._conditions import holds
from netaid.case import case_values
from netaid.engines import available_engines, default_engine_name
from netaid.vignettes import draw_cases

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EXAMPLE = REPO / "examples" / "pancreas-insulinoma-metastatic.yaml"
FIGURES: dict[str, Any] = {}


def say(text: str = "") -> None:
    print(text, flush=True)


def record(key: str, value: Any) -> Any:
    FIGURES[key] = value
    return value


def sample(count: int, first_seed: int = 1) -> list[Case]:
    """`count` seeded valid cases, 10,000 per seed: any valid case, flagged ones too (the
    engine must be fast for every case, not only for the coherent ones vignettes show)."""
    cases: list[Case] = []
    seed = first_seed
    while len(cases) < count:
        cases += draw_cases(min(10_000, count - len(cases)), seed=seed, coherent=False)
        seed += 1
    return cases


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds used by this process and by its finished children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- sections ---


def machine() -> None:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    info = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "durable_rules": _version("durable_rules"),
        "engines": ", ".join(available_engines()),
        "default_engine": default_engine_name(),
        "pydantic": metadata.version("pydantic"),
        "netaid": netaid.__version__,
        "load_average_at_start": round(load, 2),
    }
    record("machine", info)
    say("## Machine")
    for key, value in info.items():
        say(f"- {key}: {value}")


def rulebook_section() -> tuple[netaid.Rulebook, dict[str, Engine]]:
    """The rulebook, and one engine of every backend available here (the default first)."""
    loads = []
    for _ in range(5):
        started = time.perf_counter()
        rulebook = load_rulebook()
        loads.append(time.perf_counter() - started)
    unconditional = sum(1 for r in rulebook.rules if type(r.condition).__name__ == "Always")
    info: dict[str, Any] = {
        "rules": len(rulebook),
        "rules_without_condition": unconditional,
        "load_ms": round(statistics.median(loads) * 1000, 1),
    }
    engines: dict[str, Engine] = {}
    for name in available_engines():
        builds = []
        for _ in range(5):
            started = time.perf_counter()
            make_engine(rulebook, name).close()
            builds.append(time.perf_counter() - started)
        info[f"{name}_build_ms"] = round(statistics.median(builds) * 1000, 1)
        engines[name] = make_engine(rulebook, name)
    say("\n## Rulebook")
    say(f"- {info['rules']} rules ({info['rules_without_condition']} without a condition)")
    durable = engines.get("durable")
    if durable is not None:
        from netaid.engines.durable import plan_rulesets

        info["durable_rules"] = sum(len(ruleset) for ruleset in durable.layout)
        info["rulesets"] = len(durable.layout)
        info["rulesets_conservative_plan"] = len(plan_rulesets(rulebook.rules))
        info["match_stack_need"] = max(
            durable.stack_need(ids[0] for ids in ruleset) for ruleset in durable.layout
        )
        say(
            f"- durable: {info['durable_rules']} distinct durable-rules rules in "
            f"{info['rulesets']} ruleset(s) (the conservative plan alone: "
            f"{info['rulesets_conservative_plan']}); largest match-stack need: "
            f"{info['match_stack_need']} of 64"
        )
    record("rulebook", info)
    builds = "; ".join(f"{n} engine built in {info[f'{n}_build_ms']} ms" for n in engines)
    say(f"- load_rulebook: {info['load_ms']} ms; {builds}")
    return rulebook, engines


def _timed(function: Callable[[Case], object], cases: Sequence[Case]) -> tuple[float, list[int]]:
    clock = time.perf_counter_ns
    latencies = []
    started = time.perf_counter()
    for case in cases:
        before = clock()
        function(case)
        latencies.append(clock() - before)
    return time.perf_counter() - started, latencies


def _percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


def _tree_walk(rulebook: netaid.Rulebook) -> Callable[[Case], frozenset[str]]:
    """Every rule's condition tree walked per case: plain Python without compiling."""
    rules = [(r.id, r.condition) for r in rulebook.rules]

    def fired_ids(case: Case) -> frozenset[str]:
        values = case_values(case)
        return frozenset(rule_id for rule_id, condition in rules if holds(condition, values))

    return fired_ids


def cold(
    rulebook: netaid.Rulebook,
    engines: dict[str, Engine],
    cases: list[Case],
    label: str,
    rounds: int,
) -> None:
    contenders: dict[str, Callable[[Case], object]] = {
        f"{name} engine (fired_ids)": engine.fired_ids for name, engine in engines.items()
    }
    walk = _tree_walk(rulebook)
    contenders["condition trees walked (for scale)"] = walk
    wrong = sum(len({e.fired_ids(c) for e in engines.values()} | {walk(c)}) > 1 for c in cases)
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    latencies: dict[str, list[int]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, function in contenders.items():
            seconds, times = _timed(function, cases)
            rates[name].append(len(cases) / seconds)
            latencies[name] += times
    say(f"\n## Cold evaluation: {label} ({len(cases):,} cases, median of {rounds} rounds)")
    say(f"- cases on which the evaluators disagree: {wrong}")
    say("| evaluator | cases/s | p50 µs | p99 µs |")
    say("|---|---:|---:|---:|")
    result: dict[str, Any] = {"cases": len(cases), "rounds": rounds, "disagreements": wrong}
    for name in contenders:
        rate = statistics.median(rates[name])
        p50, p99 = _percentile(latencies[name], 0.5), _percentile(latencies[name], 0.99)
        say(f"| {name} | {rate:,.0f} | {p50:,.0f} | {p99:,.0f} |")
        result[name] = {"cases_per_s": round(rate), "p50_us": round(p50), "p99_us": round(p99)}

    def ratio(one: str, other: str) -> float:
        pairs = zip(rates[one], rates[other], strict=True)
        return statistics.median(a / b for a, b in pairs)

    if "durable" in engines and "python" in engines:
        speedup = ratio("python engine (fired_ids)", "durable engine (fired_ids)")
        result["python_over_durable"] = round(speedup, 2)
        say(f"- python engine / durable engine: {speedup:.2f}× (target ≥ 3)")
    # The rest of a discussion, for scale (no cache).
    subset = cases[:2_000]
    for name, engine in engines.items():
        seconds, _ = _timed(engine.evaluate, subset)
        result[f"{name}_evaluate_cases_per_s"] = round(len(subset) / seconds)
        seconds, _ = _timed(lambda c, e=engine: discuss(c, engine=e, cache=False), subset[:500])
        result[f"{name}_discuss_uncached_cases_per_s"] = round(500 / seconds)
        say(
            f"- {name}: evaluate() (with reasons) {result[f'{name}_evaluate_cases_per_s']:,} "
            f"cases/s; discuss() without cache "
            f"{result[f'{name}_discuss_uncached_cases_per_s']:,} cases/s"
        )
    fired = statistics.mean(len(walk(c)) for c in cases)
    result["mean_rules_fired"] = round(fired, 1)
    say(f"- mean rules fired per case: {fired:.1f}")
    record(f"cold_{label.split()[0]}", result)


def warm(engine: Engine, cases: list[Case], calls: int) -> None:
    profiles = cases[:100]
    for case in profiles:
        discuss(case, engine=engine)
    repeated = [profiles[i % len(profiles)] for i in range(calls)]
    started = time.perf_counter()
    for case in repeated:
        discuss(case, engine=engine)
    same = calls / (time.perf_counter() - started)
    copies = [
        Case.model_validate(p.model_dump(exclude_unset=True)) for p in profiles for _ in range(20)
    ]
    repeated = [copies[i % len(copies)] for i in range(calls)]
    started = time.perf_counter()
    for case in repeated:
        discuss(case, engine=engine)
    equal = calls / (time.perf_counter() - started)
    record(
        f"warm_{engine.name}",
        {"same_objects": round(same), "equal_copies": round(equal), "calls": calls},
    )
    say(
        f"\n## Warm evaluation, {engine.name} engine (cache on, 100 profiles repeated, "
        f"{calls:,} discuss() calls)"
    )
    say(f"- the same Case objects again: {same:,.0f} cases/s (target ≥ 100,000)")
    say(f"- equal Case objects built anew: {equal:,.0f} cases/s")


def memory(rulebook: netaid.Rulebook, cases: list[Case], name: str) -> None:
    engine = make_engine(rulebook, name)
    for i in range(10_000):
        engine.evaluate(cases[i % len(cases)])
    gc.collect()
    before = rss_mb()
    for i in range(100_000):
        engine.evaluate(cases[i % len(cases)])
    gc.collect()
    after = rss_mb()
    engine.close()
    record(f"rss_{name}", {"before_mb": round(before, 2), "after_mb": round(after, 2)})
    say(
        f"\n## Memory, {name} engine (a fresh engine; RSS after 10,000 evaluations, then "
        "after 100,000 more)"
    )
    say(f"- {before:.2f} MB → {after:.2f} MB: {after - before:+.2f} MB (target < 2 MB)")


def _interleaved_medians(
    commands: dict[str, tuple[list[str], dict[str, str] | None]], runs: int
) -> dict[str, float]:
    # Round-robin, so a burst of load on a shared machine slows every contender alike instead
    # of skewing the ratio.
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (argv, env) in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=REPO, env=env)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


# The floor for any command built on pydantic models: the baseline plus one trivial model class,
# whose creation imports pydantic's model machinery, pydantic.types, annotated_types and the
# plugin loader's importlib.metadata.
# The baseline imports what netaid's own dependencies are here (durable-rules only where it runs).
_BASELINE = "import pydantic, yaml" + (
    ", durable.engine" if "durable" in available_engines() else ""
)
_ONE_MODEL = (
    _BASELINE
    + """
from pydantic import BaseModel
class One(BaseModel):
    x: int
"""
)

_PHASES = """
import json, time
t0 = time.perf_counter()
import netaid
t1 = time.perf_counter()
rulebook = netaid.load_rulebook()
t2 = time.perf_counter()
engine = netaid.make_engine(rulebook)
t3 = time.perf_counter()
discussion = netaid.discuss(netaid.load_case({example!r}), engine=engine)
t4 = time.perf_counter()
netaid.render(discussion, "text")
t5 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4]))
"""


def cli(runs: int) -> None:
    python = str(BIN / "python")
    # An installed wheel is byte-compiled by pip; an editable install writes its bytecode on
    # first use, unless PYTHONDONTWRITEBYTECODE is set (as on some CI machines). Compile it
    # here so every contender starts from bytecode, as pydantic and PyYAML do.
    subprocess.run(
        [python, "-m", "compileall", "-q", str(Path(netaid.__file__).parent)], check=True
    )
    discuss_argv = [str(BIN / "netaid"), "discuss", str(EXAMPLE)]
    subprocess.run(discuss_argv, check=True, stdout=subprocess.DEVNULL)  # fills the rule cache
    whole = _interleaved_medians(
        {
            "baseline": ([python, "-c", _BASELINE], None),
            "command": (discuss_argv, None),
            "uncached": (discuss_argv, {**os.environ, "NETAID_CACHE_DIR": ""}),
            "python_engine": ([*discuss_argv, "--engine", "python"], None),
            "import_only": ([python, "-c", "import netaid.cli"], None),
            "one_model": ([python, "-c", _ONE_MODEL], None),
        },
        runs,
    )
    baseline, command = whole["baseline"], whole["command"]
    uncached, import_only = whole["uncached"], whole["import_only"]
    one_model, python_engine = whole["one_model"], whole["python_engine"]
    phases = []
    for _ in range(runs):
        done = subprocess.run(
            [python, "-c", _PHASES.format(example=str(EXAMPLE))],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        phases.append(json.loads(done.stdout))
    names = ["import netaid", "load_rulebook", "make_engine", "discuss", "render"]
    medians = {n: statistics.median(p[i] for p in phases) for i, n in enumerate(names)}
    record(
        "cli",
        {
            "baseline_s": round(baseline, 3),
            "netaid_discuss_s": round(command, 3),
            "ratio": round(command / baseline, 2),
            "netaid_discuss_without_rule_cache_s": round(uncached, 3),
            "import_netaid_cli_s": round(import_only, 3),
            "netaid_discuss_python_engine_s": round(python_engine, 3),
            "baseline_plus_one_model_s": round(one_model, 3),
            "phases_s": {n: round(v, 4) for n, v in medians.items()},
        },
    )
    say(f"\n## Command line (median of {runs} interleaved runs, whole processes)")
    say(f'- baseline `python -c "{_BASELINE}"`: {baseline:.3f} s')
    say(f"- `netaid discuss {EXAMPLE.relative_to(REPO)}`: {command:.3f} s")
    say(f"- ratio: {command / baseline:.2f} (target < 2)")
    say(f"- the same with the rule-file cache off (NETAID_CACHE_DIR=''): {uncached:.3f} s")
    say(f"- the same with --engine python: {python_engine:.3f} s")
    say(f'- `python -c "import netaid.cli"` alone: {import_only:.3f} s')
    say(
        f"- the baseline plus one trivial pydantic model class: {one_model:.3f} s "
        f"({one_model / baseline:.2f}× the baseline)"
    )
    say("- in-process phases: " + ", ".join(f"{n} {v * 1000:.0f} ms" for n, v in medians.items()))


def many(count: int, pool: list[Case]) -> None:
    # The input is the seeded sample, cycled: drawing fresh cases costs the parent ~100 µs
    # each, as much as a worker's evaluation, and on two cores would be measured in place of
    # discuss_many. No case recurs within len(pool) cases, far beyond discuss()'s cache.
    say(
        f"\n## discuss_many on {count:,} cases (the {len(pool):,}-case sample cycled; "
        "cache on as by default)"
    )
    results = {}
    for processes in (1, 2):
        before = rss_mb()
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        points = 0
        cases = itertools.islice(itertools.cycle(pool), count)
        for discussion in discuss_many(cases, processes=processes):
            points += len(discussion.points)
        seconds = time.perf_counter() - started
        parent_cpu, workers_cpu = (b - a for a, b in zip(cpu_before, _cpu_seconds(), strict=True))
        after = rss_mb()
        results[processes] = {
            "seconds": round(seconds, 1),
            "cases_per_s": round(count / seconds),
            "parent_rss_before_mb": round(before, 1),
            "parent_rss_after_mb": round(after, 1),
            "parent_cpu_us_per_case": round(parent_cpu / count * 1e6),
            "workers_cpu_us_per_case": round(workers_cpu / count * 1e6),
            "points": points,
        }
        say(
            f"- processes={processes}: {seconds:,.1f} s, {count / seconds:,.0f} cases/s "
            f"(parent RSS {before:.0f} → {after:.0f} MB; CPU per case: parent "
            f"{parent_cpu / count * 1e6:.0f} µs, workers {workers_cpu / count * 1e6:.0f} µs)"
        )
    speedup = results[2]["cases_per_s"] / results[1]["cases_per_s"]
    say(f"- speed-up of 2 processes over 1: {speedup:.2f}×")
    record("discuss_many", {"cases": count, "by_processes": results, "speedup": round(speedup, 2)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=20_000, help="seeded sample size")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument(
        "--many", type=int, default=200_000, help="cases for discuss_many (0: skip)"
    )
    parser.add_argument("--warm-calls", type=int, default=200_000)
    parser.add_argument("--cli-runs", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--fhir", action="store_true", help="also time FHIR bundles (needs netaid[fhir])"
    )
    parser.add_argument("--fhir-only", action="store_true", help="only the FHIR section")
    parser.add_argument(
        "--serve", action="store_true", help="also time the service (needs netaid[serve])"
    )
    parser.add_argument("--serve-only", action="store_true", help="only the service section")
    args = parser.parse_args(argv)
    if args.serve_only:
        from serve_bench import serve_section

        record("serve", serve_section(say))
        if args.json:
            args.json.write_text(json.dumps(FIGURES, indent=2) + "\n", encoding="utf-8")
        return 0
    if args.fhir_only:
        from fhir_bench import fhir_section

        record("fhir", fhir_section(say))
        if args.json:
            args.json.write_text(json.dumps(FIGURES, indent=2) + "\n", encoding="utf-8")
        return 0

    machine()
    rulebook, engines = rulebook_section()
    cases = sample(args.sample)
    cold(rulebook, engines, cases, f"sample of {len(cases):,} seeded cases", args.rounds)
    from netaid.check import ClassSpace

    space = ClassSpace.build(rulebook)
    covering = [space.case(assignment) for assignment, _ in space.covering()]
    cold(rulebook, engines, covering, "covering set of the class space", args.rounds)
    for engine in engines.values():
        warm(engine, cases, args.warm_calls)
    for name in engines:
        memory(rulebook, cases, name)
    cli(args.cli_runs)
    if args.many:
        many(args.many, cases)
    if args.fhir:
        from fhir_bench import fhir_section

        record("fhir", fhir_section(say))
    if args.serve:
        from serve_bench import serve_section

        record("serve", serve_section(say))
    if args.json:
        args.json.write_text(json.dumps(FIGURES, indent=2) + "\n", encoding="utf-8")
        say(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
