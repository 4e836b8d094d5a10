"""The tutor page's forms: every Case field as a menu, and query strings back into cases.

The case form is a plain GET form, so a discussion has a URL (the cards link to it) and the
page needs no JavaScript. Scalars are menus with "unknown"; sets are multi-selects; yes/no/
unknown fields are menus; the flags are checkboxes. The vignette form offers "any" for every
field: a field left at "any" is drawn, any other value is a constraint every case meets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from netaid.case import Case, case_fields, case_from_text, text_value
from netaid.discussion import describe_value, field_label

__all__ = ["ANY", "Widget", "case_from_query", "constraints_from_query", "widgets"]

ANY = ""  # the vignette form's "any" choice
_TEXT_FIELDS = {"title": 500, "notes": 10_000}

Items = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Widget:
    name: str
    label: str
    kind: str  # "scalar", "tristate", "flag", "set", "text"
    options: tuple[tuple[str, str], ...]  # (value, text)
    selected: frozenset[str]
    description: str = ""


def _values(items: Items, name: str) -> list[str]:
    return [value for key, value in items if key == name]


def _first(items: Items, name: str) -> str | None:
    found = _values(items, name)
    return found[0] if found else None


def widgets(items: Items, *, for_vignettes: bool = False) -> list[Widget]:
    """The form's fields, with what `items` (a query string's pairs) selected."""
    found = []
    for name, info in Case.model_fields.items():
        description = info.description or ""
        if name in _TEXT_FIELDS:
            if for_vignettes and name == "notes":
                continue
            value = _first(items, name) or ""
            found.append(
                Widget(name, field_label(name), "text", (), frozenset({value}), description)
            )
            continue
        spec = case_fields()[name]
        options = tuple((v, describe_value(v)) for v in spec.values)
        chosen = frozenset(_values(items, name))
        kind = spec.kind
        if kind == "flag" and for_vignettes:
            kind = "tristate"  # any / yes / no
            options = (("true", "yes"), ("false", "no"))
        if kind == "tristate" and not for_vignettes:
            chosen = chosen or frozenset({"unknown"})
        if kind == "scalar" and not for_vignettes and not chosen:
            chosen = frozenset({"unknown"})
        found.append(Widget(name, field_label(name), kind, options, chosen, description))
    return found


def case_from_query(items: Items) -> Case:
    """The case the form describes; CaseError naming each faulty field."""
    data: dict[str, Any] = {}
    for name in Case.model_fields:
        if name in _TEXT_FIELDS:
            value = _first(items, name)
            if value and value.strip():
                data[name] = value.strip()
            continue
        spec = case_fields()[name]
        values = _values(items, name)
        if spec.kind == "set":
            if values:
                data[name] = values
        elif spec.kind == "flag":
            data[name] = bool(values) and values[-1] in ("true", "on", "yes")
        elif values and values[0] != "":
            data[name] = text_value(name, values[0])
    if "site" not in data:
        data["site"] = None  # the error then names the field
    return case_from_text(data, origin="the case form")


def constraints_from_query(items: Items) -> dict[str, Any]:
    """The vignette form's constraints: every field not left at "any"."""
    data: dict[str, Any] = {}
    for name in (*case_fields(), "title"):
        values = [v for v in _values(items, name) if v != ANY]
        if not values:
            continue
        if case_fields().get(name) is not None and case_fields()[name].kind == "set":
            data[name] = values
        else:
            data[name] = text_value(name, values[0])
    return data
