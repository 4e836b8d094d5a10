"""The mapping tables of docs/fhir.md, generated from mapping.yaml.

python -m netaid.fhir._doc      # prints them; tests/fhir/test_docs.py checks the docs hold them
"""

from __future__ import annotations

from netaid.fhir._mapping import Concept, mapping

__all__ = ["mapping_tables"]

_TITLES = {
    "primary_body_site": "Primary site: `PrimaryCancerCondition.bodySite`",
    "primary_condition_code": "Primary site and differentiation: `PrimaryCancerCondition.code`",
    "morphology": "Differentiation, cell type, functioning tumours: the histology-morphology-"
    "behavior extension, HistologicBehaviorAndType and TumorMorphology observations",
    "histologic_grade": "Grade: HistologicGrade observation value",
    "tnm_m": "Stage: TNM distant metastases (M) category value",
    "tnm_n": "Stage: TNM regional nodes (N) category value",
    "stage_group": "Stage: TNMStageGroup or CancerStage value, "
    "`PrimaryCancerCondition.stage.summary`",
    "secondary_condition_code": "Metastases: `SecondaryCancerCondition.code`",
    "secondary_body_site": "Metastases: `SecondaryCancerCondition.bodySite`",
    "condition_code": "Syndromes, carcinoid heart disease, inherited syndromes: `Condition.code`",
    "gene": "Inherited syndromes: GenomicVariant gene studied (component 48018-6)",
    "genomic_source_class": "GenomicVariant genomic source class (component 48002-0)",
    "clinical_significance": "GenomicVariant clinical significance (component 53037-8)",
    "disease_status": "Completely removed: CancerDiseaseStatus value, with a completed "
    "CancerRelatedSurgicalProcedure",
}


def _code(concept: Concept) -> str:
    if concept.code is not None:
        return f"`{concept.code}`"
    return f"`{concept.prefix}*` (writes `{concept.written_code}`)"


def _use(concept: Concept) -> str:
    if not concept.verified:
        return "**no**: read only"
    return "yes: read only" if concept.read_only else "yes"


def mapping_tables() -> str:
    m = mapping()
    lines: list[str] = []
    for key, title in _TITLES.items():
        lines += [
            f"### {title}",
            "",
            "| code system | code | meaning | gives | source | verified |",
        ]
        lines.append("|---|---|---|---|---|---|")
        for c in m.tables[key].concepts:
            gives = ", ".join(f"{k}={v}" for k, v in c.means) or "(nothing on its own)"
            row = [m.names[c.system], _code(c), c.display, gives, c.source, _use(c)]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    lines += [
        "### Observation codes: what an Observation is, when `meta.profile` does not say",
        "",
        "| code system | code | meaning | kind | source | verified |",
        "|---|---|---|---|---|---|",
    ]
    for table in (m.observation_kinds, m.variant_components):
        for c in table.concepts:
            row = [m.names[c.system], _code(c), c.display, str(c.kind), c.source, _use(c)]
            lines.append("| " + " | ".join(row) + " |")
    lines += ["", "### Sources", "", "| key | source |", "|---|---|"]
    lines += [f"| {key} | {text} |" for key, text in m.sources.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(mapping_tables(), end="")
