"""Reading a checked FHIR R4 Bundle into a MappedCase: which resources netaid reads, and what
each of their codes claims (netaid.fhir._claims combines the claims into the Case).

One primary cancer condition is found first (two are an error); then every resource is read by
type: Conditions (the primary, secondary cancers, syndromes and inherited syndromes),
Observations (by mCODE profile or code), cancer-related Procedures. Whatever is not read is
listed as ignored, with the reason.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from netaid.case import case_fields
from netaid.errors import CaseError, FieldProblem
from netaid.fhir._claims import Claims
from netaid.fhir._input import resource_name
from netaid.fhir._mapping import TEXT_EXTENSION, Concept, Table, mapping, normalize_code
from netaid.fhir._model import Finding, MappedCase, Provenance

__all__ = ["read_bundle"]

_SKIPPED_VERIFICATION = frozenset({"entered-in-error", "refuted"})
_SKIPPED_STATUS = frozenset({"entered-in-error", "cancelled"})
_FREE_TEXT = ("title", "notes")

Json = Mapping[str, Any]
Match = tuple[Concept, str, str, str, str]  # concept, element, system, code, display


_EMPTY: dict[str, Any] = {}


def _list(value: object) -> list[Any]:
    return value if type(value) is list else []


def _dict(value: object) -> Json:
    # JSON data: plain dicts (an exact type check is far cheaper than an ABC one).
    return value if type(value) is dict else _EMPTY


class _Reader(Claims):
    def __init__(self, origin: str | None) -> None:
        super().__init__(origin)
        self.m = mapping()

    # --- claims ---

    def claim(self, name: str, value: str, resource: str, match: Match) -> None:
        concept, element, system, code, display = match
        prov = Provenance(name, value, resource, element, system, code, display or concept.display)
        self.claims.setdefault(name, []).append(prov)

    def apply(self, matches: list[Match], resource: str) -> None:
        for match in matches:
            for name, value in match[0].means:
                self.claim(name, value, resource, match)

    def match(self, concept: object, table: Table, resource: str, element: str) -> list[Match]:
        """The codings of a CodeableConcept that `table` maps; if none, why (as unmappable)."""
        codings = _list(_dict(concept).get("coding"))
        found: list[Match] = []
        unknown: list[str] = []
        unmapped: list[str] = []
        for i, coding in enumerate(codings):
            coding = _dict(coding)
            system = self.m.canonical(coding.get("system"))
            code = coding.get("code")
            if system is None or not isinstance(code, str) or not code:
                unmapped.append("a coding without a system and code")
                continue
            if not self.m.known(system):
                unknown.append(system)
                continue
            normal = normalize_code(self.m.key_of(system), code)
            hit = table.lookup(system, normal)
            display = str(coding.get("display") or "")
            if hit is None:
                unmapped.append(
                    f"{self.m.names[system]} {code}" + (f" ({display})" if display else "")
                )
                continue
            found.append((hit, f"{element}.coding[{i}]", system, normal, display))
        if not found:
            self.unmappable.append(
                Finding(resource, element, _why(codings, unknown, unmapped, concept))
            )
        return found

    # --- resources ---

    def read(self, bundle: Json) -> MappedCase:
        entries = [
            (i, _dict(_dict(entry).get("resource")))
            for i, entry in enumerate(_list(bundle.get("entry")))
        ]
        primaries = self._find_primaries(bundle, entries)
        primary_refs = {ref for _, _, refs in primaries for ref in refs}
        primary_ids = {id(resource) for _, resource, _ in primaries}
        for index, resource in entries:
            name = resource_name(resource, index)
            kind = resource.get("resourceType")
            if not resource:
                self.ignored.append(Finding(f"entry[{index}]", "", "an entry without a resource"))
            elif id(resource) in primary_ids:
                self._primary(resource, name)
            elif kind == "Condition":
                self._condition(resource, name)
            elif kind == "Observation":
                self._observation(resource, name)
            elif kind == "Procedure":
                self._procedure(resource, name, primary_refs)
            else:
                self.ignored.append(Finding(name, "", f"{kind} resources are not read by netaid"))
        return self.result()

    def _profiles(self, resource: Json) -> set[str]:
        return {p for p in _list(_dict(resource.get("meta")).get("profile")) if isinstance(p, str)}

    def _condition_kind(self, resource: Json) -> str | None:
        profiles = self._profiles(resource)
        if self.m.profiles["primary_cancer_condition"] in profiles:
            return "primary"
        if self.m.profiles["secondary_cancer_condition"] in profiles:
            return "secondary"
        for kind, table in (
            ("secondary", "secondary_condition_code"),
            ("primary", "primary_condition_code"),
            ("other", "condition_code"),
        ):
            if self._codes_in(resource.get("code"), self.m.tables[table]):
                return kind
        if self._histology_extensions(resource):
            return "primary"
        return None

    def _codes_in(self, concept: object, table: Table) -> bool:
        for coding in _list(_dict(concept).get("coding")):
            coding = _dict(coding)
            system = self.m.canonical(coding.get("system"))
            code = coding.get("code")
            if (
                system
                and isinstance(code, str)
                and table.lookup(system, normalize_code(self.m.key_of(system), code))
            ):
                return True
        return False

    def _skipped(self, resource: Json, name: str, *, record: bool = True) -> bool:
        verification = {
            str(_dict(c).get("code"))
            for c in _list(_dict(resource.get("verificationStatus")).get("coding"))
        }
        marks = sorted(verification & _SKIPPED_VERIFICATION)
        status = resource.get("status")
        if status in _SKIPPED_STATUS:
            marks.append(str(status))
        if marks and record:
            self.ignored.append(Finding(name, "", f"marked {', '.join(marks)}"))
        return bool(marks)

    def _find_primaries(
        self, bundle: Json, entries: list[tuple[int, Json]]
    ) -> list[tuple[str, Json, set[str]]]:
        found = []
        raw_entries = _list(bundle.get("entry"))
        for index, resource in entries:
            if resource.get("resourceType") != "Condition":
                continue
            name = resource_name(resource, index)
            if self._condition_kind(resource) != "primary":
                continue
            if self._skipped(resource, name, record=False):  # recorded when read below
                continue
            refs = {f"Condition/{resource.get('id')}"}
            full_url = _dict(raw_entries[index]).get("fullUrl")
            if isinstance(full_url, str):
                refs.add(full_url)
            found.append((name, resource, refs))
        if len(found) > 1:
            names = ", ".join(name for name, _, _ in found)
            raise CaseError(
                [
                    FieldProblem(
                        "site",
                        f"the bundle has {len(found)} primary cancer conditions ({names}); "
                        "netaid discusses one tumour: give a bundle with one of them",
                    )
                ],
                origin=self.origin,
            )
        if not found:
            raise CaseError(
                [
                    FieldProblem(
                        "(bundle)",
                        "no primary cancer condition: netaid needs a Condition with the mCODE "
                        "PrimaryCancerCondition profile, a neuroendocrine or site cancer code, "
                        "or a histology-morphology-behavior extension",
                    )
                ],
                origin=self.origin,
            )
        return found

    def _histology_extensions(self, resource: Json) -> list[tuple[int, Json]]:
        url = self.m.extensions["histology_morphology_behavior"]
        return [
            (i, _dict(ext))
            for i, ext in enumerate(_list(resource.get("extension")))
            if _dict(ext).get("url") == url
        ]

    def _primary(self, resource: Json, name: str) -> None:
        tables = self.m.tables
        if resource.get("code") is not None:
            self.apply(
                self.match(resource["code"], tables["primary_condition_code"], name, "code"), name
            )
        for i, site in enumerate(_list(resource.get("bodySite"))):
            self.apply(self.match(site, tables["primary_body_site"], name, f"bodySite[{i}]"), name)
        for i, ext in self._histology_extensions(resource):
            element = f"extension[{i}].valueCodeableConcept"
            self.apply(
                self.match(ext.get("valueCodeableConcept"), tables["morphology"], name, element),
                name,
            )
        for i, stage in enumerate(_list(resource.get("stage"))):
            summary = _dict(stage).get("summary")
            if summary is not None:
                self._stage_group(summary, name, f"stage[{i}].summary")

    def _stage_group(self, concept: object, name: str, element: str) -> None:
        before = len(self.unmappable)
        matches = self.match(concept, self.m.tables["stage_group"], name, element)
        if not matches and len(self.unmappable) > before:
            # Stage groups I to III are defined per site: only stage IV says the same thing
            # (distant spread) for every neuroendocrine site, so the others are not read.
            self.unmappable.pop()
            self.ambiguous.append(
                Finding(
                    name,
                    element,
                    "only stage group IV is read (groups I-III differ by site): "
                    "stage not set from it",
                )
            )
        self.apply(matches, name)

    def _condition(self, resource: Json, name: str) -> None:
        if self._skipped(resource, name):
            return
        kind = self._condition_kind(resource)
        tables = self.m.tables
        if kind == "secondary":
            before = len(self.claims.get("metastases", []))
            if resource.get("code") is not None:
                self.apply(
                    self.match(resource["code"], tables["secondary_condition_code"], name, "code"),
                    name,
                )
            for i, site in enumerate(_list(resource.get("bodySite"))):
                self.apply(
                    self.match(site, tables["secondary_body_site"], name, f"bodySite[{i}]"), name
                )
            if len(self.claims.get("metastases", [])) == before:
                self.ambiguous.append(
                    Finding(
                        name,
                        "",
                        "a secondary cancer whose place netaid cannot read: "
                        "metastases not set from it",
                    )
                )
        elif kind == "other":
            self.apply(
                self.match(resource.get("code"), tables["condition_code"], name, "code"), name
            )
        else:
            self.ignored.append(Finding(name, "code", "not a condition netaid reads"))

    def _observation_kind(self, resource: Json) -> str | None:
        for profile in self._profiles(resource):
            kind = self.m.profile_kind(profile)
            if kind is not None:
                return {"cancer_stage": "stage_group", "tnm_stage_group": "stage_group"}.get(
                    kind, kind
                )
        for coding in _list(_dict(resource.get("code")).get("coding")):
            coding = _dict(coding)
            system = self.m.canonical(coding.get("system"))
            code = coding.get("code")
            if system == self.m.local:
                return "local"
            if system and isinstance(code, str):
                hit = self.m.observation_kinds.lookup(system, code.strip())
                if hit is not None:
                    return hit.kind
        return None

    def _observation(self, resource: Json, name: str) -> None:
        kind = self._observation_kind(resource)
        if kind is None:
            self.ignored.append(Finding(name, "code", "not an observation netaid reads"))
            return
        if self._skipped(resource, name):
            return
        value = resource.get("valueCodeableConcept")
        tables = self.m.tables
        if kind == "local":
            self._local(resource, name)
        elif kind == "genomic_variant":
            self._variant(resource, name)
        elif kind == "tumor_morphology" and value is None:
            self.ignored.append(
                Finding(
                    name,
                    "",
                    "a morphology panel: its members are read as observations of their own",
                )
            )
        elif value is None:
            self.unmappable.append(Finding(name, "value[x]", "no valueCodeableConcept to read"))
        elif kind == "stage_group":
            self._stage_group(value, name, "valueCodeableConcept")
        else:
            table = {
                "histologic_grade": "histologic_grade",
                "histologic_behavior_and_type": "morphology",
                "tumor_morphology": "morphology",
                "tnm_m": "tnm_m",
                "tnm_n": "tnm_n",
                "disease_status": "disease_status",
            }.get(kind)
            if table is None:
                self.ignored.append(Finding(name, "", f"a {kind} observation is not read"))
                return
            self.apply(self.match(value, tables[table], name, "valueCodeableConcept"), name)

    def _variant(self, resource: Json, name: str) -> None:
        readings: dict[str, list[Match]] = {}
        tables = self.m.tables
        for i, component in enumerate(_list(resource.get("component"))):
            component = _dict(component)
            kind = None
            for coding in _list(_dict(component.get("code")).get("coding")):
                coding = _dict(coding)
                system = self.m.canonical(coding.get("system"))
                code = coding.get("code")
                if system and isinstance(code, str):
                    hit = self.m.variant_components.lookup(system, code)
                    kind = hit.kind if hit else kind
            if kind is None:
                continue
            table = {"gene_studied": "gene"}.get(kind, kind)
            element = f"component[{i}].valueCodeableConcept"
            readings[table] = self.match(
                component.get("valueCodeableConcept"), tables[table], name, element
            )
        genes = readings.get("gene", [])
        if not genes:
            self.ignored.append(Finding(name, "component", "no gene studied that netaid reads"))
            return
        source = {c.means[0][1] for c, *_ in readings.get("genomic_source_class", [])}
        significance = {c.means[0][1] for c, *_ in readings.get("clinical_significance", [])}
        if source != {"germline"}:
            given = "/".join(sorted(source)) or "not given"
            finding = Finding(
                name,
                "component",
                f"genomic source class {given}: only a germline variant shows an inherited "
                "syndrome",
            )
            (self.ignored if source else self.ambiguous).append(finding)
            return
        if significance != {"pathogenic"}:
            finding = Finding(
                name,
                "component",
                "clinical significance "
                + ("not (likely) pathogenic" if significance else "not given")
                + ": inherited syndrome not set from it",
            )
            (self.ignored if significance else self.ambiguous).append(finding)
            return
        for match in genes:
            self.claim("inherited", match[0].means[0][1], name, match)

    def _local(self, resource: Json, name: str) -> None:
        """netaid's own case-field observations: code = field name, value = field value."""
        codings = [
            (i, _dict(c))
            for i, c in enumerate(_list(_dict(resource.get("code")).get("coding")))
            if _dict(c).get("system") == self.m.local
        ]
        _, coding = codings[0]
        field = str(coding.get("code"))
        spec = case_fields().get(field)
        value: str | None = None
        element = "value[x]"
        if field in _FREE_TEXT and isinstance(resource.get("valueString"), str):
            value, element = resource["valueString"], "valueString"
        elif field in _FREE_TEXT and _local_code(resource, self.m.local) == "empty-text":
            value, element = "", "valueCodeableConcept.coding[0]"
        elif field in _FREE_TEXT:
            value, element = _encoded_text(resource)
        elif spec is not None and isinstance(resource.get("valueBoolean"), bool):
            value, element = str(resource["valueBoolean"]).lower(), "valueBoolean"
        elif spec is not None:
            for j, c in enumerate(_list(_dict(resource.get("valueCodeableConcept")).get("coding"))):
                c = _dict(c)
                if c.get("system") == self.m.local and isinstance(c.get("code"), str):
                    value, element = c["code"], f"valueCodeableConcept.coding[{j}]"
                    break
        if value is None or (spec is not None and value not in spec.values):
            self.unmappable.append(
                Finding(name, element, f"not a value of the case field {field!r}")
            )
            return
        prov = Provenance(
            field,
            value,
            name,
            element,
            self.m.local,
            f"{field}={value}" if field not in _FREE_TEXT else field,
        )
        self.claims.setdefault(field, []).append(prov)

    def _procedure(self, resource: Json, name: str, primary_refs: set[str]) -> None:
        profiles = self._profiles(resource)
        reasons = {_dict(r).get("reference") for r in _list(resource.get("reasonReference"))}
        cancer_related = self.m.profiles["surgical_procedure"] in profiles or bool(
            reasons & primary_refs
        )
        if not cancer_related:
            self.ignored.append(Finding(name, "", "not a cancer-related surgical procedure"))
            return
        if resource.get("status") != "completed":
            self.ignored.append(
                Finding(
                    name, "status", f"status {resource.get('status')!r}: not a completed procedure"
                )
            )
            return
        self.procedures.append(
            Provenance(
                "completely_removed",
                "true",
                name,
                "status",
                "http://hl7.org/fhir/event-status",
                "completed",
            )
        )


