"""The rule condition language: parsed early, checked against the Case model, then used three ways.

A `when:` block in a rule file is first shaped by Pydantic (`ConditionModel`, which also gives
the JSON Schema), then compiled here into a small immutable tree. Compilation checks every
field, operator and value against `netaid.case.case_fields()` and reports the faulty spot by
its path (`when.all[1].one_of.grade`). The tree is then

- evaluated in plain Python (`holds`), which the rulebook uses to prove a condition can be
  true, and the engine uses to double-check what durable-rules reports;
- explained in plain words (`reasons`), which becomes a point's "because";
- translated into durable-rules' JSON expression language (`to_durable`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Annotated, Any, Literal, NamedTuple, TypeAlias

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from netaid.case import FieldSpec, case_fields, incompatibilities

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


class IsKnownModel(_Node):
    is_known: str = Field(description="FIELD")


class AllModel(_Node):
    all: list[ConditionModel] = Field(min_length=1)


class AnyModel(_Node):
    any: list[ConditionModel] = Field(min_length=1)


class NotModel(_Node):
    model_config = ConfigDict(populate_by_name=True)
    not_: ConditionModel = Field(alias="not")


_TAGS = ("equals", "one_of", "contains", "is_known", "all", "any", "not")


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
    IsKnownModel: "is_known",
    AllModel: "all",
    AnyModel: "any",
    NotModel: "not",
}


ConditionModel: TypeAlias = Annotated[
    Annotated[EqualsModel, Tag("equals")]
    | Annotated[OneOfModel, Tag("one_of")]
    | Annotated[ContainsModel, Tag("contains")]
    | Annotated[IsKnownModel, Tag("is_known")]
    | Annotated[AllModel, Tag("all")]
    | Annotated[AnyModel, Tag("any")]
    | Annotated[NotModel, Tag("not")],
    Discriminator(
        _tag,
        custom_error_type="condition",
        custom_error_message=(
            "a condition is one mapping with a single key: "
            "equals, one_of, contains, is_known, all, any or not"
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


class ConditionError(ValueError):
    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")


def _canonical(value: Scalar) -> str:
    # YAML reads `true` as a bool; the case view spells booleans as "true"/"false".
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def compile_condition(model: ConditionModel | None, path: str = "when") -> Condition:
    """Check a parsed `when:` block against the Case model and compile it."""
    if model is None:
        return Always()
    fields = case_fields()
    if isinstance(model, AllModel):
        return All(tuple(compile_condition(c, f"{path}.all[{i}]") for i, c in enumerate(model.all)))
    if isinstance(model, AnyModel):
        return AnyOf(
            tuple(compile_condition(c, f"{path}.any[{i}]") for i, c in enumerate(model.any))
        )
    if isinstance(model, NotModel):
        return Not(compile_condition(model.not_, f"{path}.not"))
    if isinstance(model, IsKnownModel):
        spec = _field(fields, model.is_known, f"{path}.is_known")
        _require_kind(spec, ("scalar", "tristate"), "is_known", f"{path}.is_known")
        return Leaf(spec.name, "is_known", ())
    op, mapping = _leaf_parts(model)
    where = f"{path}.{op}"
    if len(mapping) != 1:
        raise ConditionError(where, f"names {len(mapping)} fields; a leaf tests exactly one")
    name, raw = next(iter(mapping.items()))
    spec = _field(fields, name, where)
    where = f"{where}.{name}"
    if op == "contains":
        _require_kind(spec, ("set",), op, where)
        return Leaf(spec.name, op, (_value(spec, raw, where),))
    _require_kind(spec, ("scalar", "tristate", "flag"), op, where)
    if op == "equals":
        assert not isinstance(raw, list)
        return Leaf(spec.name, op, (_value(spec, raw, where),))
    assert isinstance(raw, list)
    if len(raw) < 2:
        raise ConditionError(where, "one_of needs at least two values (use equals for one)")
    values = tuple(_value(spec, v, where) for v in raw)
    if len(set(values)) != len(values):
        raise ConditionError(where, "one_of lists a value twice")
    return Leaf(spec.name, op, values)


def _leaf_parts(model: ConditionModel) -> tuple[Op, Mapping[str, Any]]:
    if isinstance(model, EqualsModel):
        return "equals", model.equals
    if isinstance(model, OneOfModel):
        return "one_of", model.one_of
    assert isinstance(model, ContainsModel)
    return "contains", model.contains


def _field(fields: Mapping[str, FieldSpec], name: str, where: str) -> FieldSpec:
    spec = fields.get(name)
    if spec is None:
        raise ConditionError(where, f"unknown case field {name!r} (fields: {', '.join(fields)})")
    return spec


def _require_kind(spec: FieldSpec, kinds: tuple[str, ...], op: str, where: str) -> None:
    if spec.kind not in kinds:
        raise ConditionError(where, f"{op} does not apply to {spec.kind} field {spec.name!r}")


def _value(spec: FieldSpec, raw: Scalar, where: str) -> str:
    value = _canonical(raw)
    if value not in spec.values:
        raise ConditionError(
            where,
            f"{value!r} is not a value of {spec.name!r} (values: {', '.join(spec.values)})",
        )
    return value


# --- evaluation ---


def holds(condition: Condition, values: Values) -> bool:
    """Is the condition true of a case, given in the `case_values` view?"""
    if isinstance(condition, Leaf):
        return _leaf_holds(condition, values)
    if isinstance(condition, All):
        return all(holds(c, values) for c in condition.children)
    if isinstance(condition, AnyOf):
        return any(holds(c, values) for c in condition.children)
    if isinstance(condition, Not):
        return not holds(condition.child, values)
    return True


def _leaf_holds(leaf: Leaf, values: Values) -> bool:
    actual = values[leaf.field]
    if leaf.op == "contains":
        return leaf.values[0] in actual
    if leaf.op == "is_known":
        return actual != "unknown"
    return actual in leaf.values


def leaves(condition: Condition) -> Iterator[Leaf]:
    if isinstance(condition, Leaf):
        yield condition
    elif isinstance(condition, All | AnyOf):
        for child in condition.children:
            yield from leaves(child)
    elif isinstance(condition, Not):
        yield from leaves(condition.child)


# --- explanation ---

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


class Reason(NamedTuple):
    """One fact about the case that made a condition true.

    A named tuple rather than a dataclass: reasons are dictionary keys on the hot path of
    every discussion, and a tuple hashes and compares in C.
    """

    field: str | None
    relation: Relation
    values: tuple[str, ...]


_POSITIVE: dict[Op, Relation] = {
    "equals": "is",
    "one_of": "is_one_of",
    "contains": "includes",
    "is_known": "is_known",
}
_NEGATIVE: dict[Op, Relation] = {
    "equals": "is_not",
    "one_of": "is_none_of",
    "contains": "excludes",
    "is_known": "is_unknown",
}


def reasons(condition: Condition, values: Values) -> tuple[Reason, ...]:
    """The facts of the case that make the condition true (empty if it is false)."""
    if not holds(condition, values):
        return ()
    return tuple(dict.fromkeys(_reasons(condition, values, negated=False)))


def _reasons(condition: Condition, values: Values, *, negated: bool) -> Iterator[Reason]:
    # Called only on sub-conditions whose truth (after `negated`) is established.
    if isinstance(condition, Always):
        yield Reason(None, "always", ())
    elif isinstance(condition, Leaf):
        relation = (_NEGATIVE if negated else _POSITIVE)[condition.op]
        yield Reason(condition.field, relation, condition.values)
    elif isinstance(condition, Not):
        yield from _reasons(condition.child, values, negated=not negated)
    else:
        conjunctive = isinstance(condition, All) != negated
        for child in condition.children:
            if conjunctive:
                yield from _reasons(child, values, negated=negated)
            elif holds(child, values) != negated:
                # Of a disjunction, name the branches that actually hold.
                yield from _reasons(child, values, negated=negated)


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
    return False


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


# --- durable-rules expressions ---


def set_member_key(field: str, member: str) -> str:
    """The flat fact key durable-rules sees for one member of a set field."""
    return f"{field}__{member}"


def to_durable(condition: Condition) -> dict[str, Any] | None:
    """The condition as a durable-rules expression, negations pushed down to the leaves.

    durable-rules has no general negation, and `$in` does not exist, so `not` is pushed
    inward (De Morgan) and `one_of` becomes an `$or` of equalities. Returns None for Always.
    """
    if isinstance(condition, Always):
        return None
    return _durable(condition, negated=False)


def _durable(condition: Condition, *, negated: bool) -> dict[str, Any]:
    if isinstance(condition, Not):
        return _durable(condition.child, negated=not negated)
    if isinstance(condition, All | AnyOf):
        conjunctive = isinstance(condition, All) != negated
        parts = [_durable(c, negated=negated) for c in condition.children]
        if len(parts) == 1:
            return parts[0]
        return {"$and" if conjunctive else "$or": parts}
    assert isinstance(condition, Leaf)
    return _durable_leaf(condition, negated=negated)


def _durable_leaf(leaf: Leaf, *, negated: bool) -> dict[str, Any]:
    if leaf.op == "contains":
        return {set_member_key(leaf.field, leaf.values[0]): "no" if negated else "yes"}
    if leaf.op == "is_known":
        return {leaf.field: "unknown"} if negated else {"$neq": {leaf.field: "unknown"}}
    tests = [{"$neq": {leaf.field: v}} if negated else {leaf.field: v} for v in leaf.values]
    if len(tests) == 1:
        return tests[0]
    return {"$and" if negated else "$or": tests}


def match_paths(condition: Condition) -> int:
    """An upper bound on the alpha nodes durable-rules builds for this condition.

    durable-rules expands `$or` into one chain of tests per alternative (disjunctive normal
    form). Counting every test of every chain, plus the guard test heading each chain, bounds
    the number of nodes one fact can match, whatever sharing the engine manages.
    """
    terms, tests = _dnf_size(condition, negated=False)
    return terms + tests


def _dnf_size(condition: Condition, *, negated: bool) -> tuple[int, int]:
    """(number of DNF terms, total tests across the terms)."""
    if isinstance(condition, Always):
        return 1, 0
    if isinstance(condition, Not):
        return _dnf_size(condition.child, negated=not negated)
    if isinstance(condition, Leaf):
        if condition.op == "one_of" and not negated:
            return len(condition.values), len(condition.values)
        if condition.op == "one_of":
            return 1, len(condition.values)
        return 1, 1
    sizes = [_dnf_size(c, negated=negated) for c in condition.children]
    if isinstance(condition, All) != negated:
        terms, tests = 1, 0
        for child_terms, child_tests in sizes:
            tests = tests * child_terms + child_tests * terms
            terms *= child_terms
        return terms, tests
    return sum(t for t, _ in sizes), sum(s for _, s in sizes)
