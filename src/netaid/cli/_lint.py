from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from netaid.cli._common import EXIT_FINDINGS, EXIT_OK, UsageError, say, write_out
from netaid.lint import check_conditions, check_quotes
from netaid.rulebook import load_rulebook


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("lint", help="check every citation quote against the documents")
    p.add_argument("--corpus", type=Path, required=True, help="folder holding the documents")
    p.add_argument("--rules", type=Path, help="rulebook folder (default: the shipped one)")


def run(args: argparse.Namespace) -> int:
    if not args.corpus.is_dir():
        raise UsageError(f"--corpus: no such folder: {args.corpus}")
    rulebook = load_rulebook(args.rules)
    problems = check_quotes(rulebook, args.corpus)
    for problem in problems:
        say(f"netaid lint: {problem}")
    untied = check_conditions(rulebook)
    for untied_rule in untied:
        say(f"netaid lint: {untied_rule}")
    citations = sum(
        len(r.citations) + (len(r.applies_when.citations) if r.applies_when else 0)
        for r in rulebook.rules
    )
    restricted = sum(1 for r in rulebook.rules if r.applies_when is not None)
    failed = bool(problems or untied)
    write_out(
        f"netaid lint: {'FAILED' if failed else 'ok'}: {citations} citations in "
        f"{len(rulebook)} rules checked, {len(problems)} not found; "
        f"{restricted} restricted rules say when they apply, {len(untied)} do not\n"
    )
    return EXIT_FINDINGS if failed else EXIT_OK
