from __future__ import annotations

import argparse
import json
from typing import Any

from netaid.case import Case
from netaid.cli._common import EXIT_OK, write_out
from netaid.rulebook import rule_file_schema


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("schema", help="print the JSON Schema of a case (or of a rule file)")
    p.add_argument("--rules", action="store_true", help="the schema of a rule file instead")


def run(args: argparse.Namespace) -> int:
    schema = rule_file_schema() if args.rules else Case.model_json_schema()
    write_out(json.dumps(schema, indent=2) + "\n")
    return EXIT_OK
