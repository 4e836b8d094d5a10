"""`netaid check`: the rulebook examined over its whole class space (see `netaid.check`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netaid.cli._common import EXIT_FINDINGS, EXIT_OK, write_out
from netaid.engines import ENGINE_NAMES
from netaid.rulebook import load_rulebook

if TYPE_CHECKING:
    from netaid.check import CheckReport, Gap

FORMATS = ("text", "json")
_GAPS_SHOWN = 3


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check",
        help="examine the rulebook over every class of valid cases",
        description=(
            "Dead, redundant and conflicting rules, gaps, engine load, coverage and the rules'"
            " embedded examples, over every class of valid cases. Exits 1 on dead rules,"
            " conflicts, failing examples or a breached engine limit."
        ),
    )
    p.add_argument("--rules", type=Path, help="rulebook folder (default: the shipped one)")
    p.add_argument("--format", default="text", choices=FORMATS)
    p.add_argument(
        "--engine",
        choices=ENGINE_NAMES,
        help="run the covering cases through this engine only (default: every engine "
        "available on this Python, which must all agree)",
    )


def run(args: argparse.Namespace) -> int:
    from netaid.check import check_rulebook  # loaded only when asked for: it is large

    report = check_rulebook(load_rulebook(args.rules), engine=args.engine)
    if args.format == "json":
        write_out(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        write_out(format_text(report))
    return EXIT_FINDINGS if report.failed else EXIT_OK


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def _ids(ids: tuple[str, ...] | list[str]) -> str:
    return ", ".join(ids) if ids else "none"


def _case(case: dict[str, Any] | None) -> str:
    return json.dumps(case, ensure_ascii=False) if case is not None else "-"


def _gap_lines(gap: Gap, indent: str) -> list[str]:
    shown = gap.examples[:_GAPS_SHOWN]
    lines = [f"{indent}- {example}" for example in shown]
    if gap.classes > len(shown):
        lines.append(f"{indent}  (the first {len(shown)} shown; --format json lists more)")
    if gap.case is not None:
        lines.append(f"{indent}e.g. {_case(gap.case)}")
    return lines


def format_text(report: CheckReport) -> str:
    out: list[str] = []
    add = out.append
    add(f"netaid check: rulebook {report.rulebook_version}, {_n(report.rules, 'rule')}")
    add(
        f"class space: {_n(report.classes, 'class', 'classes')} (valid cases every rule treats "
        f"alike), enumerated as {_n(report.leaves, 'search leaf', 'search leaves')} in "
        f"{_n(report.parts, 'independent part')}; every leaf is in one of "
        f"{_n(report.covering_cases, 'covering case')}"
    )
    add(
        "  values the rules tell apart: "
        + "; ".join(f"{atom} {len(blocks)}" for atom, blocks in report.blocks.items())
    )
    engines = ", ".join(report.engines) or "none"
    if report.engine_problems:
        add(f"engines ({engines}): DISAGREE with the rules' conditions")
        out.extend(f"  - {p}" for p in report.engine_problems)
    else:
        add(
            f"engines ({engines}): agree with the rules' conditions on all "
            f"{report.covering_cases:,} covering cases"
        )
    add(f"dead rules (never fire for a valid case): {_ids(report.dead)}")
    if report.redundant:
        add("redundant rules (same point as another rule whose condition covers theirs):")
        out.extend(f"  - {r.rule} (covered by {r.covered_by})" for r in report.redundant)
    else:
        add("redundant rules: none")
    if report.conflicts:
        add("conflicts (rules that exclude each other fire together):")
        out.extend(f"  - {c.rule} and {c.excludes}, e.g. {_case(c.case)}" for c in report.conflicts)
    else:
        add("conflicts: none")
    if report.coherence:
        add(
            f"coherence: {report.coherent_classes:,} classes are coherent; "
            f"{len(report.coherence)} relations flag the rest:"
        )
        out.extend(
            f"  - {c.rule}: {c.classes:,} classes, e.g. {_case(c.case)}" for c in report.coherence
        )
    gap = report.incomplete
    add(f"classes with no treatment point and no note: {gap.classes:,}")
    out.extend(_gap_lines(gap, "  "))
    if report.unconditional:
        rest = report.incomplete_ignoring_unconditional
        add(
            f"  setting aside the treatments and notes that apply to every case "
            f"({_ids(report.unconditional)}): {rest.classes:,} classes"
        )
        out.extend(_gap_lines(rest, "    "))
    worst = max(report.rulesets, key=lambda r: r.max_firing, default=None)
    verdict = "BREACHED" if report.limit_problems else "within it"
    if worst is not None:
        add(
            f"engine load: at most {worst.max_firing} durable-rules rules fire together in one "
            f"ruleset (ruleset {worst.index}); the engine's limit is {report.match_limit}: "
            f"{verdict}"
        )
    else:
        add(f"engine load: no rulesets; the engine's limit is {report.match_limit}: {verdict}")
    for load in report.rulesets:
        add(
            f"  ruleset {load.index}: {load.rules} rules as {load.durable_rules} durable-rules "
            f"rules, at most {load.max_firing} fire together, match stack need "
            f"{load.stack_need} of {report.match_limit}, e.g. {_case(load.case)}"
        )
    out.extend(f"  - {p}" for p in report.limit_problems)
    failing = report.failing_examples
    add(f"embedded examples: {len(report.examples)} run, {len(failing)} failing")
    for e in failing:
        details = [
            f"{label} {_ids(list(ids))}"
            for label, ids in (
                ("missing", e.missing),
                ("unexpected", e.unexpected),
            )
            if ids
        ]
        add(f"  - {e.rule} example {e.index + 1}: {'; '.join(details)}")
    add("coverage (how many rules each value changes, against the field's default):")
    for name, values in report.coverage.items():
        default = report.defaults[name]
        counts = ", ".join(
            f"{value} {len(ids)}" for value, ids in values.items() if value != default
        )
        add(f"  {name} (default {default or 'none'}): {counts}")
    silent = [
        f"{name}={value}"
        for name, values in report.coverage.items()
        for value, ids in values.items()
        if not ids and value != report.defaults[name]
    ]
    add(f"  values that change no rule: {_ids(silent)}")
    problems = []
    if report.dead:
        problems.append(f"{len(report.dead)} dead rules")
    if report.conflicts:
        problems.append(f"{len(report.conflicts)} conflicts")
    if failing:
        problems.append(f"{len(failing)} failing examples")
    if report.limit_problems:
        problems.append("engine limit breached")
    if report.engine_problems:
        problems.append("engine disagreements")
    result = "FAILED: " + ", ".join(problems) if problems else "ok"
    add(f"netaid check: {result} ({report.seconds:.2f} s)")
    return "\n".join(out) + "\n"
