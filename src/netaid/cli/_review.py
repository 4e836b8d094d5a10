"""`netaid review`: the rulebook as a review sheet for a clinician (see `netaid.review`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from netaid.cli._common import EXIT_OK, UsageError, load_rulebook_from, write_out
from netaid.review import FORMATS, render_review, review_sheet


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "review",
        help="a review sheet of every rule, for a clinician to audit and sign off",
        description=(
            "One entry per rule: id, kind, title, text, its condition in plain words, what "
            "the documents tie it to with their words, the content quotes with their sections "
            "and publishers, each side of a contested rule, the rule's examples, and an empty "
            "sign-off (reviewer, date, verdict, comment). Markdown, self-contained HTML, or "
            "CSV with one row per rule for a spreadsheet."
        ),
    )
    p.add_argument("--rules", type=Path, help="rulebook folder (default: the shipped one)")
    p.add_argument("--format", default="markdown", choices=FORMATS)
    p.add_argument("--out", type=Path, metavar="FILE", help="write here instead of stdout")


def run(args: argparse.Namespace) -> int:
    rulebook = load_rulebook_from(args.rules, "--rules")
    output = render_review(review_sheet(rulebook), args.format)
    if args.out is None:
        write_out(output)
        return EXIT_OK
    try:
        # newline="": the CSV writer's own line ends, untranslated.
        args.out.write_text(output, encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"--out: cannot write {str(args.out)!r}: {exc.strerror}") from None
    return EXIT_OK
