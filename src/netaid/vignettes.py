"""Teaching vignettes: valid, varied cases drawn reproducibly from a seed.

The same seed, constraints and netaid version always give the same cases: the draw uses only
`random.Random.random()` (whose sequence for an integer seed is stable across Python versions)
and walks fields and values in a fixed order, never in set or hash order.

Any valid case may be drawn. The weights below only shape variety (fewer unknowns, metastases
mostly with metastatic disease, a syndrome mostly with a functioning tumour); they are not
clinical knowledge and no rule reads them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netaid.case import (
    FREE_TEXT_FIELDS,
    Case,
    CaseValues,
    FieldSpec,
    case_fields,
    case_from_mapping,
    case_values,
)
from netaid.case import incompatibilities as _incompatibilities
from netaid.discussion import describe_value
from netaid.errors import NetaidError

__all__ = ["MAX_VIGNETTES", "draw_cases"]

#: More than a tutor could use; a guard against typing an extra zero.
MAX_VIGNETTES = 10_000
# Redraws allowed to avoid repeating an earlier case before accepting a repeat (constraints
# can leave fewer distinct cases than asked for).
_REDRAWS = 25

_TRISTATE_WEIGHTS = {"true": 0.4, "false": 0.4, "unknown": 0.2}


def _unknown_share(name: str, view: CaseValues) -> float:
    """How often a scalar field is left unknown."""
    if name == "site":
        return 0.05
    if name == "cell_type":
        return 0.4 if view.get("differentiation") == "poorly" else 0.9
    return 0.15


def _set_size_weights(name: str, view: CaseValues) -> Sequence[float]:
    """Weights of drawing 0, 1, 2, ... members for a set field, given what is drawn so far."""
    if name == "metastases":
        return (0.15, 0.55, 0.3) if view.get("stage") == "metastatic" else (0.6, 0.4)
    if name == "syndromes":
        return {"functioning": (0.1, 0.8, 0.1), "unknown": (0.7, 0.3)}.get(
            str(view.get("functional_status")), (1.0,)
        )
    if name == "inherited":
        return (0.85, 0.15)
    return (0.6, 0.3, 0.1)


def _flag_share(name: str, view: CaseValues) -> float:
    """How often a yes/no flag is drawn as yes."""
    syndromes = view.get("syndromes", frozenset())
    carcinoid = isinstance(syndromes, frozenset) and "carcinoid_syndrome" in syndromes
    if name == "carcinoid_heart_disease":
        return 0.3 if carcinoid else 0.0
    if name == "diarrhoea_despite_ssa":
        return 0.3 if carcinoid else 0.03
    if name == "completely_removed":
        return 0.0 if view.get("resectable") == "false" else 0.15
    return 0.1


def _weighted(rng: random.Random, items: Sequence[str], weights: Sequence[float]) -> str:
    # Our own cumulative draw rather than rng.choices(), so the sequence depends only on
    # rng.random(); ties to float edge cases fall to the last item.
    point = rng.random() * sum(weights)
    for item, weight in zip(items, weights, strict=True):
        if point < weight:
            return item
        point -= weight
    return items[-1]


def _compatible(view: CaseValues, name: str, value: str | frozenset[str]) -> bool:
    return not _incompatibilities({**view, name: value})


def _draw_scalar(rng: random.Random, spec: FieldSpec, view: CaseValues) -> str:
    allowed = [v for v in spec.values if _compatible(view, spec.name, v)]
    known = [v for v in allowed if v != "unknown"]
    # "unknown" is compatible with everything, so `allowed` is never empty.
    if not known or ("unknown" in allowed and rng.random() < _unknown_share(spec.name, view)):
        return "unknown"
    return _weighted(rng, known, [1.0] * len(known))


def _draw_tristate(rng: random.Random, spec: FieldSpec, view: CaseValues) -> str:
    allowed = [v for v in spec.values if _compatible(view, spec.name, v)]
    return _weighted(rng, allowed, [_TRISTATE_WEIGHTS.get(v, 0.2) for v in allowed])


def _draw_flag(rng: random.Random, spec: FieldSpec, view: CaseValues) -> str:
    wanted = "true" if rng.random() < _flag_share(spec.name, view) else "false"
    return wanted if _compatible(view, spec.name, wanted) else "false"


def _draw_set(rng: random.Random, spec: FieldSpec, view: CaseValues) -> frozenset[str]:
    weights = _set_size_weights(spec.name, view)
    size = int(_weighted(rng, [str(i) for i in range(len(weights))], weights))
    chosen: set[str] = set()
    for _ in range(size):
        candidates = [
            m
            for m in spec.values  # model order, never set order: reproducible
            if m not in chosen and _compatible(view, spec.name, frozenset(chosen | {m}))
        ]
        if not candidates:
            break
        chosen.add(_weighted(rng, candidates, [1.0] * len(candidates)))
    return frozenset(chosen)


_DRAW: dict[str, Callable[[random.Random, FieldSpec, CaseValues], str | frozenset[str]]] = {
    "scalar": _draw_scalar,
    "tristate": _draw_tristate,
    "flag": _draw_flag,
    "set": _draw_set,
}


def _fixed_values(constraints: Mapping[str, object]) -> CaseValues:
    """The constrained fields as rules see them; a CaseError if no case could meet them."""
    data = {k: v for k, v in constraints.items() if k not in FREE_TEXT_FIELDS}
    # Only the constraints are checked here, so a missing site gets a stand-in value.
    probe = case_from_mapping({"site": "unknown", **data}, origin="vignette constraints")
    values = case_values(probe)
    return {name: values[name] for name in data if name in values}


def _to_data(view: CaseValues) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, spec in case_fields().items():
        value = view[name]
        if isinstance(value, frozenset):
            if value:
                data[name] = sorted(value)
        elif spec.kind in ("tristate", "flag"):
            if value != "unknown":
                data[name] = value == "true"
        elif value != "unknown" or Case.model_fields[name].is_required():
            # An optional field left out is unknown; a required one (site) says "unknown".
            data[name] = value
    return data


def _title(prefix: str, number: int, view: CaseValues) -> str:
    facts = [
        describe_value(str(view[name]))
        for name in ("site", "grade", "stage")
        if view.get(name, "unknown") != "unknown"
    ]
    return f"{prefix} {number}: {', '.join(facts)}" if facts else f"{prefix} {number}"


def draw_cases(
    count: int, seed: int, constraints: Mapping[str, object] | None = None
) -> list[Case]:
    """`count` valid cases drawn from `seed`, each meeting `constraints`.

    `constraints` maps Case fields to the values every case must have, as a case file would
    give them; a set field's members are its whole set. `title`, if given, prefixes the
    numbered titles. Raises `CaseError` when the constraints are invalid or contradict each
    other, naming the fields.
    """
    if not 1 <= count <= MAX_VIGNETTES:
        raise NetaidError(f"count must be between 1 and {MAX_VIGNETTES}, got {count}")
    constraints = constraints or {}
    fixed = _fixed_values(constraints)
    prefix = " ".join(str(constraints.get("title") or "Vignette").split())
    rng = random.Random(seed)
    seen: set[tuple[object, ...]] = set()
    cases: list[Case] = []
    for number in range(1, count + 1):
        for _ in range(_REDRAWS):
            view = dict(fixed)
            for name, spec in case_fields().items():
                if name not in fixed:
                    view[name] = _DRAW[spec.kind](rng, spec, view)
            key = tuple(tuple(sorted(v)) if isinstance(v, frozenset) else v for v in view.values())
            if key not in seen:
                break
        seen.add(key)
        data = _to_data(view)
        data["title"] = _title(prefix, number, view)
        cases.append(case_from_mapping(data, origin=f"vignette {number}"))
    return cases
