"""The `netaid` command. Bad input prints what is wrong and exits 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netaid import __version__
from netaid._api import discuss
from netaid.case import Case, case_fields, case_from_mapping, load_case
from netaid.engine import DurableEngine
from netaid.errors import CaseError, FieldProblem, NetaidError
from netaid.lint import check_quotes
from netaid.render import FORMATS, render
from netaid.rulebook import load_rulebook, rule_file_schema

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

# Set fields take one member per flag, repeated: --syndrome insulinoma --syndrome vipoma.
_SET_FLAGS = {"metastases": "metastasis", "syndromes": "syndrome", "inherited": "inherited"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors: exit 2, no traceback
        self.print_usage(sys.stderr)
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="netaid",
        description=(
            "Discussion points that patient-education documents associate with a neuroendocrine "
            "tumour profile. Educational only — not medical advice."
        ),
    )
    parser.add_argument("--version", action="version", version=f"netaid {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = commands.add_parser("discuss", help="discuss one case (a file, - for stdin, or flags)")
    d.add_argument("case_file", nargs="?", help="YAML or JSON case file, or - for stdin")
    d.add_argument("--format", default="text", choices=list(FORMATS))
    d.add_argument("--rules", type=Path, help="rulebook folder (default: the shipped rulebook)")
    fields = d.add_argument_group("case fields (override the file's)")
    for name, spec in case_fields().items():
        if spec.kind == "set":
            flag = _SET_FLAGS[name]
            fields.add_argument(
                f"--{flag.replace('_', '-')}",
                dest=name,
                action="append",
                metavar="VALUE",
                help=f"one of {', '.join(spec.values)} (repeatable)",
            )
        elif spec.kind == "flag":
            fields.add_argument(
                f"--{name.replace('_', '-')}",
                dest=name,
                action="store_const",
                const=True,
                default=None,
            )
        elif spec.kind == "tristate":
            fields.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="yes|no|unknown")
        else:
            fields.add_argument(
                f"--{name.replace('_', '-')}",
                dest=name,
                metavar="VALUE",
                help=", ".join(spec.values),
            )
    fields.add_argument("--title", dest="title")

    s = commands.add_parser("schema", help="print the JSON Schema of a case (or of a rule file)")
    s.add_argument("--rules", action="store_true", help="the schema of a rule file instead")

    lint = commands.add_parser("lint", help="check every citation quote against the documents")
    lint.add_argument("--corpus", type=Path, required=True, help="folder holding the documents")
    lint.add_argument("--rules", type=Path, help="rulebook folder (default: the shipped one)")
    return parser


def _case_from_args(args: argparse.Namespace) -> Case:
    data: dict[str, Any] = {}
    if args.case_file:
        data = load_case(args.case_file).model_dump(exclude_defaults=True)
    overrides = {name: getattr(args, name) for name in (*case_fields(), "title")}
    for name, value in overrides.items():
        if value is None:
            continue
        if case_fields().get(name) is not None and case_fields()[name].kind == "tristate":
            value = None if str(value).lower() == "unknown" else value
        data[name] = value
    if not args.case_file and "site" not in data:
        raise CaseError([FieldProblem("site", "give a case file, or at least --site")])
    return case_from_mapping(data, origin=args.case_file)


def _discuss(args: argparse.Namespace) -> int:
    case = _case_from_args(args)
    engine = DurableEngine(load_rulebook(args.rules)) if args.rules else None
    sys.stdout.write(render(discuss(case, engine=engine), args.format))
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    schema = rule_file_schema() if args.rules else Case.model_json_schema()
    sys.stdout.write(json.dumps(schema, indent=2) + "\n")
    return EXIT_OK


def _lint(args: argparse.Namespace) -> int:
    if not args.corpus.is_dir():
        raise _UsageError(f"--corpus: no such folder: {args.corpus}")
    rulebook = load_rulebook(args.rules)
    problems = check_quotes(rulebook, args.corpus)
    for problem in problems:
        print(f"netaid lint: {problem}", file=sys.stderr)
    citations = sum(len(r.citations) for r in rulebook.rules)
    verdict = "FAILED" if problems else "ok"
    print(
        f"netaid lint: {verdict}: {citations} citations in {len(rulebook)} rules checked, "
        f"{len(problems)} not found"
    )
    return EXIT_FINDINGS if problems else EXIT_OK


_COMMANDS = {"discuss": _discuss, "schema": _schema, "lint": _lint}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return _COMMANDS[args.command](args)
    except _UsageError as exc:
        print(f"netaid: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NetaidError as exc:
        print(f"netaid: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in netaid: say so plainly, traceback only on request
        if os.environ.get("NETAID_DEBUG"):
            raise
        print(
            f"netaid: internal error: {type(exc).__name__}: {exc} "
            "(set NETAID_DEBUG=1 for details; please report it)",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
