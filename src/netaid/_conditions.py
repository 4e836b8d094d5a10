"""The rule condition language: parsed early, checked against the Case model, then used three ways.

A `when:` block in a rule file is first shaped by Pydantic (`ConditionModel`, which also gives
the JSON Schema), then compiled here into a small immutable tree. Compilation checks every
field, operator and value against `netaid.case.case_fields()` and reports the faulty spot by
its path (`when.all[1].one_of.grade`). The tree is then

- evaluated in plain Python (`holds`), which the rulebook uses to prove a condition can be
  true, and the engines use to double-check what a backend reports;
- explained in plain words (`reasons` and `describe`: a point's "because"; `unmet`: why a
  point does not apply);
- compiled by each engine backend (`netaid.engines`) into its own form, and into classes of
  cases by `netaid check`.

This module is the one home of the language. Each leaf operator is defined once (`OPERATORS`,
`leaf_truth`); every consumer (the compiler, the reasons, the plain words, the class-space
check, each backend) dispatches on the node or operator with `match` ending in
`not_a_condition`, so a type checker lists every place a new operator must be taught, and a
node that is not part of the language is an error, never a silent answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Annotated, Any, Literal, NamedTuple, Never, NoReturn, TypeAlias

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from netaid.case import (
    FieldKind,
    FieldSpec,
    case_fields,
    describe_value,
    field_label,
    incompatibilities,
)
from netaid.errors import ConditionError

# --- the shape of a `when:` block, as written in YAML ---

Scalar: TypeAlias = str | bool


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EqualsModel(_Node):
    equals: dict[str, Scalar] = Field(description="{FIELD: VALUE}, exactly one field")


class OneOfModel(_Node):
    one_of: dict[str, list[Scalar]] = Field(description="{FIELD: [VALUE, ...]}, exactly one field")


class ContainsModel(_Node):
    contains: dict[str, str] = Field(description="{SET_FIELD: MEMBER}, exactly one field")


class ContainsAnyModel(_Node):
    contains_any: dict[str, list[str]] = Field(
        description="{SET_FIELD: [MEMBER, ...]}, exactly one field: true when any is present"
    )


class IsKnownModel(_Node):
    is_known: str = Field(description="FIELD")


class TermModel(_Node):
    term: str = Field(description="The name of a term defined in terms.yaml")


class AllModel(_Node):
    all: list[ConditionModel] = Field(min_length=1)


class AnyModel(_Node):
    any: list[ConditionModel] = Field(min_length=1)


class NotModel(_Node):
    model_config = ConfigDict(populate_by_name=True)
    not_: ConditionModel = Field(alias="not")


_TAGS = ("equals", "one_of", "contains", "contains_any", "is_known", "term", "all", "any", "not")


def _tag(value: Any) -> str | None:
    # One key names the node kind: {"all": [...]}, {"equals": {...}}. Anything else gets no
    # tag, and Pydantic reports it with the list of the tags it expected.
    if isinstance(value, Mapping) and len(value) == 1:
        key = next(iter(value))
        if key in _TAGS:
            return str(key)
    if isinstance(value, BaseModel):
        return _MODEL_TAGS.get(type(value))
    return None


_MODEL_TAGS: dict[type[BaseModel], str] = {
    EqualsModel: "equals",
    OneOfModel: "one_of",
    ContainsModel: "contains",
    ContainsAnyModel: "contains_any",
    IsKnownModel: "is_known",
    TermModel: "term",
    AllModel: "all",
    AnyModel: "any",
    NotModel: "not",
}


ConditionModel: TypeAlias = Annotated[
    Annotated[EqualsModel, Tag("equals")]
    | Annotated[OneOfModel, Tag("one_of")]
    | Annotated[ContainsModel, Tag("contains")]
    | Annotated[ContainsAnyModel, Tag("contains_any")]
    | Annotated[IsKnownModel, Tag("is_known")]
    | Annotated[TermModel, Tag("term")]
    | Annotated[AllModel, Tag("all")]
    | Annotated[AnyModel, Tag("any")]
    | Annotated[NotModel, Tag("not")],
    Discriminator(
        _tag,
        custom_error_type="condition",
        custom_error_message=(
            "a condition is one mapping with a single key: "
            "equals, one_of, contains, contains_any, is_known, term, all, any or not"
        ),
    ),
]

for _model in (AllModel, AnyModel, NotModel):
    _model.model_rebuild()


# --- the compiled tree ---

Op: TypeAlias = Literal["equals", "one_of", "contains", "is_known"]
Values: TypeAlias = Mapping[str, "str | frozenset[str]"]


@dataclass(frozen=True)
class Leaf:
    field: str
    op: Op
    values: tuple[str, ...]


@dataclass(frozen=True)
class All:
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    child: Condition


@dataclass(frozen=True)
class Always:
    """The condition of a rule without `when:`: it applies to every case."""


Condition: TypeAlias = Leaf | All | AnyOf | Not | Always


def not_a_condition(node: Never) -> NoReturn:
    """The last case of every `match` over conditions and operators: to a type checker it
    proves the match exhaustive (a new node or operator makes each one an error to fix); at
    run time a node that is not part of the language is an error, never a silent answer."""
    raise ConditionError("condition", f"not a condition node or operator: {node!r}")


# --- the operators: each one's single definition ---

Relation: TypeAlias = Literal[
    "is",
    "is_one_of",
    "includes",
    "is_known",
    "is_not",
    "is_none_of",
    "excludes",
    "is_unknown",
    "always",
]


@dataclass(frozen=True)
class Operator:
    """What the language says about one leaf operator; `leaf_truth` says when it holds.

    `kinds`: the field kinds it applies to. `arity`: how many values it names ("one", "many"
    (at least two, no repeats), "none"). `member`: it tests one member of a set field, which
    the engines and `netaid check` treat as a yes/no fact of its own. `relation` and
    `negated`: how a reason built from it reads, when it holds and when its negation does.
    """

    kinds: tuple[FieldKind, ...]
    arity: Literal["one", "many", "none"]
    member: bool
    relation: Relation
    negated: Relation


OPERATORS: Mapping[Op, Operator] = {
    "equals": Operator(("scalar", "tristate", "flag"), "one", False, "is", "is_not"),
    "one_of": Operator(("scalar", "tristate", "flag"), "many", False, "is_one_of", "is_none_of"),
    "contains": Operator(("set",), "one", True, "includes", "excludes"),
    "is_known": Operator(("scalar", "tristate"), "none", False, "is_known", "is_unknown"),
}


def leaf_truth(leaf: Leaf, actual: str | frozenset[str]) -> bool:
    """Does the leaf hold for this value of its field (in the `case_values` view)?"""
    match leaf.op:
        case "equals" | "one_of":
            return actual in leaf.values
        case "contains":
            return leaf.values[0] in actual
        case "is_known":
            return actual != "unknown"
        case _:
            not_a_condition(leaf.op)


def _canonical(value: Scalar) -> str:
    # YAML reads `true` as a bool; the case view spells booleans as "true"/"false".
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


# --- compiling a `when:` block ---


def compile_condition(
    model: ConditionModel | None,
    path: str = "when",
    terms: Mapping[str, Condition] | None = None,
) -> Condition:
    """Check a parsed `when:` block against the Case model and compile it.

    `terms` are the named conditions a `{term: NAME}` node may use (`rules/terms.yaml`),
    already compiled; a term is replaced by its condition, so nothing downstream of the
    compiler needs to know terms exist. `contains_any` becomes an `any` of `contains`.
    """
    if model is None:
        return Always()
    known: Mapping[str, Condition] = terms or {}
    match model:
        case AllModel(all=children):
            return All(
                tuple(
                    compile_condition(c, f"{path}.all[{i}]", known) for i, c in enumerate(children)
                )
            )
        case AnyModel(any=children):
            return AnyOf(
                tuple(
                    compile_condition(c, f"{path}.any[{i}]", known) for i, c in enumerate(children)
                )
            )
        case NotModel():
            return Not(compile_condition(model.not_, f"{path}.not", known))
        case TermModel(term=name):
            found = known.get(name)
            if found is None:
                listed = ", ".join(known) or "none are defined"
                raise ConditionError(f"{path}.term", f"unknown term {name!r} (terms: {listed})")
            return found
        case IsKnownModel(is_known=name):
            spec = _field(name, f"{path}.is_known")
            _require_kind(spec, "is_known", f"{path}.is_known")
            return Leaf(spec.name, "is_known", ())
        case ContainsAnyModel(contains_any=mapping):
            where = f"{path}.contains_any"
            spec, raw = _one_field(mapping, where)
            where = f"{where}.{spec.name}"
            _require_kind(spec, "contains", where, name="contains_any")
            members = _values(spec, raw, where, "contains_any")
            return AnyOf(tuple(Leaf(spec.name, "contains", (m,)) for m in members))
        case EqualsModel(equals=mapping):
            return _leaf("equals", mapping, path)
        case OneOfModel(one_of=mapping):
            return _leaf("one_of", mapping, path)
        case ContainsModel(contains=mapping):
            return _leaf("contains", mapping, path)
        case _:
            not_a_condition(model)


def _leaf(op: Op, mapping: Mapping[str, Any], path: str) -> Leaf:
    where = f"{path}.{op}"
    spec, raw = _one_field(mapping, where)
    where = f"{where}.{spec.name}"
    _require_kind(spec, op, where)
    if OPERATORS[op].arity == "one":
        return Leaf(spec.name, op, (_value(spec, raw, where),))
    return Leaf(spec.name, op, _values(spec, raw, where, op))


def _one_field(mapping: Mapping[str, Any], where: str) -> tuple[FieldSpec, Any]:
    if len(mapping) != 1:
        raise ConditionError(where, f"names {len(mapping)} fields; a leaf tests exactly one")
    name, raw = next(iter(mapping.items()))
    return _field(name, where), raw


def _field(name: str, where: str) -> FieldSpec:
    fields = case_fields()
    spec = fields.get(name)
    if spec is None:
        raise ConditionError(where, f"unknown case field {name!r} (fields: {', '.join(fields)})")
    return spec


def _require_kind(spec: FieldSpec, op: Op, where: str, *, name: str | None = None) -> None:
    if spec.kind not in OPERATORS[op].kinds:
        raise ConditionError(
            where, f"{name or op} does not apply to {spec.kind} field {spec.name!r}"
        )


def _value(spec: FieldSpec, raw: Scalar, where: str) -> str:
    value = _canonical(raw)
    if value not in spec.values:
        raise ConditionError(
            where,
            f"{value!r} is not a value of {spec.name!r} (values: {', '.join(spec.values)})",
        )
    return value


def _values(spec: FieldSpec, raw: list[Any], where: str, op: str) -> tuple[str, ...]:
    what = "members" if spec.kind == "set" else "values"
    if len(raw) < 2:
        single = "contains" if spec.kind == "set" else "equals"
        raise ConditionError(where, f"{op} needs at least two {what} (use {single} for one)")
    values = tuple(_value(spec, v, where) for v in raw)
    if len(set(values)) != len(values):
        raise ConditionError(where, f"{op} lists a {what[:-1]} twice")
    return values


# --- evaluation ---


def holds(condition: Condition, values: Values) -> bool:
    """Is the condition true of a case, given in the `case_values` view?"""
    match condition:
        case Leaf():
            return leaf_truth(condition, values[condition.field])
        case All(children=children):
            return all(holds(c, values) for c in children)
        case AnyOf(children=children):
            return any(holds(c, values) for c in children)
        case Not(child=child):
            return not holds(child, values)
        case Always():
            return True
        case _:
            not_a_condition(condition)


def leaves(condition: Condition) -> Iterator[Leaf]:
    match condition:
        case Leaf():
            yield condition
        case All(children=children) | AnyOf(children=children):
            for child in children:
                yield from leaves(child)
        case Not(child=child):
            yield from leaves(child)
        case Always():
            return
        case _:
            not_a_condition(condition)


# --- explanation ---


class Reason(NamedTuple):
    """One fact about the case that made a condition true.

    A named tuple rather than a dataclass: reasons are dictionary keys on the hot path of
    every discussion, and a tuple hashes and compares in C.
    """

    field: str | None
    relation: Relation
    values: tuple[str, ...]


def _reason(leaf: Leaf, *, negated: bool) -> Reason:
    operator = OPERATORS[leaf.op]
    return Reason(leaf.field, operator.negated if negated else operator.relation, leaf.values)


def reasons(condition: Condition, values: Values) -> tuple[Reason, ...]:
    """The facts of the case that make the condition true (empty if it is false)."""
    if not holds(condition, values):
        return ()
    return tuple(dict.fromkeys(_reasons(condition, values, negated=False)))


def _reasons(condition: Condition, values: Values, *, negated: bool) -> Iterator[Reason]:
    # Called only on sub-conditions whose truth (after `negated`) is established.
    match condition:
        case Always():
            yield Reason(None, "always", ())
        case Leaf():
            yield _reason(condition, negated=negated)
        case Not(child=child):
            yield from _reasons(child, values, negated=not negated)
        case All(children=children) | AnyOf(children=children):
            conjunctive = isinstance(condition, All) != negated
            for child in children:
                if conjunctive or holds(child, values) != negated:
                    # Of a disjunction, name the branches that actually hold.
                    yield from _reasons(child, values, negated=negated)
        case _:
            not_a_condition(condition)


def reason_holds(reason: Reason, values: Values) -> bool:
    """Is this reason a true statement about the case? (Used to audit explanations.)"""
    if reason.field is None:
        return reason.relation == "always"
    actual = values[reason.field]
    match reason.relation:
        case "is" | "is_one_of":
            return actual in reason.values
        case "is_not" | "is_none_of":
            return actual not in reason.values
        case "includes":
            return reason.values[0] in actual
        case "excludes":
            return reason.values[0] not in actual
        case "is_known":
            return actual != "unknown"
        case "is_unknown":
            return actual == "unknown"
        case "always":
            return False
        case _:
            not_a_condition(reason.relation)


def describe(reason: Reason) -> str:
    """A reason in plain words: "primary site: pancreas", "syndromes include insulinoma"."""
    if reason.field is None:
        return "applies to every case"
    label = field_label(reason.field)
    values = [describe_value(v) for v in reason.values]
    match reason.relation:
        case "is":
            return f"{label}: {values[0]}"
        case "is_one_of":
            return f"{label}: {' or '.join(values)}"
        case "is_not":
            return f"{label}: not {values[0]}"
        case "is_none_of":
            return f"{label}: neither {' nor '.join(values)}"
        case "includes":
            return f"{label} include {values[0]}"
        case "excludes":
            return f"{label} do not include {values[0]}"
        case "is_known":
            return f"{label} is known"
        case "is_unknown":
            return f"{label} is unknown"
        case "always":
            return "applies to every case"
        case _:
            not_a_condition(reason.relation)


# --- why a condition does not hold ---


class Unmet(NamedTuple):
    """A part of a condition a case does not meet: what it needs, and what the case has."""

    needs: str
    has: str


def unmet(condition: Condition, values: Values) -> tuple[Unmet, ...]:
    """Why the condition is false for a case, in plain words (empty if it holds).

    Of an `all`, each part that fails; of an `any`, every alternative (all of them fail), as
    one item; a `not` fails where what it negates holds.
    """
    if holds(condition, values):
        return ()
    return tuple(dict.fromkeys(_unmet(condition, values, negated=False)))


def _has(field: str, values: Values) -> str:
    actual = values[field]
    if isinstance(actual, frozenset):
        shown = ", ".join(describe_value(v) for v in sorted(actual)) or "none"
    else:
        shown = describe_value(actual)
    return f"{field_label(field)}: {shown}"


def _unmet(condition: Condition, values: Values, *, negated: bool) -> Iterator[Unmet]:
    # Called only on sub-conditions that are false (after `negated`).
    match condition:
        case Leaf():
            yield Unmet(
                describe(_reason(condition, negated=negated)), _has(condition.field, values)
            )
        case Not(child=child):
            yield from _unmet(child, values, negated=not negated)
        case All(children=children) | AnyOf(children=children):
            failing = [c for c in children if holds(c, values) == negated]
            if isinstance(condition, All) != negated:
                for child in failing:
                    yield from _unmet(child, values, negated=negated)
                return
            # Every alternative fails: one item, "one of: A; or B".
            parts = [list(_unmet(child, values, negated=negated)) for child in failing]
            needs = " or ".join(
                " and ".join(u.needs for u in part) if len(part) > 1 else part[0].needs
                for part in parts
            )
            has = "; ".join(dict.fromkeys(u.has for part in parts for u in part))
            yield Unmet(f"one of: {needs}", has)
        case Always():
            return
        case _:
            not_a_condition(condition)


# --- satisfiability ---

_DEFAULTS: dict[str, str | frozenset[str]] = {
    name: (frozenset() if spec.kind == "set" else "false" if spec.kind == "flag" else "unknown")
    for name, spec in case_fields().items()
}


def distinguishing_values(
    conditions: Iterable[Condition],
) -> dict[str, tuple[Any, ...]]:
    """For each field the conditions read, the values worth trying.

    Scalars: every value a condition names, plus "unknown" and one value no condition names
    (it stands for all the others). Sets: every subset of the members conditions name.
    """
    named: dict[str, set[str]] = {}
    for condition in conditions:
        for leaf in leaves(condition):
            named.setdefault(leaf.field, set()).update(leaf.values)
    options: dict[str, tuple[Any, ...]] = {}
    for name, seen in named.items():
        spec = case_fields()[name]
        if spec.kind == "set":
            members = sorted(seen)
            options[name] = tuple(
                frozenset(m for m, keep in zip(members, mask, strict=True) if keep)
                for mask in product((False, True), repeat=len(members))
            )
            continue
        chosen = [v for v in spec.values if v in seen or v == "unknown"]
        chosen += [v for v in spec.values if v not in chosen][:1]
        options[name] = tuple(chosen)
    return options


#: Partial cases the satisfiability search may try for one condition. Each costs one pass
#: over the condition; the shipped rules need at most a few dozen.
WITNESS_BUDGET = 20_000


def witness(
    condition: Condition, budget: int | None = None
) -> dict[str, str | frozenset[str]] | None:
    """A valid combination of field values that makes the condition true, or None.

    A search over partial cases, one field (one member of a set field) at a time: a partial
    case is abandoned as soon as the condition is false whatever the unset fields hold, and
    only fields the undecided part of the condition reads are ever set (the rest keep their
    defaults). Trying every combination instead took 40 s for a 3 KB condition naming every
    set member (2^17 subsets times the sites); this takes one step per field there.

    A partial case that breaks a rule of the case model is abandoned at once. That relies on
    two properties of `incompatibilities`, which tests/unit/test_witness.py checks: a field at
    its default (unknown, no member, no) is in no incompatibility, and adding a set member
    never mends one. So no way of setting the unset fields could mend it.

    Satisfiability is NP-complete in general, so the search is bounded: past `budget` partial
    cases (default `WITNESS_BUDGET`) it raises `ConditionError` rather than run for hours.
    """
    limit = WITNESS_BUDGET if budget is None else budget
    options = _search_options(condition)
    chosen: dict[_Key, str | bool] = {}
    tried = 0

    def search() -> dict[str, str | frozenset[str]] | None:
        nonlocal tried
        tried += 1
        if tried > limit:
            raise ConditionError(
                "when",
                f"too complex to prove it can be true: the search passed {limit:,} partial "
                "cases (see Limits in docs/rule-authoring.md); split or simplify the condition",
            )
        truth, unset = _holds3(condition, chosen)
        if truth is False:
            return None
        values = _values_of(chosen)
        if incompatibilities(values):
            # No way of setting the unset fields could mend it (see above).
            return None
        if truth is True:
            return values
        key = unset[0]
        for option in options[key]:
            chosen[key] = option
            found = search()
            if found is not None:
                return found
        del chosen[key]
        return None

    return search()


_Key: TypeAlias = tuple[str, "str | None"]  # (field, member of a set field or None)


def _search_options(condition: Condition) -> dict[_Key, tuple[str | bool, ...]]:
    """What the search may set: a scalar field to the values worth trying (those conditions
    name, unknown, and one standing for all the others) or one set member in or out."""
    named: dict[str, set[str]] = {}
    for leaf in leaves(condition):
        named.setdefault(leaf.field, set()).update(leaf.values)
    options: dict[_Key, tuple[str | bool, ...]] = {}
    for field, seen in named.items():
        spec = case_fields()[field]
        if spec.kind == "set":
            options.update(((field, member), (True, False)) for member in sorted(seen))
            continue
        chosen = [v for v in spec.values if v in seen or v == "unknown"]
        chosen += [v for v in spec.values if v not in chosen][:1]
        options[field, None] = tuple(chosen)
    return options


def _values_of(chosen: Mapping[_Key, str | bool]) -> dict[str, str | frozenset[str]]:
    """The partial case as a full `case_values` view, unset fields at their defaults."""
    values = dict(_DEFAULTS)
    members: dict[str, set[str]] = {}
    for (field, member), value in chosen.items():
        if member is None:
            assert isinstance(value, str)
            values[field] = value
        elif value:
            members.setdefault(field, set()).add(member)
    for field, present in members.items():
        values[field] = frozenset(present)
    return values


def _holds3(
    condition: Condition, chosen: Mapping[_Key, str | bool]
) -> tuple[bool | None, list[_Key]]:
    """The condition on a partial case: True or False if the unset fields cannot change it,
    else None and the unset fields (set members) it still depends on, in reading order."""
    if isinstance(condition, Leaf):
        key = (condition.field, condition.values[0] if condition.op == "contains" else None)
        value = chosen.get(key)
        if value is None:
            return None, [key]
        if condition.op == "contains":
            return bool(value), []
        if condition.op == "is_known":
            return value != "unknown", []
        return value in condition.values, []
    if isinstance(condition, Not):
        inner, unset = _holds3(condition.child, chosen)
        return (None if inner is None else not inner), unset
    if isinstance(condition, All | AnyOf):
        decisive = isinstance(condition, AnyOf)  # the child value that settles the group
        pending: list[_Key] = []
        for child in condition.children:
            truth, unset = _holds3(child, chosen)
            if truth is decisive:
                return decisive, []
            pending += unset
        return (None, pending) if pending else (not decisive, [])
    return True, []
