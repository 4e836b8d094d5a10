"""Claims, and how they combine into Case values.

A claim is one (field, value) with the resource, element and code it came from. `_Claims`
holds them while a bundle is read (netaid.fhir._read) and combines them at the end, never
silently: two claims for different values of one field, or values the Case model rejects
together, are a CaseError naming the resources; a combination the Case model accepts but the
rulebook flags is kept, with a note. Stage and complete removal are combined from several
readings (TNM categories, a procedure and a disease status) here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from netaid.case import Case, case_fields, case_from_mapping, incompatibilities
from netaid.errors import CaseError, FieldProblem
from netaid.fhir._model import Finding, MappedCase, Provenance

__all__ = ["Claims", "where"]

_FREE_TEXT = ("title", "notes")


class Claims:
    def __init__(self, origin: str | None) -> None:
        self.origin = origin
        self.claims: dict[str, list[Provenance]] = {}
        self.problems: list[FieldProblem] = []
        self.ignored: list[Finding] = []
        self.ambiguous: list[Finding] = []
        self.unmappable: list[Finding] = []
        self.notes: list[Finding] = []
        self.procedures: list[Provenance] = []

    def _as(self, field: str, value: str, claims: Iterable[Provenance]) -> None:
        """Claim `field=value` on the evidence of earlier claims (TNM categories, ...)."""
        for c in claims:
            self.claims.setdefault(field, []).append(
                Provenance(field, value, c.resource, c.element, c.system, c.code, c.display)
            )

    def _conflict(self, field: str, claims: list[Provenance]) -> bool:
        values = sorted({c.value for c in claims})
        if len(values) < 2:
            return False
        said = "; ".join(f"{v} ({where(c for c in claims if c.value == v)})" for v in values)
        self.problems.append(FieldProblem(field, f"the bundle says both {said}"))
        return True

    def _stage(self) -> None:
        m = self.claims.pop("tnm_m", [])
        n = self.claims.pop("tnm_n", [])
        group = self.claims.pop("stage_group", [])
        if self._conflict("stage", m) or self._conflict("stage", n):
            return
        m_value = m[0].value if m else None
        n_value = n[0].value if n else None
        if group and m_value == "M0":
            self.problems.append(
                FieldProblem(
                    "stage",
                    f"the bundle says both stage group IV ({where(group)}) and M0 ({where(m)})",
                )
            )
        elif m_value == "M1" or group:
            self._as("stage", "metastatic", [*m, *group])
        elif m_value == "M0" and n_value is not None:
            self._as("stage", "regional" if n_value == "N1" else "localized", [*m, *n])
        elif m or n:
            given = (m or n)[0]
            self.ambiguous.append(
                Finding(
                    given.resource,
                    given.element,
                    "an M category needs an N category (and an N category an M category) "
                    "to tell the stage: stage not set from it",
                )
            )

    def _removed(self) -> None:
        statuses = self.claims.pop("disease_status", [])
        ned = [s for s in statuses if s.value == "ned"]
        other = [s for s in statuses if s.value != "ned"]
        if self.procedures and ned and not other:
            self._as("completely_removed", "true", [*self.procedures, *ned])
        elif ned and other:
            self.ambiguous.append(
                Finding(
                    where(statuses),
                    "",
                    "disease statuses disagree (no evidence of disease, and evident or "
                    "undetermined disease): completely_removed not set",
                )
            )
        elif self.procedures and not ned:
            self.ambiguous.append(
                Finding(
                    where(self.procedures),
                    "",
                    "a completed cancer-related surgical procedure without a disease status "
                    "of no evidence of disease: completely_removed not set",
                )
            )
        elif ned:
            self.ambiguous.append(
                Finding(
                    where(ned),
                    "",
                    "no evidence of disease without a cancer-related surgical procedure: "
                    "completely_removed not set",
                )
            )

    def result(self) -> MappedCase:
        self._stage()
        self._removed()
        data: dict[str, Any] = {}
        provenance: list[Provenance] = []
        for name in (*case_fields(), *_FREE_TEXT):
            claims = self.claims.get(name, [])
            if not claims:
                continue
            provenance.extend(claims)
            spec = case_fields().get(name)
            if spec is not None and spec.kind == "set":
                data[name] = sorted({c.value for c in claims})
            elif not self._conflict(name, claims):
                value: Any = claims[0].value
                if spec is not None and spec.kind in ("flag", "tristate"):
                    value = value == "true"
                data[name] = value
        if "site" not in data and not any(p.field == "site" for p in self.problems):
            data["site"] = "unknown"
            self.ambiguous.append(
                Finding(
                    "(bundle)", "", "no code netaid reads gives the primary site: site is unknown"
                )
            )
        view = {k: (frozenset(v) if isinstance(v, list) else _view(v)) for k, v in data.items()}
        for problem in incompatibilities(view):
            sources = [p for p in provenance if p.field in problem.fields]
            self.problems.append(
                FieldProblem(
                    ", ".join(problem.fields), f"{problem.message} (from {where(sources)})"
                )
            )
        if self.problems:
            raise CaseError(self.problems, origin=self.origin)
        self._flags(data, provenance)
        case: Case = case_from_mapping(data, origin=self.origin)
        return MappedCase(
            case=case,
            provenance=tuple(provenance),
            ignored=tuple(self.ignored),
            ambiguous=tuple(self.ambiguous),
            unmappable=tuple(self.unmappable),
            notes=tuple(self.notes),
        )

    def _flags(self, data: dict[str, Any], provenance: list[Provenance]) -> None:
        """Combinations the Case model accepts but documents read differently (grade against
        differentiation): kept as given, and said so, as the Case model does."""
        differentiation, grade = data.get("differentiation"), data.get("grade")
        if (differentiation, grade) in {("poorly", "G1"), ("poorly", "G2"), ("well", "G3")}:
            sources = [p for p in provenance if p.field in ("differentiation", "grade")]
            self.notes.append(
                Finding(
                    where(sources),
                    "",
                    f"{differentiation} differentiated with grade {grade}: kept as given, as "
                    "the Case model accepts it; the documents read this combination "
                    "differently, which the rulebook's notes say",
                )
            )


def _view(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def where(claims: Iterable[Provenance]) -> str:
    seen: list[str] = []
    for c in claims:
        text = f"{c.resource} {c.element}".strip()
        if text not in seen:
            seen.append(text)
    return ", ".join(seen)
