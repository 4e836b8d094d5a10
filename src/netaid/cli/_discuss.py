from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from netaid._api import discuss
from netaid.case import Case, case_fields, case_from_mapping, load_case
from netaid.cli._common import EXIT_OK
from netaid.engine import DurableEngine
from netaid.errors import CaseError, FieldProblem
from netaid.render import FORMATS, render
from netaid.rulebook import load_rulebook

# Set fields take one member per flag, repeated: --syndrome insulinoma --syndrome vipoma.
SET_FLAGS = {"metastases": "metastasis", "syndromes": "syndrome", "inherited": "inherited"}


def add_case_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per Case field, generated from the model so the two never drift apart."""
    group = parser.add_argument_group("case fields (these override a case file's values)")
    for name, spec in case_fields().items():
        flag = "--" + SET_FLAGS.get(name, name).replace("_", "-")
        if spec.kind == "set":
            group.add_argument(
                flag,
                dest=name,
                action="append",
                metavar="VALUE",
                help=f"one of {', '.join(spec.values)}; repeatable",
            )
        elif spec.kind == "flag":
            group.add_argument(flag, dest=name, action="store_const", const=True, default=None)
        elif spec.kind == "tristate":
            group.add_argument(flag, dest=name, metavar="yes|no|unknown")
        else:
            group.add_argument(flag, dest=name, metavar="VALUE", help=", ".join(spec.values))
    group.add_argument("--title", dest="title", metavar="TEXT")


def case_flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The case fields given as flags, ready for Case validation."""
    data: dict[str, Any] = {}
    for name in (*case_fields(), "title"):
        value = getattr(args, name, None)
        if value is None:
            continue
        spec = case_fields().get(name)
        if spec is not None and spec.kind == "tristate" and str(value).lower() == "unknown":
            value = None
        data[name] = value
    return data


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("discuss", help="discuss one case: a file, - for stdin, or flags")
    p.add_argument("case_file", nargs="?", help="YAML or JSON case file, or - for stdin")
    p.add_argument("--format", default="text", choices=list(FORMATS))
    p.add_argument("--rules", type=Path, help="rulebook folder (default: the shipped rulebook)")
    add_case_flags(p)


def case_from_args(args: argparse.Namespace) -> Case:
    data: dict[str, Any] = {}
    if args.case_file:
        data = load_case(args.case_file).model_dump(exclude_defaults=True)
    data.update(case_flag_values(args))
    if not args.case_file and "site" not in data:
        raise CaseError([FieldProblem("site", "give a case file, or at least --site")])
    return case_from_mapping(data, origin=args.case_file)


def run(args: argparse.Namespace) -> int:
    case = case_from_args(args)
    engine = DurableEngine(load_rulebook(args.rules)) if args.rules else None
    sys.stdout.write(render(discuss(case, engine=engine), args.format))
    return EXIT_OK
