"""Turning what a caller hands in (a dict, JSON text, a parsed model) into a checked Bundle dict.

Every refusal is a CaseError naming the resource and the element, never a traceback: input
that is too large or too deep is refused before it is parsed or validated (fhir.resources,
like json, recurses once per level), and the validation errors of fhir.resources are
translated into the resource they are about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from netaid._yaml import DuplicateKeyError, load_json
from netaid.errors import CaseError, FieldProblem

__all__ = ["MAX_BUNDLE_CHARS", "MAX_DEPTH", "MAX_NODES", "bundle_data", "validate"]

#: A patient's mCODE bundle is tens of kilobytes; an EHR export with history, a few megabytes.
MAX_BUNDLE_CHARS = 8 * 1024 * 1024
#: Bundle > entry > resource > component > value > coding is 8 levels; extensions nest a few
#: more. Far deeper is a malformed or hostile bundle.
MAX_DEPTH = 48
#: Values (objects, arrays, scalars) in one bundle given as a dict, the counterpart of the
#: character limit for text.
MAX_NODES = 400_000
#: How many validation problems an error lists before it stops.
_MAX_PROBLEMS = 10

_INSTALL = "reading FHIR bundles needs the fhir extra: pip install 'netaid[fhir]'"


def _refuse(where: str, message: str, origin: str | None) -> CaseError:
    return CaseError([FieldProblem(where, message)], origin=origin)


def bundle_data(bundle: object, origin: str | None) -> dict[str, Any]:
    """The bundle as plain JSON data, checked to be a Bundle of reasonable size and depth."""
    data: object
    if isinstance(bundle, bytes | bytearray):
        try:
            bundle = bytes(bundle).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _refuse("(bundle)", f"not UTF-8 text: {exc.reason}", origin) from None
    if isinstance(bundle, str):
        if len(bundle) > MAX_BUNDLE_CHARS:
            raise _refuse(
                "(bundle)",
                f"larger than {MAX_BUNDLE_CHARS // (1024 * 1024)} MiB; netaid reads one "
                "patient's bundle, not a bulk export (use NDJSON, one bundle per line)",
                origin,
            )
        try:
            data = load_json(bundle)
        except RecursionError:
            raise _refuse("(bundle)", f"nested deeper than {MAX_DEPTH} levels", origin) from None
        except DuplicateKeyError as exc:
            raise _refuse("(bundle)", str(exc), origin) from None
        except json.JSONDecodeError as exc:
            raise _refuse("(bundle)", f"not valid JSON: {exc}", origin) from None
    elif isinstance(bundle, Mapping):
        data = bundle
    elif hasattr(bundle, "model_dump") and hasattr(bundle, "get_resource_type"):
        # A parsed fhir.resources model: already validated, dumped back to FHIR JSON.
        data = bundle.model_dump(mode="json", by_alias=True, exclude_none=True)
    else:
        raise _refuse(
            "(bundle)",
            f"expected a FHIR Bundle (a dict, JSON text or a parsed model), got "
            f"{type(bundle).__name__}",
            origin,
        )
    if not isinstance(data, Mapping):
        raise _refuse("(bundle)", f"not a FHIR Bundle: a JSON {_json_type(data)}", origin)
    kind = data.get("resourceType")
    if kind != "Bundle":
        what = f"resourceType {kind!r}" if kind is not None else "no resourceType"
        raise _refuse("(bundle)", f"not a FHIR Bundle: {what}", origin)
    _check_shape(data, origin)
    return dict(data)


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "number" if isinstance(value, int | float) else type(value).__name__


def _check_shape(data: Mapping[str, Any], origin: str | None) -> None:
    """Refuse bundles too deep or too large, naming the resource and element where it happens.

    Iterative, so that a bundle nested thousands of levels deep is measured without recursion;
    paths are only worked out for the error, so the common case costs one pass of type checks.
    """
    nodes = 0
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            resource, element = locate(data, _deep_path(data))
            raise _refuse(
                f"{resource} {element}".strip(),
                f"nested deeper than {MAX_DEPTH} levels (deeply nested extensions?)",
                origin,
            )
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
            nodes += len(value)
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
            nodes += len(value)
        if nodes > MAX_NODES:
            raise _refuse(
                "(bundle)", f"more than {MAX_NODES:,} values; too large for one patient", origin
            )


def _deep_path(data: object) -> tuple[str | int, ...]:
    """The path to the first value nested deeper than MAX_DEPTH."""
    stack: list[tuple[object, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) >= MAX_DEPTH:
            return path
        if isinstance(value, dict):
            stack.extend((v, (*path, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
    return ()


def locate(bundle: Mapping[str, Any], path: tuple[str | int, ...]) -> tuple[str, str]:
    """("Condition/primary", "bodySite[0].coding[1].system") for a path inside a bundle."""
    if len(path) >= 3 and path[0] == "entry" and isinstance(path[1], int):
        entries = bundle.get("entry")
        resource: object = None
        if isinstance(entries, list) and 0 <= path[1] < len(entries):
            entry = entries[path[1]]
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
        name = resource_name(resource, path[1])
        if path[2] == "resource":
            return name, _dotted(path[3:])
        return f"entry[{path[1]}]", _dotted(path[2:])
    return "Bundle", _dotted(path)


def resource_name(resource: object, index: int) -> str:
    if isinstance(resource, Mapping):
        kind = resource.get("resourceType")
        ident = resource.get("id")
        if isinstance(kind, str) and isinstance(ident, str) and ident:
            return f"{kind}/{ident}"
        if isinstance(kind, str):
            return f"{kind} (entry {index})"
    return f"entry[{index}].resource"


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    # The long paths of a deep structure are shortened in the middle, not dropped.
    return text if len(text) <= 160 else f"{text[:80]}...{text[-60:]}"


#: The resource types netaid reads; only these are validated (see validate).
READ_TYPES = frozenset({"Condition", "Observation", "Procedure"})


def validate(data: dict[str, Any], origin: str | None) -> None:
    """Check the shape of the Bundle and of every resource netaid reads with the FHIR R4B
    models of fhir.resources (which read R4 data), as CaseError naming each faulty resource and
    element.

    Resources netaid does not read (Patient, Encounter, MedicationStatement, ...) are not
    validated: they are listed as ignored whatever their shape, so that an EHR export is not
    refused for an element of a resource netaid never looks at, or one R4B models differently
    from R4.
    """
    try:
        from fhir.resources.R4B import get_fhir_model_class
        from pydantic import ValidationError
    except ImportError:
        raise _refuse("(bundle)", _INSTALL, origin) from None
    # The Bundle without its resources (entries, type, ...), then each resource netaid reads.
    envelope = dict(data)
    checks: list[tuple[tuple[str | int, ...], str, object]] = []
    problems: list[FieldProblem] = []
    if isinstance(data.get("entry"), list):
        envelope["entry"] = []
        for index, entry in enumerate(data["entry"]):
            if not isinstance(entry, Mapping):
                envelope["entry"].append(entry)  # the Bundle model reports it
                continue
            envelope["entry"].append({k: v for k, v in entry.items() if k != "resource"})
            resource = entry.get("resource")
            kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
            where = ("entry", index, "resource")
            if resource is not None and not isinstance(kind, str):
                name, _ = locate(data, where)
                problems.append(FieldProblem(name, "not a resource: no resourceType"))
            elif kind in READ_TYPES:
                checks.append((where, kind, resource))
    more = 0
    for prefix, kind, value in [((), "Bundle", envelope), *checks]:
        try:
            get_fhir_model_class(kind).model_validate(value)
        except ValidationError as exc:
            for error in exc.errors():
                if len(problems) >= _MAX_PROBLEMS:
                    more += 1
                    continue
                loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
                resource, element = locate(data, (*prefix, *_fhir_path(loc)))
                problems.append(FieldProblem(f"{resource} {element}".strip(), error["msg"]))
        except RecursionError:
            raise _refuse("(bundle)", f"nested deeper than {MAX_DEPTH} levels", origin) from None
    if more:
        problems.append(FieldProblem("(bundle)", f"and {more} more problems"))
    if problems:
        raise CaseError(problems, origin=origin)


def _fhir_path(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    # Pydantic locations of a polymorphic resource include the model name
    # (entry.0.resource.Condition.code): drop it so the path reads as the JSON does.
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if i > 0 and loc[i - 1] == "resource" and isinstance(part, str) and part[:1].isupper():
            continue
        out.append(part)
    return tuple(out)
