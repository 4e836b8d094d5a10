"""Hypothesis strategies for netaid cases, for property tests against a rulebook.

    from hypothesis import given
    from netaid.strategies import cases

    @given(cases(stage="metastatic", syndromes={"carcinoid_syndrome"}))
    def test_urgent_warning(case): ...

- `cases(**constraints)` draws valid `netaid.Case` objects only. Keyword arguments pin fields
  to a value (or to a Hypothesis strategy of values); a drawn value that clashes with the
  fields before it gives way to the field's default, so no draw is thrown away. Cases shrink
  towards the simplest case: unknown scalars, empty sets, `false` flags.
- `coherent_cases(rules, **constraints)` draws the valid cases of `cases()` that no
  `note.coherence.` or `note.flag.` note of the rulebook flags (see `netaid.vignettes`),
  for properties that hold only for profiles the documents make plausible.
- `invalid_cases()` draws mappings that look like cases but that the model must reject: a
  missing or unknown field, a value outside a field's list, a wrong type, an impossible
  combination from the case model's documentation, free text over its length limit.

Hypothesis is needed only here, and is imported when a strategy is first asked for; without it
the call raises an ImportError saying how to install it. See docs/property-testing.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from netaid.case import (
    FREE_TEXT_FIELDS,
    Case,
    case_fields,
    case_values,
    did_you_mean,
    incompatibilities,
)
from netaid.check import case_from_values

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

    from netaid.engines import Engine
    from netaid.rulebook import Rulebook

__all__ = ["cases", "coherent_cases", "invalid_cases"]

_FREE_TEXT = FREE_TEXT_FIELDS
_INSTALL = (
    "netaid.strategies needs Hypothesis, which is not installed: "
    "pip install 'netaid[strategies]' (or 'hypothesis>=6.100')"
)

ViewValue = str | frozenset[str]


def _require_hypothesis() -> None:
    try:
        import hypothesis  # noqa: F401
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc


def _simplest_first(name: str) -> list[str]:
    """A field's values, the default first: Hypothesis shrinks towards the first choice."""
    spec = case_fields()[name]
    default = "false" if spec.kind == "flag" else "unknown"
    return [default, *(v for v in spec.values if v != default)]


def _view_value(name: str, value: object) -> ViewValue:
    """A pinned value in the `case_values` view, validated by the Case model itself."""
    if isinstance(value, Enum):
        value = value.value
    if case_fields()[name].kind == "set" and isinstance(value, Iterable):
        if isinstance(value, str):
            raise ValueError(f"{name}: give a set of members, not the string {value!r}")
        value = [m.value if isinstance(m, Enum) else m for m in value]
    if value == "unknown" and case_fields()[name].kind != "scalar":
        value = None  # the view's "unknown" is None in the model for yes/no fields
    if name == "cell_type" and value == "unknown":
        value = None
    data = {"site": "unknown", name: value}
    try:
        return case_values(Case.model_validate(data))[name]
    except ValidationError as exc:
        raise ValueError(f"{name}: {exc.errors()[0]['msg']}, got {value!r}") from None


def _check_names(names: Iterable[str]) -> None:
    known = [*case_fields(), *_FREE_TEXT]
    for name in names:
        if name not in known:
            hint = did_you_mean(name, known)
            raise TypeError(f"cases() got an unknown case field {name!r}{hint}")


def cases(**constraints: object) -> SearchStrategy[Case]:
    """Valid cases, with the given fields pinned.

    A constraint is a value as `Case` accepts it (`stage="metastatic"`,
    `syndromes={"insulinoma"}`, `symptomatic=None` for unknown) or a Hypothesis strategy
    drawing such values. Pinned values that no valid case can hold together raise ValueError
    at once; values drawn from a strategy that clash with each other are rejected quietly.
    """
    _require_hypothesis()
    from hypothesis import reject
    from hypothesis import strategies as st

    _check_names(constraints)
    strategies: dict[str, SearchStrategy[Any]] = {}
    fixed: dict[str, ViewValue] = {}
    text: dict[str, object] = {}
    for name, value in constraints.items():
        if isinstance(value, st.SearchStrategy):
            strategies[name] = value
        elif name in _FREE_TEXT:
            text[name] = value
        else:
            fixed[name] = _view_value(name, value)
    problems = incompatibilities(fixed)
    if problems:
        raise ValueError(f"no valid case has {fixed}: {'; '.join(p.message for p in problems)}")
    for name, value in text.items():
        try:
            Case.model_validate({"site": "unknown", name: value})
        except ValidationError as exc:
            raise ValueError(f"{name}: {exc.errors()[0]['msg']}") from None

    @st.composite
    def draw_case(draw: DrawFn) -> Case:
        values: dict[str, ViewValue] = dict(fixed)
        extra_text = dict(text)
        for name, strategy in strategies.items():
            if name in _FREE_TEXT:
                extra_text[name] = draw(strategy)
            else:
                values[name] = _view_value(name, draw(strategy))
        if incompatibilities(values):
            reject()
        for name, spec in case_fields().items():
            if name in values:
                continue
            # Every field draws from its whole list, simplest first, whatever came before:
            # the shrinker can then simplify each field on its own. A value that clashes with
            # the fields fixed so far gives way to the default (members are dropped), which
            # never clashes: every valid case can still be drawn as it is.
            if spec.kind == "set":
                # One yes/no per member (yes one time in four) rather than Hypothesis' own
                # sets, whose shrinker stops at supersets such as {carcinoid, insulinoma}.
                drawn = [m for m in spec.values if draw(st.integers(0, 3)) == 3]
                chosen: ViewValue = frozenset(
                    m for m in drawn if not incompatibilities({**values, name: frozenset({m})})
                )
                if incompatibilities({**values, name: chosen}):
                    chosen = frozenset()
            else:
                chosen = draw(st.sampled_from(_simplest_first(name)))
                if incompatibilities({**values, name: chosen}):
                    chosen = _simplest_first(name)[0]
            values[name] = chosen
        case = case_from_values(values)
        if extra_text:
            case = case.model_copy(update=extra_text)
        return case

    strategy: SearchStrategy[Case] = draw_case()
    return strategy


