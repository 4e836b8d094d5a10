"""`netaid explain CASE POINT_ID`: why a point is, or is not, in a case's discussion."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from netaid._api import discuss
from netaid.case import describe_value, field_label
from netaid.cli._common import EXIT_OK, write_out
from netaid.cli._discuss import add_case_flags, add_engine_flag, case_from_args, engine_for
from netaid.cli._fhir import add_fhir_flags
from netaid.discussion import IfKnown, WhyNot

FORMATS = ("text", "json")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "explain",
        help="why a point is or is not in a case's discussion, and what would change that",
        description="For a point that is not in the case's discussion: each part of its "
        "rule's condition the case does not meet, against the case's values. For one that "
        "is: the facts that make it apply. Either way, the unknown facts of the case that, "
        "once known, would add or remove it.",
    )
    p.add_argument("case_file", help="YAML or JSON case file, or - for stdin")
    p.add_argument("point_id", help="the id of a point or note, e.g. treatment.surgery.primary")
    p.add_argument("--format", default="text", choices=FORMATS)
    p.add_argument("--rules", type=Path, help="rulebook folder (default: the shipped rulebook)")
    add_engine_flag(p)
    add_fhir_flags(p)
    add_case_flags(p)


def run(args: argparse.Namespace) -> int:
    case = case_from_args(args)
    with engine_for(args) as engine:
        discussion = discuss(case, engine=engine)
    answer = discussion.why_not(args.point_id)
    related = tuple(
        entry
        for entry in discussion.if_known
        if any(p.id == answer.point_id for p in (*entry.adds, *entry.removes))
    )
    if args.format == "json":
        data = answer.model_dump(mode="json")
        data["if_known"] = [entry.model_dump(mode="json") for entry in related]
        write_out(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        write_out(format_text(answer, related))
    return EXIT_OK


def format_text(answer: WhyNot, related: tuple[IfKnown, ...]) -> str:
    lines = [answer.text]
    if related:
        lines.append("Unknown facts that would change this, were they known:")
        for entry in related:
            verb = "add it" if any(p.id == answer.point_id for p in entry.adds) else "remove it"
            field, value = field_label(entry.field), describe_value(entry.value)
            lines.append(f"  - if {field} were {value}: it would {verb}")
    return "\n".join(lines) + "\n"
