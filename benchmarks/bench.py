"""netaid's benchmark: prints every figure docs/performance.md records.

    make bench                                  # everything (discuss_many takes a while)
    .venv/bin/python benchmarks/bench.py --many 20000 --json figures.json

Sections: the machine; the rulebook and how the engine holds it; cold evaluation through the
durable-rules engine against plain-Python evaluators of the same conditions; warm evaluation
with the discussion cache; memory over 100,000 evaluations; the `netaid discuss` command as a
whole process against a bare import baseline; discuss_many at 1 and 2 processes.

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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference import compile_rulebook

import netaid
from netaid import Case, DurableEngine, PythonEngine, discuss, discuss_many, load_rulebook
from netaid.engine import match_stack_need, plan_rulesets
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
        "durable_rules": metadata.version("durable_rules"),
        "pydantic": metadata.version("pydantic"),
        "netaid": netaid.__version__,
        "load_average_at_start": round(load, 2),
    }
    record("machine", info)
    say("## Machine")
    for key, value in info.items():
        say(f"- {key}: {value}")


def rulebook_section() -> tuple[netaid.Rulebook, DurableEngine]:
    loads = []
    for _ in range(5):
        started = time.perf_counter()
        rulebook = load_rulebook()
        loads.append(time.perf_counter() - started)
    builds = []
    for _ in range(5):
        started = time.perf_counter()
        engine = DurableEngine(rulebook)
        builds.append(time.perf_counter() - started)
        engine.close()
    engine = DurableEngine(rulebook)
    unconditional = sum(1 for r in rulebook.rules if type(r.condition).__name__ == "Always")
    info = {
        "rules": len(rulebook),
        "rules_without_condition": unconditional,
        "durable_rules": sum(len(ruleset) for ruleset in engine.layout),
        "rulesets": len(engine.plan),
        "rulesets_conservative_plan": len(plan_rulesets(rulebook.rules)),
        "match_stack_need": max(
            match_stack_need(rulebook.rule(ids[0]) for ids in ruleset) for ruleset in engine.layout
        ),
        "load_ms": round(statistics.median(loads) * 1000, 1),
        "engine_build_ms": round(statistics.median(builds) * 1000, 1),
    }
    record("rulebook", info)
    say("\n## Rulebook")
    say(
        f"- {info['rules']} rules ({info['rules_without_condition']} without a condition), "
        f"{info['durable_rules']} distinct durable-rules rules"
    )
    say(
        f"- {info['rulesets']} ruleset(s) (the conservative plan alone: "
        f"{info['rulesets_conservative_plan']}); largest match-stack need: "
        f"{info['match_stack_need']} of 64"
    )
    say(f"- load_rulebook: {info['load_ms']} ms; DurableEngine(...): {info['engine_build_ms']} ms")
    return rulebook, engine


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


def cold(
    rulebook: netaid.Rulebook, engine: DurableEngine, cases: list[Case], label: str, rounds: int
) -> None:
    python = PythonEngine(rulebook)
    compiled = compile_rulebook(rulebook)
    contenders: dict[str, Callable[[Case], object]] = {
        "durable-rules engine (fired_ids)": engine.fired_ids,
        "PythonEngine (fired_ids)": python.fired_ids,
        "generated Python function": compiled,
    }
    wrong = sum(
        engine.fired_ids(c) != python.fired_ids(c) or compiled(c) != python.fired_ids(c)
        for c in cases
    )
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    latencies: dict[str, list[int]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, function in contenders.items():
            seconds, times = _timed(function, cases)
            rates[name].append(len(cases) / seconds)
            latencies[name] += times
    say(f"\n## Cold evaluation: {label} ({len(cases):,} cases, median of {rounds} rounds)")
    say(f"- disagreements between the three: {wrong}")
    say("| evaluator | cases/s | p50 µs | p99 µs |")
    say("|---|---:|---:|---:|")
    result = {"cases": len(cases), "rounds": rounds, "disagreements": wrong}
    for name in contenders:
        rate = statistics.median(rates[name])
        p50, p99 = _percentile(latencies[name], 0.5), _percentile(latencies[name], 0.99)
        say(f"| {name} | {rate:,.0f} | {p50:,.0f} | {p99:,.0f} |")
        result[name] = {"cases_per_s": round(rate), "p50_us": round(p50), "p99_us": round(p99)}

    def engine_over(other: str) -> float:
        pairs = zip(rates["durable-rules engine (fired_ids)"], rates[other], strict=True)
        return statistics.median(d / p for d, p in pairs)

    ratio = engine_over("PythonEngine (fired_ids)")
    ratio_compiled = engine_over("generated Python function")
    result["ratio_vs_PythonEngine"] = round(ratio, 2)
    result["ratio_vs_generated"] = round(ratio_compiled, 2)
    say(
        f"- durable-rules engine / PythonEngine: {ratio:.2f} (target ≥ 0.5); "
        f"/ generated Python function: {ratio_compiled:.2f}"
    )
    # The rest of a discussion, for scale (no cache).
    subset = cases[:2_000]
    seconds, _ = _timed(engine.evaluate, subset)
    result["evaluate_cases_per_s"] = round(len(subset) / seconds)
    seconds, _ = _timed(lambda c: discuss(c, engine=engine, cache=False), subset[:500])
    result["discuss_uncached_cases_per_s"] = round(500 / seconds)
    fired = statistics.mean(len(python.fired_ids(c)) for c in cases)
    result["mean_rules_fired"] = round(fired, 1)
    say(
        f"- mean rules fired per case: {fired:.1f}; evaluate() (with reasons): "
        f"{result['evaluate_cases_per_s']:,} cases/s; discuss() without cache: "
        f"{result['discuss_uncached_cases_per_s']:,} cases/s"
    )
    record(f"cold_{label.split()[0]}", result)


def warm(engine: DurableEngine, cases: list[Case], calls: int) -> None:
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
    record("warm", {"same_objects": round(same), "equal_copies": round(equal), "calls": calls})
    say(f"\n## Warm evaluation (cache on, 100 profiles repeated, {calls:,} discuss() calls)")
    say(f"- the same Case objects again: {same:,.0f} cases/s (target ≥ 100,000)")
    say(f"- equal Case objects built anew: {equal:,.0f} cases/s")


def memory(rulebook: netaid.Rulebook, cases: list[Case]) -> None:
    engine = DurableEngine(rulebook)
    for i in range(10_000):
        engine.evaluate(cases[i % len(cases)])
    gc.collect()
    before = rss_mb()
    for i in range(100_000):
        engine.evaluate(cases[i % len(cases)])
    gc.collect()
    after = rss_mb()
    engine.close()
    record("rss", {"before_mb": round(before, 2), "after_mb": round(after, 2)})
    say("\n## Memory (a fresh engine; RSS after 10,000 evaluations, then after 100,000 more)")
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
_ONE_MODEL = """
import pydantic, yaml, durable.engine
from pydantic import BaseModel
class One(BaseModel):
    x: int
