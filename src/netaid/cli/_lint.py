from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from netaid.cli._common import EXIT_FINDINGS, EXIT_OK, UsageError, say, write_out
from netaid.lint import check_quotes
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
    citations = sum(len(r.citations) for r in rulebook.rules)
    verdict = "FAILED" if problems else "ok"
    write_out(
        f"netaid lint: {verdict}: {citations} citations in {len(rulebook)} rules checked, "
        f"{len(problems)} not found\n"
    )
    return EXIT_FINDINGS if problems else EXIT_OK
