"""Reading bundles: an EHR-style export, conflicts, and malformed input (always a CaseError
naming the resource and element, never another exception)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from netaid import Case, CaseError
from netaid.fhir import bundle_from_case, case_from_bundle

pytest.importorskip("fhir.resources")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "fhir"
EHR = EXAMPLES / "ehr-export-small-bowel.json"
SCT = "http://snomed.info/sct"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"


def ehr() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EHR.read_text())
    return data


def resource(bundle: dict[str, Any], ident: str) -> dict[str, Any]:
    for entry in bundle["entry"]:
        if entry["resource"]["id"] == ident:
            found: dict[str, Any] = entry["resource"]
            return found
    raise KeyError(ident)


def test_an_ehr_export_reads_with_provenance_and_says_what_it_ignored() -> None:
    mapped = case_from_bundle(EHR.read_text(), origin=str(EHR))
    assert mapped.case == Case(
        site="small_bowel",
        grade="G1",
        differentiation="well",
        stage="metastatic",
        metastases=["liver"],
        syndromes=["carcinoid_syndrome"],
    )
    sources = {(p.field, p.resource, p.code) for p in mapped.provenance}
    assert ("site", "Condition/ehr-dx-net", "C17.2") in sources  # ICD-O-3 topography
    assert ("site", "Condition/ehr-dx-net", "C7A.012") in sources  # ICD-10-CM
    assert ("grade", "Observation/ehr-path-grade", "1155708003") in sources  # SNOMED CT
    assert ("differentiation", "Condition/ehr-dx-net", "8240/3") in sources
    ignored = {f.resource for f in mapped.ignored}
    assert {
        "Observation/ehr-vitals-hr",
        "Condition/ehr-dx-htn",
        "MedicationStatement/ehr-med-1",
    } <= ignored
    # A somatic MEN1 variant is not an inherited syndrome.
    assert any(
        f.resource == "Observation/ehr-ngs-1" and "somatic" in f.reason for f in mapped.ignored
    )
    assert mapped.case.inherited == frozenset()
    [unknown] = mapped.unmappable
    assert unknown.resource == "Condition/ehr-dx-liver-mets"
    assert unknown.element == "bodySite[0]"
    assert "ehr.example.org" in unknown.reason
    table = mapped.mapping_table()
    assert "Condition/ehr-dx-net" in table
    assert "unmappable:" in table


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_example_bundle_reads(path: Path) -> None:
    mapped = case_from_bundle(path.read_bytes(), origin=str(path))
    assert mapped.case.site.value != "unknown"


def test_a_parsed_fhir_resources_model_is_accepted() -> None:
    from fhir.resources.R4B.bundle import Bundle

    model = Bundle.model_validate(ehr())
    assert case_from_bundle(model).case == case_from_bundle(ehr()).case


def test_germline_pathogenic_variant_gives_an_inherited_syndrome() -> None:
    bundle = ehr()
    variant = resource(bundle, "ehr-ngs-1")
    variant["component"][1]["valueCodeableConcept"]["coding"][0]["code"] = "LA6683-2"
    variant["component"].append(
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "53037-8"}]},
            "valueCodeableConcept": {
                "coding": [{"system": "http://loinc.org", "code": "LA6668-3"}]
            },
        }
    )
    mapped = case_from_bundle(bundle)
    assert mapped.case.inherited == frozenset({"men1"})
    assert mapped.sources_of("inherited")[0].code == "HGNC:7010"


# --- conflicts: never resolved silently ---


def test_two_primary_cancers_are_an_error_naming_both() -> None:
    bundle = ehr()
    second = copy.deepcopy(resource(bundle, "ehr-dx-net"))
    second["id"] = "ehr-dx-second"
    bundle["entry"].append({"resource": second})
    with pytest.raises(CaseError) as caught:
        case_from_bundle(bundle)
    assert "Condition/ehr-dx-net" in str(caught.value)
    assert "Condition/ehr-dx-second" in str(caught.value)


def test_two_grades_are_an_error_naming_both_resources() -> None:
    bundle = ehr()
    other = copy.deepcopy(resource(bundle, "ehr-path-grade"))
    other["id"] = "ehr-path-grade-2"
    other["valueCodeableConcept"]["coding"][0]["code"] = "1155707008"  # high grade
    bundle["entry"].append({"resource": other})
    with pytest.raises(CaseError) as caught:
        case_from_bundle(bundle)
    text = str(caught.value)
    assert "grade" in text
    assert "Observation/ehr-path-grade " in text
    assert "Observation/ehr-path-grade-2" in text


def test_a_site_coded_two_ways_that_disagree_is_an_error() -> None:
    bundle = ehr()
    resource(bundle, "ehr-dx-net")["bodySite"][0]["coding"][0]["code"] = "C25.4"
    with pytest.raises(CaseError, match="site: the bundle says both pancreas"):
        case_from_bundle(bundle)


def test_a_metastasis_while_the_stage_says_localized_names_the_resources() -> None:
    case = Case(site="pancreas", stage="localized")
    bundle = bundle_from_case(case)
    liver = bundle_from_case(Case(site="pancreas", metastases=["liver"]))
    bundle["entry"] += [e for e in liver["entry"] if "metastasis" in e["resource"]["id"]]
    with pytest.raises(CaseError) as caught:
        case_from_bundle(bundle)
    text = str(caught.value)
    assert "distant metastases" in text
    assert "metastasis-liver" in text
    assert "tnm-m" in text


def test_morphology_that_contradicts_the_grade_is_kept_with_a_note() -> None:
    bundle = ehr()
    morphology = resource(bundle, "ehr-dx-net")["extension"][0]["valueCodeableConcept"]
    morphology["coding"][0]["code"] = "8246/3"  # neuroendocrine carcinoma: poorly differentiated
    mapped = case_from_bundle(bundle)
    assert (mapped.case.differentiation.value, mapped.case.grade.value) == ("poorly", "G1")
    [note] = mapped.notes
    assert "Condition/ehr-dx-net" in note.resource
    assert "Observation/ehr-path-grade" in note.resource


def test_an_insulinoma_morphology_means_functioning() -> None:
    bundle = ehr()
    resource(bundle, "ehr-dx-net")["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = (
        "M81513"
    )
    mapped = case_from_bundle(bundle)
    assert mapped.case.functional_status.value == "functioning"
    assert "insulinoma" in mapped.case.syndromes


def test_tnm_categories_give_the_stage() -> None:
    def staged(m: str, n: str | None) -> str:
        bundle = ehr()
        bundle["entry"] = [e for e in bundle["entry"] if "liver" not in e["resource"]["id"]]
        resource(bundle, "ehr-stage-m")["valueCodeableConcept"]["coding"][0]["code"] = m
        if n is not None:
            obs = copy.deepcopy(resource(bundle, "ehr-stage-m"))
            obs["id"] = "ehr-stage-n"
            obs["code"]["coding"][0]["code"] = "21906-3"
            obs["valueCodeableConcept"]["coding"][0]["code"] = n
            bundle["entry"].append({"resource": obs})
        return case_from_bundle(bundle).case.stage.value

    assert staged("1229903009", None) == "metastatic"
    assert staged("1229901006", "1229967007") == "localized"
    assert staged("1229901006", "1229973008") == "regional"
    assert staged("1229901006", None) == "unknown"  # M0 alone: localized or regional


# --- malformed input ---


def error_of(bundle: object) -> str:
    with pytest.raises(CaseError) as caught:
        case_from_bundle(bundle, origin="bundle.json")
    return str(caught.value)


@pytest.mark.parametrize(
    ("bundle", "expected"),
    [
        ({"resourceType": "Patient", "id": "p"}, "not a FHIR Bundle: resourceType 'Patient'"),
        ({"site": "pancreas"}, "not a FHIR Bundle: no resourceType"),
        ("[1, 2]", "not a FHIR Bundle: a JSON array"),
        ("{not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (42, "expected a FHIR Bundle"),
        ('{"resourceType": "Bundle", "type": "collection", "type": "x"}', "type"),
    ],
)
def test_not_a_bundle(bundle: object, expected: str) -> None:
    assert expected in error_of(bundle)


def test_a_resource_of_the_wrong_shape_names_resource_and_element() -> None:
    bundle = ehr()
    resource(bundle, "ehr-dx-net")["bodySite"] = "ileum"
    resource(bundle, "ehr-path-grade")["valueCodeableConcept"]["coding"][0]["system"] = 7
    text = error_of(bundle)
    assert "Condition/ehr-dx-net bodySite" in text
    assert "Observation/ehr-path-grade valueCodeableConcept.coding[0].system" in text


def test_a_bundle_without_a_primary_cancer_says_so() -> None:
    bundle = ehr()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["id"] != "ehr-dx-net"]
    assert "no primary cancer condition" in error_of(bundle)


def test_unknown_code_systems_are_reported_with_resource_and_element() -> None:
    bundle = ehr()
    site = resource(bundle, "ehr-dx-net")
    site["bodySite"][0]["coding"][0]["system"] = "http://example.org/anatomy"
    site["code"]["coding"] = [site["code"]["coding"][1]]  # the local code only
    mapped = case_from_bundle(bundle)
    assert mapped.case.site.value == "unknown"
    elements = {(f.resource, f.element) for f in mapped.unmappable}
    assert ("Condition/ehr-dx-net", "bodySite[0]") in elements
    assert ("Condition/ehr-dx-net", "code") in elements
    assert any("site is unknown" in f.reason for f in mapped.ambiguous)


def test_a_10_mb_bundle_is_refused_clearly() -> None:
    bundle = ehr()
    filler = {"resourceType": "Basic", "id": "pad", "code": {"text": "x" * (10 * 1024 * 1024)}}
    bundle["entry"].append({"resource": filler})
    assert "larger than 8 MiB" in error_of(json.dumps(bundle))
    many = ehr()
    many["entry"] += [
        {"resource": {"resourceType": "Basic", "id": f"b{i}", "code": {"text": "x"}}}
        for i in range(150_000)
    ]
    assert "too large for one patient" in error_of(many)


def test_deeply_nested_extensions_name_the_resource() -> None:
    bundle = ehr()
    ext: dict[str, Any] = {"url": "http://example.org/x", "valueString": "deep"}
    for _ in range(60):
        ext = {"url": "http://example.org/x", "extension": [ext]}
    resource(bundle, "ehr-dx-net")["extension"].append(ext)
    text = error_of(bundle)
    assert "Condition/ehr-dx-net extension[1].extension[0]" in text
    assert "nested deeper than" in text
    # As text nested far beyond Python's recursion limit: still a CaseError.
    assert "nested deeper than" in error_of(
        '{"resourceType": "Bundle", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    )


def test_stage_group_iv_on_the_condition_is_metastatic_and_other_groups_are_ambiguous() -> None:
    bundle = ehr()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["id"] != "ehr-stage-m"]
    summary = {"coding": [{"system": SCT, "code": "1222837003"}]}
    resource(bundle, "ehr-dx-net")["stage"] = [{"summary": summary}]
    mapped = case_from_bundle(bundle)
    assert mapped.case.stage.value == "metastatic"
    assert mapped.sources_of("stage")[0].element == "stage[0].summary.coding[0]"
    summary["coding"][0]["code"] = "1222769001"  # AJCC stage IIB: means different things by site
    bundle["entry"] = [e for e in bundle["entry"] if "liver" not in e["resource"]["id"]]
    mapped = case_from_bundle(bundle)
    assert mapped.case.stage.value == "unknown"
    assert any("stage group IV" in f.reason for f in mapped.ambiguous)


def test_completely_removed_needs_surgery_and_no_evidence_of_disease() -> None:
    removed = Case(site="small_bowel", completely_removed=True)
    bundle = bundle_from_case(removed)
    assert case_from_bundle(bundle).case == removed
    surgery_only = copy.deepcopy(bundle)
    surgery_only["entry"] = [
        e for e in surgery_only["entry"] if not e["resource"]["id"].endswith("disease-status")
    ]
    mapped = case_from_bundle(surgery_only)
    assert mapped.case.completely_removed is False
    assert any("surgical procedure without" in f.reason for f in mapped.ambiguous)
    status_only = copy.deepcopy(bundle)
    status_only["entry"] = [
        e for e in status_only["entry"] if e["resource"]["resourceType"] != "Procedure"
    ]
    mapped = case_from_bundle(status_only)
    assert mapped.case.completely_removed is False
    assert any("without a cancer-related surgical procedure" in f.reason for f in mapped.ambiguous)


def test_entered_in_error_resources_are_skipped() -> None:
    bundle = ehr()
    grade = resource(bundle, "ehr-path-grade")
    grade["status"] = "entered-in-error"
    mapped = case_from_bundle(bundle)
    assert mapped.case.grade.value == "unknown"
    assert [f.reason for f in mapped.ignored if f.resource == "Observation/ehr-path-grade"] == [
        "marked entered-in-error"
    ]


@pytest.mark.parametrize(
    "path",
    sorted(p for p in EXAMPLES.glob("*.json") if not p.name.startswith("ehr-")),
    ids=lambda p: p.stem,
)
def test_written_examples_match_their_yaml_case(path: Path) -> None:
    """examples/fhir/<stem>.json is bundle_from_case(examples/<stem>.yaml); if a YAML example
    changes, rewrite it: json.dumps(bundle_from_case(load_case(yaml)), indent=2) + newline."""
    from netaid import load_case

    case = load_case(path.parents[1] / f"{path.stem}.yaml")
    assert json.loads(path.read_text()) == bundle_from_case(case)
    assert case_from_bundle(path.read_text()).case == case


def test_resources_netaid_does_not_read_are_not_validated() -> None:
    bundle = ehr()
    resource(bundle, "ehr-enc-17")["class"] = "not a coding"  # an Encounter: never read
    bundle["entry"].append({"fullUrl": "urn:uuid:6d1b3a44-0000-4000-8000-000000000000"})
    mapped = case_from_bundle(bundle)
    assert mapped.case.site.value == "small_bowel"
    assert "Encounter/ehr-enc-17" in {f.resource for f in mapped.ignored}
    assert "entry[12]" in {f.resource for f in mapped.ignored}


def test_an_entry_that_is_not_a_resource_is_an_error() -> None:
    bundle = ehr()
    bundle["entry"].append({"resource": {"id": "x"}})
    assert "entry[12].resource: not a resource: no resourceType" in error_of(bundle)
    bundle["entry"][-1] = "a string"
    assert "entry[12]" in error_of(bundle)


def test_grade_codes_used_in_practice_are_read() -> None:
    bundle = ehr()
    grade = resource(bundle, "ehr-path-grade")
    grade["meta"] = {}
    grade["code"] = {"coding": [{"system": SCT, "code": "371469007"}]}  # Histologic grade
    grade["valueCodeableConcept"] = {"coding": [{"system": SCT, "code": "1663004"}]}  # G2 grade
    assert case_from_bundle(bundle).case.grade.value == "G2"
