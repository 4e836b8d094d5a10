"""Relations the documents imply, checked over the whole class space and on random cases.

- Liver-directed therapy only for NETs in the liver: liver metastases, or a NET that started
  there (Macmillan: "Treatments for NETs in the liver", among them radiofrequency ablation,
  which "can treat NETs in the liver"; Frankly Speaking: hepatic artery embolisation "to
  shrink tumors in the liver").
- Syndrome-specific medicines only with their syndrome (Frankly Speaking, "Treatments to
  Manage Syndromes"): telotristat for carcinoid diarrhoea, cyproheptadine and H1 antagonists
  under carcinoid syndrome, proton pump inhibitors for Zollinger-Ellison, diazoxide for
  insulinoma. Diazoxide is listed under Zollinger-Ellison but described as reducing "the
  effects of insulin secretion", which the same document ties to insulinoma; the rulebook
  does not repeat the misplacement (docs/rulebook.md), and this relation holds it to that.
- Watchful waiting never for localized disease (Macmillan: for a NET that "spreads but is not
  causing symptoms"), and never for a fast-growing one (Macmillan offers it for "slow-growing"
  NETs; Cleveland Clinic: grade 3 cells "grow quickly"; City of Hope: poorly differentiated
  tumours are grade 3; Cleveland Clinic: small and large cell are poorly differentiated).
- An urgent warning whenever carcinoid syndrome or carcinoid heart disease is present
  (Cleveland Clinic: "Go to the emergency room if ...").

The whole-space check asks the class space for a valid case that breaks the relation (a
"probe" condition stands for the case side) and names the rule; any case found is confirmed
through `discuss`. The random check reads only `discuss`'s output.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netaid import Case, Discussion, Point, discuss
from netaid.check import ClassSpace, parse_condition
from netaid.rulebook import Rule
from netaid.strategies import cases
from tests.property._support import PROPERTY, TODAY, case_data
from tests.property.conftest import Subject

LIVER_THERAPIES = {"hepatic_artery_embolisation", "sirt", "radiofrequency_ablation"}
SYNDROME_MEDICINES = {
    "telotristat": {"carcinoid_syndrome"},
    "cyproheptadine": {"carcinoid_syndrome"},
    "h1_antagonist": {"carcinoid_syndrome"},
    "proton_pump_inhibitor": {"zollinger_ellison"},
    "diazoxide": {"insulinoma"},
}


def liver_directed(category: str | None, therapies: set[str]) -> bool:
    return category == "liver_directed_therapy" or bool(therapies & LIVER_THERAPIES)


def syndromes_needed(therapies: set[str]) -> list[set[str]]:
    return [SYNDROME_MEDICINES[t] for t in sorted(therapies) if t in SYNDROME_MEDICINES]


def fast_growing(data: dict[str, object]) -> bool:
    return (
        data["grade"] == "G3"
        or data["differentiation"] == "poorly"
        or data.get("cell_type") is not None
    )


def urgent_warning(kind: str, urgency: str) -> bool:
    return kind == "warning" and urgency == "urgent"


# --- the relations, on one discussion ---


def broken_relations(case: Case, discussion: Discussion) -> list[str]:
    data = case_data(case)
    broken = []
    points: tuple[Point, ...] = discussion.points
    for p in points:
        therapies = {t.value for t in p.therapies}
        category = p.category.value if p.category else None
        in_liver = "liver" in data["metastases"] or data["site"] == "liver"
        if liver_directed(category, therapies) and not in_liver:
            broken.append(f"{p.id}: liver-directed therapy without a NET in the liver")
        for needed in syndromes_needed(therapies):
            if not needed & set(data["syndromes"]):
                broken.append(f"{p.id}: {sorted(therapies)} without {sorted(needed)}")
        if category == "watchful_waiting" and data["stage"] == "localized":
            broken.append(f"{p.id}: watchful waiting for localized disease")
        if category == "watchful_waiting" and fast_growing(data):
            broken.append(f"{p.id}: watchful waiting for a fast-growing tumour")
    carcinoid = "carcinoid_syndrome" in data["syndromes"] or data["carcinoid_heart_disease"]
    if carcinoid and not any(urgent_warning(p.kind.value, p.urgency.value) for p in points):
        broken.append("carcinoid syndrome or heart disease without an urgent warning")
    return broken


@given(case=cases())
@PROPERTY
def test_random_cases(subject: Subject, case: Case) -> None:
    discussion = discuss(case, engine=subject.engine, today=TODAY)
    assert broken_relations(case, discussion) == []


@given(
    case=st.one_of(
        cases(syndromes=st.sets(st.sampled_from(["carcinoid_syndrome", "insulinoma"]), min_size=1)),
        cases(carcinoid_heart_disease=True),
        cases(stage="localized"),
        cases(metastases=st.sets(st.sampled_from(["bone", "lung", "other", "lymph_nodes"]))),
    )
)
@PROPERTY
def test_random_cases_where_the_relations_bite(subject: Subject, case: Case) -> None:
    discussion = discuss(case, engine=subject.engine, today=TODAY)
    assert broken_relations(case, discussion) == []


# --- the relations, over the whole class space ---

PROBES = {
    "probe.liver": {"any": [{"contains": {"metastases": "liver"}}, {"equals": {"site": "liver"}}]},
    "probe.localized": {"equals": {"stage": "localized"}},
    "probe.fast_growing": {
        "any": [
            {"equals": {"grade": "G3"}},
            {"equals": {"differentiation": "poorly"}},
            {"is_known": "cell_type"},
        ]
    },
    "probe.carcinoid": {
        "any": [
            {"contains": {"syndromes": "carcinoid_syndrome"}},
            {"equals": {"carcinoid_heart_disease": True}},
        ]
    },
    **{
        f"probe.{s}": {"contains": {"syndromes": s}}
        for s in sorted(set().union(*SYNDROME_MEDICINES.values()))
    },
}


@dataclass(frozen=True)
class Breach:
    rule: str | None
    what: str
    case: Case


def breaches(subject: Subject) -> Iterator[Breach]:
    space = ClassSpace.build(
        subject.rulebook, probes={n: parse_condition(c) for n, c in PROBES.items()}
    )

    def found(what: str, rule: Rule | None, **query: list[str]) -> Iterator[Breach]:
        assignment = space.find(**query)
        if assignment is not None:
            yield Breach(rule.id if rule else None, what, space.case(assignment))

    rules = subject.rulebook.rules
    for r in rules:
        therapies = {t.value for t in r.therapies}
        category = r.category.value if r.category else None
        if liver_directed(category, therapies):
            yield from found(
                "liver-directed therapy without a NET in the liver",
                r,
                all_of=[r.id],
                none_of=["probe.liver"],
            )
        for needed in syndromes_needed(therapies):
            yield from found(
                f"{sorted(therapies)} without {sorted(needed)}",
                r,
                all_of=[r.id],
                none_of=[f"probe.{s}" for s in needed],
            )
        if category == "watchful_waiting":
            yield from found(
                "watchful waiting for localized disease", r, all_of=[r.id, "probe.localized"]
            )
            yield from found(
                "watchful waiting for a fast-growing tumour",
                r,
                all_of=[r.id, "probe.fast_growing"],
            )
    urgent = [r.id for r in rules if urgent_warning(r.kind.value, r.urgency.value)]
    yield from found(
        "carcinoid syndrome or heart disease without an urgent warning",
        None,
        all_of=["probe.carcinoid"],
        none_of=urgent,
    )


def test_every_class(subject: Subject) -> None:
    found = list(breaches(subject))
    for breach in found:
        # Confirmed end to end: the real discussion of the case breaks the relation too.
        discussion = discuss(breach.case, engine=subject.engine, today=TODAY)
        assert broken_relations(breach.case, discussion), breach
    assert found == [], "\n".join(
        f"{b.rule or 'the rulebook'}: {b.what}, e.g. "
        f"{b.case.model_dump(mode='json', exclude_defaults=True)}"
        for b in found
    )


def test_a_broken_relation_is_found(subject: Subject) -> None:
    # The whole-space search must be able to fail: a rulebook whose liver-directed rules
    # lose their liver condition breaks the first relation.
    import dataclasses

    from netaid._conditions import Always

    liver = [
        r
        for r in subject.rulebook.rules
        if liver_directed(r.category.value if r.category else None, {t.value for t in r.therapies})
    ]
    if not liver:
        pytest.skip("no liver-directed rule in this rulebook")
    loosened = dataclasses.replace(liver[0], condition=Always())
    rules = tuple(loosened if r.id == loosened.id else r for r in subject.rulebook.rules)
    broken = dataclasses.replace(
        subject, rulebook=dataclasses.replace(subject.rulebook, rules=rules)
    )
    assert [b.rule for b in breaches(broken) if "liver" in b.what] == [loosened.id]