"""

_PHASES = """
import json, time
t0 = time.perf_counter()
import netaid
t1 = time.perf_counter()
rulebook = netaid.load_rulebook()
t2 = time.perf_counter()
engine = netaid.DurableEngine(rulebook)
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
            "baseline": ([python, "-c", "import pydantic, yaml, durable.engine"], None),
            "command": (discuss_argv, None),
            "uncached": (discuss_argv, {**os.environ, "NETAID_CACHE_DIR": ""}),
            "import_only": ([python, "-c", "import netaid.cli"], None),
            "one_model": ([python, "-c", _ONE_MODEL], None),
        },
        runs,
    )
    baseline, command = whole["baseline"], whole["command"]
    uncached, import_only = whole["uncached"], whole["import_only"]
    one_model = whole["one_model"]
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
    names = ["import netaid", "load_rulebook", "DurableEngine", "discuss", "render"]
    medians = {n: statistics.median(p[i] for p in phases) for i, n in enumerate(names)}
    record(
        "cli",
        {
            "baseline_s": round(baseline, 3),
            "netaid_discuss_s": round(command, 3),
            "ratio": round(command / baseline, 2),
            "netaid_discuss_without_rule_cache_s": round(uncached, 3),
            "import_netaid_cli_s": round(import_only, 3),
            "baseline_plus_one_model_s": round(one_model, 3),
            "phases_s": {n: round(v, 4) for n, v in medians.items()},
        },
    )
    say(f"\n## Command line (median of {runs} interleaved runs, whole processes)")
    say(f'- baseline `python -c "import pydantic, yaml, durable.engine"`: {baseline:.3f} s')
    say(f"- `netaid discuss {EXAMPLE.relative_to(REPO)}`: {command:.3f} s")
    say(f"- ratio: {command / baseline:.2f} (target < 2)")
    say(f"- the same with the rule-file cache off (NETAID_CACHE_DIR=''): {uncached:.3f} s")
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
    rulebook, engine = rulebook_section()
    cases = sample(args.sample)
    cold(rulebook, engine, cases, f"sample of {len(cases):,} seeded cases", args.rounds)
    from netaid.check import ClassSpace

    space = ClassSpace.build(rulebook)
    covering = [space.case(assignment) for assignment, _ in space.covering()]
    cold(rulebook, engine, covering, "covering set of the class space", args.rounds)
    warm(engine, cases, args.warm_calls)
    memory(rulebook, cases)
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