def _encoded_text(resource: Json) -> tuple[str | None, str]:
    """Free text written in the base64 extension (text a FHIR string cannot hold)."""
    for i, ext in enumerate(_list(resource.get("extension"))):
        data = _dict(ext).get("valueBase64Binary")
        if _dict(ext).get("url") == TEXT_EXTENSION and isinstance(data, str):
            try:
                return base64.b64decode(data, validate=True).decode("utf-8"), f"extension[{i}]"
            except (ValueError, UnicodeDecodeError):
                return None, f"extension[{i}]"
    return None, "value[x]"


def _local_code(resource: Json, system: str) -> str | None:
    for coding in _list(_dict(resource.get("valueCodeableConcept")).get("coding")):
        if _dict(coding).get("system") == system:
            code = _dict(coding).get("code")
            return code if isinstance(code, str) else None
    return None


def _why(codings: list[Any], unknown: list[str], unmapped: list[str], concept: object) -> str:
    if not codings:
        text = _dict(concept).get("text")
        return f"no coding, only text {text!r}" if text else "no coding"
    parts = []
    if unknown:
        parts.append(
            "code system "
            + ", ".join(repr(u) for u in dict.fromkeys(unknown))
            + " is not one netaid knows "
            "(SNOMED CT, ICD-O-3, ICD-10-CM, LOINC, HGNC, NCI Thesaurus)"
        )
    if unmapped:
        parts.append(
            ", ".join(dict.fromkeys(unmapped)) + " not in netaid's mapping for this element"
        )
    return "; ".join(parts)


def read_bundle(bundle: Json, origin: str | None) -> MappedCase:
    """A checked Bundle (see _input) as a MappedCase; CaseError for conflicts."""
    return _Reader(origin).read(bundle)
