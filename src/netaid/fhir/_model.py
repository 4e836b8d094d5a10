"""What reading a bundle gives back: the Case, where each value came from, and what was not used."""

from __future__ import annotations

from dataclasses import dataclass, field

from netaid.case import Case

__all__ = ["Finding", "MappedCase", "Provenance"]


@dataclass(frozen=True)
class Provenance:
    """One code that gave a Case field its value."""

    field: str
    value: str
    resource: str  # "Condition/primary", or "Condition (entry 3)" without an id
    element: str  # "bodySite[0].coding[1]"
    system: str
    code: str
    display: str = ""


@dataclass(frozen=True)
class Finding:
    """Something in the bundle netaid did not turn into a Case value, and why."""

    resource: str
    element: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.resource} {self.element}".strip()
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class MappedCase:
    """A Case read from a FHIR bundle, with the provenance of every value.

    `ignored`: resources and codes netaid does not read (vital signs, a hypertension
    Condition). `ambiguous`: data netaid reads but that does not decide a value on its own (an
    N category without an M category). `unmappable`: codes in an element netaid reads that it
    cannot map (an unknown code system, a code outside the mapping). `notes`: combinations kept
    as given that the discussion's own notes flag.
    """

    case: Case
    provenance: tuple[Provenance, ...] = ()
    ignored: tuple[Finding, ...] = ()
    ambiguous: tuple[Finding, ...] = ()
    unmappable: tuple[Finding, ...] = ()
    notes: tuple[Finding, ...] = field(default=())

    def sources_of(self, name: str) -> tuple[Provenance, ...]:
        return tuple(p for p in self.provenance if p.field == name)

    def mapping_table(self) -> str:
        """The provenance table and the findings, as plain text for a terminal."""
        rows = [("field", "value", "resource", "element", "code")]
        for p in self.provenance:
            rows.append((p.field, p.value, p.resource, p.element, _code(p)))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = []
        for row in rows:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:4])]
            lines.append("  ".join([*cells, row[4]]).rstrip())
        for title, findings in (
            ("ambiguous", self.ambiguous),
            ("unmappable", self.unmappable),
            ("notes", self.notes),
            ("ignored", self.ignored),
        ):
            if findings:
                lines.append("")
                lines.append(f"{title}:")
                lines.extend(f"  - {finding}" for finding in findings)
        return "\n".join(lines) + "\n"


def _code(p: Provenance) -> str:
    text = f"{p.system}|{p.code}"
    return f"{text} ({p.display})" if p.display else text
