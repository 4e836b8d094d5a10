"""bundle_from_case then case_from_bundle gives the case back: for every class of the shipped
rulebook's case space, and for cases Hypothesis draws (free text included)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netaid import Case, Site, load_rulebook
from netaid.check import ClassSpace
from netaid.fhir import bundle_from_case, case_from_bundle
from netaid.fhir._mapping import mapping
from netaid.strategies import cases

pytest.importorskip("fhir.resources")


def round_trip(case: Case, *, validate: bool = True) -> Case:
    bundle = bundle_from_case(case)
    # Through JSON text, as a file or a FHIR server would carry it.
    return case_from_bundle(json.dumps(bundle), validate_resources=validate).case


def test_every_class_of_the_case_space_round_trips() -> None:
    space = ClassSpace.build(load_rulebook())
    covering = space.covering()
    for number, (assignment, _) in enumerate(covering):
        case = space.case(assignment)
        # Every class is read back; every 25th is also validated by fhir.resources (13 ms a
        # bundle), as every case Hypothesis draws below is.
        assert round_trip(case, validate=number % 25 == 0) == case
    assert len(covering) > 10


@settings(max_examples=150, deadline=None)
@given(
    case=cases(
        title=st.one_of(st.none(), st.text(max_size=40)),
        notes=st.one_of(st.none(), st.text(max_size=80)),
    )
)
def test_any_valid_case_round_trips(case: Case) -> None:
    assert round_trip(case) == case


@settings(max_examples=50, deadline=None)
@given(case=cases())
def test_writing_is_deterministic_and_uses_standard_codes_where_verified(case: Case) -> None:
    bundle = bundle_from_case(case)
    assert bundle == bundle_from_case(case)
    local = mapping().local
    text = json.dumps(bundle)
    # The site, when known and not unknown, always has a standard code.
    primary = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Condition" and e["resource"]["id"].endswith("primary")
    )
    if case.site.value != "unknown":
        assert primary["bodySite"][0]["coding"][0]["system"] != local
    if case.grade.value != "unknown":
        assert '"1155708003"' in text or '"1286893008"' in text or '"1155707008"' in text


def test_local_codes_only_for_what_no_verified_code_says() -> None:
    case = Case(
        site="small_bowel",
        grade="G1",
        differentiation="well",
        stage="metastatic",
        metastases=["liver"],
        syndromes=["carcinoid_syndrome"],
        inherited=["men1"],
    )
    bundle = bundle_from_case(case)
    systems = {
        coding["system"]
        for entry in bundle["entry"]
        for key in ("code", "valueCodeableConcept")
        for coding in entry["resource"].get(key, {}).get("coding", [])
    }
    assert mapping().local not in systems
    mapped = case_from_bundle(bundle)
    assert mapped.case == case
    assert {p.field for p in mapped.provenance} >= {"site", "grade", "stage", "metastases"}


@pytest.mark.parametrize("site", [s.value for s in Site])
def test_written_codes_never_say_more_than_the_case(site: str) -> None:
    """No read-only code (ileum for small_bowel, head of pancreas for pancreas) is written."""
    m = mapping()
    read_only = {
        (c.system, c.written_code) for t in m.tables.values() for c in t.concepts if c.read_only
    }
    case = Case(site=site, inherited=["men2"], syndromes=["carcinoid_syndrome"])
    for entry in bundle_from_case(case)["entry"]:
        resource = entry["resource"]
        for element in ("code", "bodySite"):
            concepts = resource.get(element, [])
            for concept in concepts if isinstance(concepts, list) else [concepts]:
                for coding in concept.get("coding", []):
                    assert (coding["system"], coding["code"]) not in read_only, coding
    assert case_from_bundle(bundle_from_case(case)).case == case


@pytest.mark.parametrize("text", ["", " ", "Café\xa0NET", "line\x85break", "plain title"])
def test_free_text_of_any_kind_round_trips(text: str) -> None:
    case = Case(site="lung", title=text, notes=text)
    assert round_trip(case) == case