def coherent_cases(
    rules: Rulebook | Engine | None = None, **constraints: object
) -> SearchStrategy[Case]:
    """`cases(**constraints)` that are coherent for `rules` (the shipped rulebook by default):
    `netaid.vignettes.incoherence_notes` is empty for every case drawn.

    Incoherent draws are filtered out, so pins that leave few coherent cases make Hypothesis
    report that it filtered too much.
    """
    from netaid.vignettes import _rulebook_of, incoherence_notes

    rulebook = _rulebook_of(rules)
    return cases(**constraints).filter(lambda case: not incoherence_notes(case, rulebook))


# --- invalid input ---

#: Misspellings people make, and names that are simply not fields.
_WRONG_NAMES = (
    "metastasis",
    "syndrome",
    "grades",
    "stage_",
    "primary_site",
    "differentiated",
    "functional",
    "symptoms",
    "resectible",
    "removed",
    "heart_disease",
    "diarrhea_despite_ssa",
    "inheritance",
    "celltype",
)

#: Values that no field of the model accepts for a scalar (wrong case, wrong words).
_NOT_A_VALUE = ("", " ", "Pancreas", "G4", "g1", "METASTATIC", "benign", "n/a", "None", "?")

#: Values Pydantic's lax booleans refuse ("yes", "no", 0 and 1 it would accept).
_NOT_A_BOOL: tuple[object, ...] = ("maybe", "unknown", "2", "yess", "", 2, -1, 0.5, [], {})

#: Impossible combinations, as docs/case-model.md lists them.
_IMPOSSIBLE: tuple[dict[str, object], ...] = (
    {"stage": "localized", "metastases": ["liver"]},
    {"stage": "regional", "metastases": ["bone"]},
    {"stage": "regional", "metastases": ["lung", "lymph_nodes"]},
    {"stage": "localized", "metastases": ["other"]},
    {"stage": "localized", "metastases": ["lymph_nodes"]},
    {"functional_status": "non_functioning", "syndromes": ["insulinoma"]},
    {"functional_status": "non_functioning", "syndromes": ["carcinoid_syndrome", "vipoma"]},
    {"differentiation": "well", "cell_type": "small_cell"},
    {"differentiation": "well", "cell_type": "large_cell"},
)


def invalid_cases() -> SearchStrategy[dict[str, Any]]:
    """Mappings the case model must reject, each with at least one faulty field.

    Built from a valid case with one thing broken, so that the fault, not noise, is what the
    model reports. Independent of the model's own checks: if the model ever accepted one of
    these, that would be a change of contract to decide on, not something to generate around.
    """
    _require_hypothesis()
    from hypothesis import strategies as st

    base = cases().map(lambda c: c.model_dump(mode="json", exclude_none=True))
    scalar_fields = [n for n, s in case_fields().items() if s.kind == "scalar"]
    bool_fields = [n for n, s in case_fields().items() if s.kind in ("flag", "tristate")]
    flag_fields = [n for n, s in case_fields().items() if s.kind == "flag"]
    set_fields = [n for n, s in case_fields().items() if s.kind == "set"]
    junk = st.one_of(st.integers(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=2))

    def without_site(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if k != "site"}

    def with_(data: dict[str, Any], name: str, value: object) -> dict[str, Any]:
        return {**data, name: value}

    unknown_name = st.one_of(
        st.sampled_from(_WRONG_NAMES),
        st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True),
    ).filter(lambda n: n not in Case.model_fields)
    bad_scalar = st.one_of(
        st.sampled_from(_NOT_A_VALUE),
        st.text(max_size=12).filter(lambda t: t.strip() not in _all_values()),
        junk,
        st.just({"value": "pancreas"}),
    )
    bad_set = st.one_of(
        st.lists(st.sampled_from(_NOT_A_VALUE[2:]), min_size=1, max_size=2),
        st.sampled_from(["liver", "carcinoid_syndrome", "men1"]),  # a bare string, not a set
        st.integers(),
        st.just([["liver"]]),
    )
    return st.one_of(
        base.map(without_site),
        st.builds(with_, base, unknown_name, st.sampled_from([1, "yes", ["liver"], None])),
        st.builds(with_, base, st.sampled_from(scalar_fields), bad_scalar),
        st.builds(with_, base, st.sampled_from(bool_fields), st.sampled_from(_NOT_A_BOOL)),
        st.builds(with_, base, st.sampled_from(flag_fields), st.none()),
        st.builds(with_, base, st.sampled_from(set_fields), bad_set),
        st.builds(lambda d, pair: {**d, **pair}, base, st.sampled_from(_IMPOSSIBLE)),
        st.builds(with_, base, st.just("title"), st.text(min_size=501, max_size=600)),
        st.builds(with_, base, st.just("notes"), st.just("x" * 10_001)),
    )


def _all_values() -> frozenset[str]:
    return frozenset(v for spec in case_fields().values() for v in spec.values)
