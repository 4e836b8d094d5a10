"""The CLI's FHIR hook: a case file that is a FHIR Bundle is read with netaid.fhir.

Kept apart from _discuss so that the case reader there stays as it is: `load_case_or_bundle`
looks at a JSON file's `resourceType` and only then imports netaid.fhir (and, through it,
fhir.resources), so plain cases never pay for the FHIR models.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netaid.case import Case, load_case
from netaid.errors import CaseError, FieldProblem

__all__ = ["add_fhir_flags", "load_case_or_bundle"]

_SNIFF = 4096


def add_fhir_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--show-mapping",
        action="store_true",
        help="for a FHIR Bundle: print on stderr which resource, element and code gave each "
        "case field, and what was ignored or could not be mapped",
    )


def _looks_like_fhir(path: str) -> bool:
    if path == "-" or not path.lower().endswith(".json"):
        return False
    try:
        with Path(path).open("rb") as file:
            head = file.read(_SNIFF)
    except OSError:
        return False  # load_case reports it
    return b'"resourceType"' in head


def load_case_or_bundle(path: str, *, show_mapping: bool = False) -> Case:
    """A netaid case file, or a FHIR Bundle (a .json file with a resourceType)."""
    if not _looks_like_fhir(path):
        return load_case(path)
    from netaid.fhir import MAX_BUNDLE_CHARS, case_from_bundle

    try:
        with Path(path).open(encoding="utf-8") as file:
            text = file.read(MAX_BUNDLE_CHARS + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError([FieldProblem("(file)", f"cannot read: {exc}")], origin=path) from None
    mapped = case_from_bundle(text, origin=path)
    if show_mapping:
        print(mapped.mapping_table(), file=sys.stderr, end="")
    else:
        skipped = len(mapped.unmappable) + len(mapped.ambiguous)
        if skipped:
            print(
                f"netaid: {path}: {skipped} item(s) of the bundle not used for the case "
                "(--show-mapping lists them)",
                file=sys.stderr,
            )
    return mapped.case
