"""The CLI's FHIR hook: a case file that is a FHIR Bundle is read with netaid.fhir.

Kept apart from _discuss so that the case reader there stays as it is: `load_case_or_bundle`
looks for a `resourceType` in a .json file and only then reads it with netaid.fhir, which
imports fhir.resources: plain cases never pay for the FHIR models. A bundle on standard input
is not recognised (a case is read there); give the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from netaid.case import Case, load_case

__all__ = ["add_fhir_flags", "load_case_or_bundle"]


def add_fhir_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--show-mapping",
        action="store_true",
        help="for a FHIR Bundle: print on stderr which resource, element and code gave each "
        "case field, and what was ignored or could not be mapped",
    )


def _bundle_text(path: str) -> str | None:
    """The file's text if it is a JSON object with a resourceType, else None (a case file)."""
    from netaid.fhir import MAX_BUNDLE_CHARS

    if path == "-" or not path.lower().endswith(".json"):
        return None
    try:
        with Path(path).open(encoding="utf-8") as file:
            text = file.read(MAX_BUNDLE_CHARS + 1)
        if len(text) > MAX_BUNDLE_CHARS and '"resourceType"' in text[:4096]:
            return text  # too large: netaid.fhir refuses it with a bundle's own message
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None  # not readable as JSON: load_case says why
    return text if isinstance(data, dict) and "resourceType" in data else None


def load_case_or_bundle(path: str, *, show_mapping: bool = False) -> Case:
    """A netaid case file, or a FHIR Bundle (a .json file with a resourceType)."""
    text = _bundle_text(path)
    if text is None:
        if show_mapping:
            print(f"netaid: --show-mapping: {path} is not a FHIR Bundle", file=sys.stderr)
        return load_case(path)
    from netaid.fhir import case_from_bundle

    mapped = case_from_bundle(text, origin=path)
    if show_mapping:
        print(mapped.mapping_table(), file=sys.stderr, end="")
    else:
        # What netaid read but could not use is always said, naming resource and element;
        # the full table (and what was ignored) on request.
        for finding in (*mapped.unmappable, *mapped.ambiguous):
            print(f"netaid: {path}: not used: {finding}", file=sys.stderr)
    return mapped.case
