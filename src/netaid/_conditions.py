"""The rule condition language: parsed early, checked against the Case model, then used three ways.

A `when:` block in a rule file is first shaped by Pydantic (`ConditionModel`, which also gives
the JSON Schema), then compiled here into a small immutable tree. Compilation checks every
field, operator and value against `netaid.case.case_fields()` and reports the faulty spot by
its path (`when.all[1].one_of.grade`). The tree is then

- evaluated in plain Python (`holds`), which the rulebook uses to prove a condition can be
  true, and the engine uses to double-check what durable-rules reports;
- explained in plain words (`reasons`), which becomes a point's "because";
- compiled by each engine backend (`netaid.engines`) into its own form.
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


def compile_condition(
    model: ConditionModel | None,
    path: str = "when",
    terms: Mapping[str, Condition] | None = None,
) -> Condition:
    """Check a parsed `when:` block against the Case model and compile it.

    `terms` are the named conditions a `{term: NAME}` node may use (`rules/terms.yaml`),
    already compiled; a term is replaced by its condition, so nothing downstream of the
    compiler needs to know terms exist.
    """
    if model is None:
        return Always()
    known: Mapping[str, Condition] = terms or {}
    fields = case_fields()
    if isinstance(model, AllModel):
        return All(
            tuple(compile_condition(c, f"{path}.all[{i}]", known) for i, c in enumerate(model.all))
        )
    if isinstance(model, AnyModel):
        return AnyOf(
            tuple(compile_condition(c, f"{path}.any[{i}]", known) for i, c in enumerate(model.any))
        )
    if isinstance(model, NotModel):
        return Not(compile_condition(model.not_, f"{path}.not", known))
    if isinstance(model, TermModel):
        found = known.get(model.term)
        if found is None:
            listed = ", ".join(known) or "none are defined"
            raise ConditionError(f"{path}.term", f"unknown term {model.term!r} (terms: {listed})")
        return found
    if isinstance(model, IsKnownModel):
        spec = _field(fields, model.is_known, f"{path}.is_known")
        _require_kind(spec, ("scalar", "tristate"), "is_known", f"{path}.is_known")
        return Leaf(spec.name, "is_known", ())
    if isinstance(model, ContainsAnyModel):
        return _contains_any(fields, model.contains_any, f"{path}.contains_any")
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


def _contains_any(
    fields: Mapping[str, FieldSpec], mapping: Mapping[str, list[str]], where: str
) -> Condition:
    """`contains_any` is "any of these `contains`": compiled to exactly that, so the engine,
    the reasons and the class-space check see only single-member tests (each member of a set
    field is its own fact to all of them)."""
    if len(mapping) != 1:
        raise ConditionError(where, f"names {len(mapping)} fields; a leaf tests exactly one")
    name, raw = next(iter(mapping.items()))
    spec = _field(fields, name, where)
    where = f"{where}.{name}"
    _require_kind(spec, ("set",), "contains_any", where)
    if len(raw) < 2:
        raise ConditionError(
            where, "contains_any needs at least two members (use contains for one)"
        )
    members = tuple(_value(spec, v, where) for v in raw)
    if len(set(members)) != len(members):
        raise ConditionError(where, "contains_any lists a member twice")
    return AnyOf(tuple(Leaf(spec.name, "contains", (m,)) for m in members))


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


def witness(condition: Condition) -> dict[str, str | frozenset[str]] | None:
    """A valid combination of field values that makes the condition true, or None."""
    options = distinguishing_values((condition,))
    names = list(options)
    for combination in product(*(options[n] for n in names)):
        values = dict(_DEFAULTS)
        values.update(zip(names, combination, strict=True))
        if holds(condition, values) and not incompatibilities(values):
            return values
    return None
