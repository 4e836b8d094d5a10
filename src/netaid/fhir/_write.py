"""Writing a Case as an mCODE-shaped FHIR R4 transaction Bundle (plain JSON data).

Each value is written with the first verified standard code whose whole meaning the case
holds (a code that implied more than the case says is never used), in the resource mCODE
gives it. What no verified standard code says (symptomatic, a syndrome without a checked
code, cell type with differentiation unknown, ...) is written as an Observation in netaid's own
code system. Which values still need one is found by reading the standard part back with
netaid's own reader, so that reading the bundle gives the case again by construction.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from typing import Any

from netaid.case import Case, case_fields, case_values
from netaid.fhir._mapping import TEXT_EXTENSION, Concept, mapping

__all__ = ["bundle_from_case"]

_FREE_TEXT = ("title", "notes")
_EMPTY_TEXT = "empty-text"
# The FHIR string pattern as fhir.resources applies it (with Python's Unicode \\S).
_FHIR_STRING = re.compile(r"[ \r\n\t\S]+")
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_NAMESPACE = uuid.UUID("6f1c1f0e-6a43-5b9e-9d0c-6e6574616964")  # fixed: the same case, same ids


def _coding(concept: Concept) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": concept.system, "code": concept.written_code}
    if concept.display:
        coding["display"] = concept.display
    return coding


def _concept_json(concept: Concept) -> dict[str, Any]:
    return {"coding": [_coding(concept)]}


class _Writer:
    def __init__(self, case: Case) -> None:
        self.m = mapping()
        self.case = case
        self.view = case_values(case)
        digest = hashlib.sha256(case.model_dump_json().encode()).hexdigest()[:12]
        self.prefix = f"netaid-{digest}"
        self.entries: list[dict[str, Any]] = []
        self.patient = self._add({"resourceType": "Patient", "id": f"{self.prefix}-patient"})

    # --- helpers ---

    def _add(self, resource: dict[str, Any]) -> str:
        kind, ident = resource["resourceType"], resource["id"]
        self.entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, ident)}",
                "resource": resource,
                "request": {"method": "PUT", "url": f"{kind}/{ident}"},
            }
        )
        return f"{kind}/{ident}"

    def _id(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    def _holds(self, concept: Concept) -> bool:
        """Does the case hold everything the concept means?"""
        for name, value in concept.means:
            have = self.view.get(name)
            if isinstance(have, frozenset):
                if value not in have:
                    return False
            elif have != value:
                return False
        return True

    def _pick(
        self, table: str, fields: set[str], member: tuple[str, str] | None = None
    ) -> Concept | None:
        """The verified concept of `table` saying the most about `fields` that the case holds."""
        best: Concept | None = None
        for concept in self.m.tables[table].concepts:
            keys = {name for name, _ in concept.means}
            if not concept.verified or concept.read_only or not keys or not keys <= fields:
                continue
            if member is not None and member not in concept.means:
                continue
            if self._holds(concept) and (best is None or len(concept.means) > len(best.means)):
                best = concept
        return best

    def _observation(
        self, suffix: str, profile: str | None, code: dict[str, Any], value: dict[str, Any]
    ) -> None:
        resource: dict[str, Any] = {"resourceType": "Observation", "id": self._id(suffix)}
        if profile:
            resource["meta"] = {"profile": [self.m.profiles[profile]]}
        resource.update(
            {"status": "final", "code": code, "subject": {"reference": self.patient}, **value}
        )
        if profile and profile != "genomic_variant":
            resource["focus"] = [{"reference": self.primary}]
        self._add(resource)

    def _kind_code(self, kind: str) -> dict[str, Any]:
        for concept in self.m.observation_kinds.concepts:
            if concept.kind == kind and concept.verified:
                return _concept_json(concept)
        raise LookupError(kind)  # pragma: no cover - mapping.yaml lists every kind

    def _token(self, table: str, value: str) -> Concept:
        for concept in self.m.tables[table].concepts:
            if concept.verified and concept.means and concept.means[0][1] == value:
                return concept
        raise LookupError(f"{table}={value}")  # pragma: no cover

    # --- resources ---

    def primary_condition(self) -> None:
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": self._id("primary"),
            "meta": {"profile": [self.m.profiles["primary_cancer_condition"]]},
            "clinicalStatus": {"coding": [{"system": _CONDITION_CLINICAL, "code": "active"}]},
            "category": [
                {"coding": [{"system": _CONDITION_CATEGORY, "code": "problem-list-item"}]}
            ],
        }
        morphology = self._pick("morphology", {"differentiation", "cell_type"})
        if morphology is not None:
            url = self.m.extensions["histology_morphology_behavior"]
            resource["extension"] = [
                {"url": url, "valueCodeableConcept": _concept_json(morphology)}
            ]
        code = self._pick("primary_condition_code", {"site", "differentiation"})
        if code is not None:
            resource["code"] = _concept_json(code)
        else:
            fallback = self.m.writing["primary_condition_fallback"]
            resource["code"] = {
                "coding": [
                    {
                        "system": fallback["system"],
                        "code": fallback["code"],
                        "display": fallback["display"],
                    }
                ]
            }
        site = self._pick("primary_body_site", {"site"})
        if site is not None:
            resource["bodySite"] = [_concept_json(site)]
        resource["subject"] = {"reference": self.patient}
        self.primary = self._add(resource)

    def grade(self) -> None:
        concept = self._pick("histologic_grade", {"grade"})
        if concept is not None:
            # HistologicGrade derives from US Core's laboratory result: category laboratory.
            laboratory = {"coding": [{"system": _OBSERVATION_CATEGORY, "code": "laboratory"}]}
            self._observation(
                "grade",
                "histologic_grade",
                self._kind_code("histologic_grade"),
                {"category": [laboratory], "valueCodeableConcept": _concept_json(concept)},
            )

    def stage(self) -> None:
        categories = {
            "metastatic": [("tnm_m", "M1")],
            "regional": [("tnm_n", "N1"), ("tnm_m", "M0")],
            "localized": [("tnm_n", "N0"), ("tnm_m", "M0")],
        }.get(str(self.view["stage"]), [])
        for kind, value in categories:
            self._observation(
                kind.replace("_", "-"),
                kind,
                self._kind_code(kind),
                {"valueCodeableConcept": _concept_json(self._token(kind, value))},
            )

    def metastases(self) -> None:
        members = self.view["metastases"]
        assert isinstance(members, frozenset)
        for member in sorted(members):
            resource: dict[str, Any] = {
                "resourceType": "Condition",
                "id": self._id(f"metastasis-{member.replace('_', '-')}"),
                "meta": {"profile": [self.m.profiles["secondary_cancer_condition"]]},
                "clinicalStatus": {"coding": [{"system": _CONDITION_CLINICAL, "code": "active"}]},
            }
            site = self._pick("secondary_body_site", {"metastases"}, ("metastases", member))
            generic = self.m.tables["secondary_condition_code"].concepts[0]
            if site is not None and not generic.means:
                resource["code"] = _concept_json(generic)
                resource["bodySite"] = [_concept_json(site)]
            else:
                other = self.m.writing["other_metastasis_code"]
                coding = {
                    "system": other["system"],
                    "code": other["code"],
                    "display": other["display"],
                }
                resource["code"] = {"coding": [coding]}
            resource["subject"] = {"reference": self.patient}
            self._add(resource)

    def conditions(self) -> None:
        pairs: list[tuple[str, str]] = []
        for name in ("syndromes", "inherited"):
            members = self.view[name]
            assert isinstance(members, frozenset)
            pairs.extend((name, m) for m in sorted(members))
        if self.view["carcinoid_heart_disease"] == "true":
            pairs.append(("carcinoid_heart_disease", "true"))
        written: set[str] = set()
        for name, value in pairs:
            concept = self._pick("condition_code", {name, "syndromes"}, (name, value))
            if concept is None or concept.written_code in written:
                continue
            written.add(concept.written_code)
            self._add(
                {
                    "resourceType": "Condition",
                    "id": self._id(f"{name}-{value}".replace("_", "-")),
                    "clinicalStatus": {
                        "coding": [{"system": _CONDITION_CLINICAL, "code": "active"}]
                    },
                    "code": _concept_json(concept),
                    "subject": {"reference": self.patient},
                }
            )

    def removal(self) -> None:
        if not self.case.completely_removed:
            return
        self._add(
            {
                "resourceType": "Procedure",
                "id": self._id("surgery"),
                "meta": {"profile": [self.m.profiles["surgical_procedure"]]},
                "status": "completed",
                "code": dict(self.m.writing["surgical_procedure_code"]),
                "subject": {"reference": self.patient},
                "reasonReference": [{"reference": self.primary}],
            }
        )
        self._observation(
            "disease-status",
            "disease_status",
            self._kind_code("disease_status"),
            {"valueCodeableConcept": _concept_json(self._token("disease_status", "ned"))},
        )

    def local(self) -> None:
        """netaid's own observations for whatever the standard codes written do not say."""
        from netaid.fhir._read import read_bundle

        read = read_bundle(self.bundle(), origin=None).case
        system = self.m.local
        for name, spec in case_fields().items():
            want, got = getattr(self.case, name), getattr(read, name)
            if want == got:
                continue
            values: list[dict[str, Any]]
            if spec.kind == "set":
                missing = sorted(m.value for m in want - got)
                values = [
                    {"valueCodeableConcept": {"coding": [{"system": system, "code": m}]}}
                    for m in missing
                ]
            elif spec.kind in ("flag", "tristate"):
                values = [{"valueBoolean": bool(want)}]
            else:
                values = [
                    {"valueCodeableConcept": {"coding": [{"system": system, "code": want.value}]}}
                ]
            for i, value in enumerate(values):
                suffix = f"case-{name.replace('_', '-')}" + (f"-{i + 1}" if len(values) > 1 else "")
                self._observation(
                    suffix, None, {"coding": [{"system": system, "code": name}]}, value
                )
        for name in _FREE_TEXT:
            text = getattr(self.case, name)
            if text is None:
                continue
            self._observation(
                f"case-{name}",
                None,
                {"coding": [{"system": system, "code": name}]},
                _free_text(text, system),
            )

    def bundle(self) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "id": self.prefix,
            "type": "transaction",
            "entry": list(self.entries),
        }


def _free_text(text: str, system: str) -> dict[str, Any]:
    """An Observation's value for free text, which FHIR strings cannot always hold."""
    if not text:  # a FHIR string is never empty: empty text has a code of its own
        return {"valueCodeableConcept": {"coding": [{"system": system, "code": _EMPTY_TEXT}]}}
    if _FHIR_STRING.fullmatch(text):
        return {"valueString": text}
    # Whitespace such as NEL or a no-break space is refused in a string by fhir.resources: the
    # text goes byte for byte into an extension instead.
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return {"extension": [{"url": TEXT_EXTENSION, "valueBase64Binary": data}]}


def bundle_from_case(case: Case) -> dict[str, Any]:
    """An mCODE-shaped FHIR R4 transaction Bundle for `case`, as JSON data.

    The same case always gives the same bundle (ids are derived from the case), and
    `case_from_bundle(bundle_from_case(case)).case == case` for every valid case.
    """
    writer = _Writer(case)
    writer.primary_condition()
    writer.grade()
    writer.stage()
    writer.metastases()
    writer.conditions()
    writer.removal()
    writer.local()
    return writer.bundle()
