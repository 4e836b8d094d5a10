"""docs/fhir.md lists every code of the mapping with its source."""

from __future__ import annotations

from pathlib import Path

from netaid.fhir._mapping import mapping

DOC = Path(__file__).resolve().parents[2] / "docs" / "fhir.md"


def test_the_docs_hold_the_generated_mapping_tables() -> None:
    from netaid.fhir._doc import mapping_tables

    assert mapping_tables() in DOC.read_text(encoding="utf-8")


def test_every_code_of_the_mapping_is_in_the_docs() -> None:
    text = DOC.read_text(encoding="utf-8")
    m = mapping()
    tables = [*m.tables.values(), m.observation_kinds, m.variant_components]
    missing = [
        c.code or c.prefix
        for table in tables
        for c in table.concepts
        if f"`{c.code}`" not in text and f"`{c.prefix}*`" not in text
    ]
    assert missing == []
    for key in m.sources:
        assert f"| {key} |" in text


def test_every_written_code_reads_back_as_itself() -> None:
    from netaid.fhir._mapping import normalize_code

    m = mapping()
    for table in m.tables.values():
        for concept in table.concepts:
            code = normalize_code(m.key_of(concept.system), concept.written_code)
            assert table.lookup(concept.system, code) is concept
