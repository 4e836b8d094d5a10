"""A rule's condition in plain words, for a reader who does not read the condition language.

    all: [{equals: {site: pancreas}}, {one_of: {stage: [regional, metastatic]}},
          {equals: {completely_removed: false}}]

reads "primary site is pancreas, stage is regional or metastatic, and the tumour has not been
completely removed". Negations are pushed down to the leaves first (De Morgan), and leaves on
the same field are merged where the logic allows (`not stage = localized` and `not stage =
unknown` under one `all` is "stage is regional or metastatic"), so the words say which values
a field may take rather than how the condition happens to be written. The words are exact:
they are true of a case exactly when the condition is (`tests/unit/test_review.py` checks the
merging against the condition on every value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from netaid._conditions import All, Always, AnyOf, Condition, Leaf, Not
from netaid.case import case_fields
from netaid.discussion import describe_value, field_label

__all__ = ["describe_condition"]

#: The yes/no fields in words: (when yes, when no, the open question).
_YES_NO: dict[str, tuple[str, str, str]] = {
    "symptomatic": (
        "the tumour causes symptoms",
        "the tumour causes no symptoms",
        "whether the tumour causes symptoms",
    ),
    "resectable": (
        "surgery could remove the tumour completely",
        "surgery could not remove the tumour completely",
        "whether surgery could remove the tumour completely",
    ),
    "completely_removed": (
        "the tumour has been completely removed",
        "the tumour has not been completely removed",
        "whether the tumour has been completely removed",
    ),
    "carcinoid_heart_disease": (
        "there is carcinoid heart disease",
        "there is no carcinoid heart disease",
        "whether there is carcinoid heart disease",
    ),
    "diarrhoea_despite_ssa": (
        "diarrhoea continues despite a somatostatin analogue",
        "no diarrhoea despite a somatostatin analogue is reported",
        "whether diarrhoea continues despite a somatostatin analogue",
    ),
}

#: Scalar fields whose values read better inside a phrase: (before the values, after them).
_SCALAR_WORDS: dict[str, tuple[str, str]] = {
    "differentiation": ("the tumour is", " differentiated"),
}


# --- normal form: negations at the leaves, each leaf a set of allowed values ---


@dataclass(frozen=True)
class _Values:
    """A scalar or yes/no field restricted to some of its values."""

    field: str
    allowed: frozenset[str]


@dataclass(frozen=True)
class _Member:
    """One member of a set field, present or absent."""

    field: str
    member: str
    present: bool


@dataclass(frozen=True)
class _Junction:
    conjunctive: bool
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Constant:
    value: bool


_Node: TypeAlias = _Values | _Member | _Junction | _Constant


def _domain(field: str) -> frozenset[str]:
    return frozenset(case_fields()[field].values)


def _normal(condition: Condition, negated: bool = False) -> _Node:
    if isinstance(condition, Always):
        return _Constant(not negated)
    if isinstance(condition, Not):
        return _normal(condition.child, not negated)
    if isinstance(condition, All | AnyOf):
        conjunctive = isinstance(condition, All) != negated
        children = tuple(_normal(c, negated) for c in condition.children)
        return _simplify(_Junction(conjunctive, children))
    assert isinstance(condition, Leaf)
    if condition.op == "contains":
        return _Member(condition.field, condition.values[0], not negated)
    domain = _domain(condition.field)
    known = condition.op == "is_known"
    allowed = domain - {"unknown"} if known else frozenset(condition.values)
    return _Values(condition.field, domain - allowed if negated else allowed)


def _simplify(node: _Junction) -> _Node:
    """Flatten nested junctions of the same kind, merge leaves on one field, drop constants."""
    flat: list[_Node] = []
    for child in node.children:
        if isinstance(child, _Junction) and child.conjunctive == node.conjunctive:
            flat.extend(child.children)
        else:
            flat.append(child)
    merged: list[_Node] = []
    values: dict[str, int] = {}
    for child in flat:
        if isinstance(child, _Constant):
            if child.value != node.conjunctive:  # false in `all`, true in `any`: decides it
                return child
            continue
        if isinstance(child, _Values):
            at = values.get(child.field)
            if at is not None:
                before = merged[at]
                assert isinstance(before, _Values)
                allowed = (
                    before.allowed & child.allowed
                    if node.conjunctive
                    else before.allowed | child.allowed
                )
                merged[at] = _Values(child.field, allowed)
                continue
            values[child.field] = len(merged)
        merged.append(child)
    kept: list[_Node] = []
    for child in merged:
        if isinstance(child, _Values) and child.allowed >= _domain(child.field):
            if not node.conjunctive:
                return _Constant(True)
            continue
        if isinstance(child, _Values) and not child.allowed:
            if node.conjunctive:
                return _Constant(False)
            continue
        kept.append(child)
    if not kept:
        return _Constant(node.conjunctive)
    if len(kept) == 1:
        return kept[0]
    return _Junction(node.conjunctive, tuple(kept))


# --- words ---


def describe_condition(condition: Condition) -> str:
    """The condition in plain words ("every case" for a rule without `when:`)."""
    return _words(_normal(condition), top=True)


def _words(node: _Node, *, top: bool = False) -> str:
    if isinstance(node, _Constant):
        return "every case" if node.value else "no case"
    if isinstance(node, _Values):
        return _values_words(node)
    if isinstance(node, _Member):
        return _member_words(node.field, [node.member], node.present, conjunctive=True)
    parts = _junction_parts(node)
    if len(parts) == 1:
        return parts[0]
    # Parts that list values with commas are set apart with semicolons (the last part's
    # list ends the sentence, so it needs none).
    comma = ";" if any(_bare_comma(p) for p in parts[:-1]) else ","
    if node.conjunctive:
        text = " and ".join(parts) if len(parts) == 2 else _join(parts, f"{comma} and", comma)
    else:
        # Always a comma before "or" between the parts: "or" also joins values within one.
        text = _join(parts, f"{comma} or", comma)
    return text if top else f"({text})"


def _junction_parts(node: _Junction) -> list[str]:
    # Members of one set field read together: "metastases include liver or bone".
    parts: list[str] = []
    grouped: dict[tuple[str, bool], list[str]] = {}
    order: list[tuple[str, bool] | int] = []
    for n, child in enumerate(node.children):
        if isinstance(child, _Member):
            key = (child.field, child.present)
            if key not in grouped:
                grouped[key] = []
                order.append(key)
            grouped[key].append(child.member)
        else:
            order.append(n)
    for item in order:
        if isinstance(item, int):
            parts.append(_words(node.children[item]))
        else:
            field, present = item
            parts.append(_member_words(field, grouped[item], present, conjunctive=node.conjunctive))
    return parts


def _bare_comma(text: str) -> bool:
    """Does the text hold a comma outside brackets (which set their own parts apart)?"""
    depth = 0
    for n, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0 and text[n + 1 : n + 2] == " ":
            return True
    return False


def _join(parts: list[str], last: str, sep: str = ",") -> str:
    """Parts joined by `sep`, the last one by `last`: "a, b or c" (last=" or")."""
    if len(parts) == 1:
        return parts[0]
    return f"{f'{sep} '.join(parts[:-1])}{last} {parts[-1]}"


def _list(values: list[str], word: str) -> str:
    """A list of values: "liver, bone or lung"."""
    return _join(values, f" {word}")


def _ordered(field: str, values: frozenset[str]) -> list[str]:
    return [v for v in case_fields()[field].values if v in values]


def _values_words(node: _Values) -> str:
    spec = case_fields()[node.field]
    allowed = _ordered(node.field, node.allowed)
    if spec.kind in ("flag", "tristate"):
        return _yes_no_words(node.field, set(allowed))
    label = field_label(node.field)
    excluded = _ordered(node.field, _domain(node.field) - node.allowed)
    if excluded == ["unknown"]:
        return f"{label} is known"
    if allowed == ["unknown"]:
        return f"{label} is unknown"
    subject, after = _SCALAR_WORDS.get(node.field, (f"{label} is", ""))
    if len(allowed) <= len(excluded):
        return f"{subject} {_list([describe_value(v) for v in allowed], 'or')}{after}"
    said = [describe_value(v) for v in excluded]
    if len(said) == 1:
        return f"{subject} not {said[0]}{after}"
    if len(said) == 2:
        return f"{subject} neither {said[0]} nor {said[1]}{after}"
    return f"{subject} none of {_list(said, 'or')}{after}"


def _yes_no_words(field: str, allowed: set[str]) -> str:
    label = field_label(field)
    yes, no, question = _YES_NO.get(field, (f"{label}: yes", f"{label}: no", label))
    if allowed == {"true"}:
        return yes
    if allowed == {"false"}:
        return no
    if allowed == {"unknown"}:
        return f"it is not known {question}"
    if allowed == {"true", "false"}:
        return f"it is known {question}"
    said = yes if "true" in allowed else no
    return f"{said} (or this is not known)"


def _member_words(field: str, members: list[str], present: bool, *, conjunctive: bool) -> str:
    label = field_label(field)
    said = [describe_value(m) for m in members]
    if present:
        return f"{label} include {_list(said, 'and' if conjunctive else 'or')}"
    if len(said) == 1:
        return f"{label} do not include {said[0]}"
    if conjunctive:
        if len(said) == 2:
            return f"{label} include neither {said[0]} nor {said[1]}"
        return f"{label} include none of {_list(said, 'or')}"
    return f"{label} do not include all of {_list(said, 'and')}"
