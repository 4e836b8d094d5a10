"""`netaid review`: the rulebook as a review sheet for a clinician (see `netaid.review`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from netaid.cli._common import EXIT_OK, load_rulebook_from, write_out_or_file
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
    write_out_or_file(render_review(review_sheet(rulebook), args.format), args.out)
    return EXIT_OK
