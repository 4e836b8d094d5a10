"""Teaching vignettes: valid, coherent, varied cases drawn reproducibly from a seed.

The same seed, constraints, rulebook and netaid version always give the same cases: the draw
uses only `random.Random.random()` (whose sequence for an integer seed is stable across Python
versions) and walks fields and values in a fixed order, never in set or hash order.

**Coherent by default.** A profile is coherent when no rule of the rulebook in use whose id
starts with `note.coherence.` or `note.flag.` (`COHERENCE_PREFIXES`) holds for it: those notes
say the documents make the profile implausible (an insulinoma outside the pancreas, grade and
differentiation that disagree, ...). The relations are the rulebook's, never repeated here:
`incoherence_notes` asks the rulebook. Flagged profiles are drawn only with `coherent=False`.
Coherent cases are drawn by rejection: a drawn profile that a coherence note flags is thrown
away and drawn again, at most `MAX_ATTEMPTS` times per case.

**Sites as the documents give their frequency.** `SITE_WEIGHTS` below, with where each figure
comes from. The site of a case is drawn first and kept while the other fields are redrawn (up
to `_TRIES_PER_SITE` times), so rejection does not shift the sites away from these weights,
unless the constraints leave a site few or no coherent cases (then another site is drawn).

The other weights only shape variety (fewer unknowns, metastases mostly with metastatic
disease, a syndrome mostly with a functioning tumour); they are not clinical knowledge and no
rule reads them.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from netaid._conditions import holds
from netaid.case import (
    FREE_TEXT_FIELDS,
    Case,
    CaseValues,
    FieldSpec,
    Site,
    case_fields,
    case_from_mapping,
    case_values,
)
from netaid.case import incompatibilities as _incompatibilities
from netaid.discussion import describe_value
from netaid.engines import Engine
from netaid.errors import NetaidError
from netaid.rulebook import Rule, Rulebook

__all__ = [
    "COHERENCE_PREFIXES",
    "MAX_ATTEMPTS",
    "MAX_VIGNETTES",
    "SITE_WEIGHTS",
    "VignetteError",
    "draw_cases",
    "incoherence_notes",
]

#: More than a tutor could use; a guard against typing an extra zero.
MAX_VIGNETTES = 10_000
#: Draws allowed for one case before the constraints are declared impossible or too rare for
#: coherent profiles.
MAX_ATTEMPTS = 5_000
# Redraws of the other fields at one drawn site before the site is drawn again (when the
# site is not constrained): enough that the sites keep their weights, few enough that a site
# the constraints make incoherent is soon left.
_TRIES_PER_SITE = 25
# Redraws allowed to avoid repeating an earlier case before accepting a repeat (constraints
# can leave fewer distinct cases than asked for).
_REDRAWS = 25

# The documents' figures for where NETs start, in percent of NETs.
_DOCUMENTED_SITE_SHARES = {
    # Cleveland Clinic, "What are the different types of neuroendocrine tumors?": "NETs develop
    # most commonly in the GI tract, specifically in the large intestine (20%), small
    # intestine (19%), and appendix (4%)."
    # Judgement, not the documents': the case model splits the large intestine into colon and
    # rectum and no document divides its 20% between them, so each gets half.
    "colon": 10.0,
    "rectum": 10.0,
    # The small intestine's 19% is the case model's small_bowel. Judgement: duodenum and
    # ampulla, which the model names apart, have no figure of their own in any document, so
    # they take the weight of the other sites below.
    "small_bowel": 19.0,
    "appendix": 4.0,
    # Cleveland Clinic, same section: "The lung is the second most common location of NETs.
    # About 30% of NETs occur in the bronchial system".
    "lung": 30.0,
    # Cleveland Clinic, same section: "Approximately 7% of NETs can develop in the pancreas".
    "pancreas": 7.0,
}
# Every other site: no document gives a figure. Macmillan names stomach NETs among its groups
# and says "Rarely, NETs occur in other areas, including the: liver, gallbladder, bile ducts,
# kidneys, ovaries, testicles"; the rest are only named as places NETs can start. Judgement:
# each gets 1 (percent), one equal weight below the smallest figure the documents give (the
# appendix's 4%).
_OTHER_SITE_SHARE = 1.0

#: How often a drawn case starts at each known site (relative weights, in site order): the
#: documents' figures in percent where they give one, a small equal weight elsewhere.
SITE_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        site.value: _DOCUMENTED_SITE_SHARES.get(site.value, _OTHER_SITE_SHARE)
        for site in Site
        if site is not Site.UNKNOWN
    }
)
#: How often the site is left unknown (before the weights above are used); for variety only.
_UNKNOWN_SITE_SHARE = 0.05

_TRISTATE_WEIGHTS = {"true": 0.4, "false": 0.4, "unknown": 0.2}

#: The ids of the notes that say a profile is one the documents make implausible (as
#: `netaid.check.COHERENCE_PREFIXES`, which `netaid check` counts; not imported from there,
#: which would load that large module with every command).
COHERENCE_PREFIXES = ("note.coherence.", "note.flag.")


class VignetteError(NetaidError):
    """No coherent case could be drawn that meets the constraints."""


def _coherence_rules(rulebook: Rulebook) -> tuple[Rule, ...]:
    return tuple(r for r in rulebook.rules if r.id.startswith(COHERENCE_PREFIXES))


def _rulebook_of(rules: Rulebook | Engine | None) -> Rulebook:
    if rules is None:
        from netaid._api import default_engine  # the shipped rulebook, loaded once

        return default_engine().rulebook
    return rules.rulebook if isinstance(rules, Engine) else rules


def incoherence_notes(case: Case, rules: Rulebook | Engine | None = None) -> tuple[str, ...]:
    """The ids of the coherence notes (`COHERENCE_PREFIXES`) that hold for `case`, sorted.

    Empty when the case is coherent: nothing in the rulebook (the shipped one by default, or
    an engine's) says the documents make the profile implausible. Conditions are evaluated in
    plain Python (`Rule.applies_to`), the reference every engine is tested against.
    """
    values = case_values(case)
    return tuple(
        sorted(r.id for r in _coherence_rules(_rulebook_of(rules)) if holds(r.condition, values))
    )


def _unknown_share(name: str, view: CaseValues) -> float:
    """How often a scalar field is left unknown."""
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


def _draw_site(rng: random.Random) -> str:
    if rng.random() < _UNKNOWN_SITE_SHARE:
        return "unknown"
    return _weighted(rng, list(SITE_WEIGHTS), list(SITE_WEIGHTS.values()))


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


def _key(view: CaseValues) -> tuple[object, ...]:
    return tuple(
        tuple(sorted(value)) if isinstance(value, frozenset) else value
        for value in (view[name] for name in case_fields())
    )


class _Drawer:
    """Draws one case after another from one seeded generator."""

    def __init__(self, rng: random.Random, fixed: CaseValues, checks: tuple[Rule, ...]) -> None:
        self.rng = rng
        self.fixed = fixed
        self.checks = checks
        self.seen: set[tuple[object, ...]] = set()

    def _profile(self, site: str) -> CaseValues:
        # The constraints first: every drawn value must be compatible with all of them.
        view: CaseValues = {**self.fixed, "site": site}
        for name, spec in case_fields().items():
            if name not in view:
                view[name] = _DRAW[spec.kind](self.rng, spec, view)
        return view

    def next(self, number: int) -> CaseValues:
        """A valid case meeting the constraints, coherent if checks are given, preferably
        one not drawn before."""
        flagged: Counter[str] = Counter()
        repeat: CaseValues | None = None
        repeats = 0
        pinned = self.fixed.get("site")
        site = ""
        tries = _TRIES_PER_SITE
        for _ in range(MAX_ATTEMPTS):
            if isinstance(pinned, str):
                site = pinned
            elif tries >= _TRIES_PER_SITE:
                site, tries = _draw_site(self.rng), 0
            tries += 1
            view = self._profile(site)
            notes = [r.id for r in self.checks if holds(r.condition, view)]
            if notes:
                flagged.update(notes)
                continue
            key = _key(view)
            if key not in self.seen:
                self.seen.add(key)
                return view
            repeat = repeat or view
            repeats += 1
            if repeats >= _REDRAWS:
                return repeat
        if repeat is not None:
            return repeat
        raise VignetteError(_too_rare(number, flagged))


def _too_rare(number: int, flagged: Counter[str]) -> str:
    ranked = sorted(flagged.items(), key=lambda item: (-item[1], item[0]))
    notes = "; ".join(f"{rule_id} ({n:,} draws)" for rule_id, n in ranked[:5])
    return (
        f"vignette constraints: no coherent case in {MAX_ATTEMPTS:,} draws for vignette "
        f"{number}; every draw was flagged as implausible: {notes}. The constraints make "
        "coherent cases impossible or too rare: relax them, or draw flagged cases too "
        "(--include-flagged; coherent=False in Python)"
    )


def draw_cases(
    count: int,
    seed: int,
    constraints: Mapping[str, object] | None = None,
    *,
    rules: Rulebook | Engine | None = None,
    coherent: bool = True,
) -> list[Case]:
    """`count` valid cases drawn from `seed`, each meeting `constraints`.

    `constraints` maps Case fields to the values every case must have, as a case file would
    give them; a set field's members are its whole set (an empty list pins the empty set) and
    a yes/no field may be pinned false. `title`, if given, prefixes the numbered titles.

    With `coherent` (the default), every case is coherent for the rulebook of `rules` (the
    shipped one by default): `incoherence_notes` is empty for it. Unless constrained, one
    site in twenty is unknown and the others follow `SITE_WEIGHTS`.

    Raises `CaseError` when the constraints are invalid or contradict each other, naming the
    fields, and `VignetteError` when no coherent case meeting them turned up in
    `MAX_ATTEMPTS` draws.
    """
    if not 1 <= count <= MAX_VIGNETTES:
        raise NetaidError(f"count must be between 1 and {MAX_VIGNETTES}, got {count}")
    constraints = constraints or {}
    fixed = _fixed_values(constraints)
    checks = _coherence_rules(_rulebook_of(rules)) if coherent else ()
    prefix = " ".join(str(constraints.get("title") or "Vignette").split())
    drawer = _Drawer(random.Random(seed), fixed, checks)
    cases: list[Case] = []
    for number in range(1, count + 1):
        view = drawer.next(number)
        data = _to_data(view)
        data["title"] = _title(prefix, number, view)
        cases.append(case_from_mapping(data, origin=f"vignette {number}"))
    return cases
