"""Cases from FHIR: read an mCODE patient bundle into a Case, and write a Case as one.

    from netaid.fhir import case_from_bundle, bundle_from_case

    mapped = case_from_bundle(bundle)      # a dict, JSON text or a fhir.resources Bundle
    mapped.case                            # the netaid Case
    print(mapped.mapping_table())          # which resource, element and code gave each field
    bundle = bundle_from_case(mapped.case) # an mCODE-shaped R4 transaction Bundle (a dict)

The mapping is data (mapping.yaml beside this module, documented in docs/fhir.md): every code
names its source. Reading validates the bundle with the FHIR models of `fhir.resources`
(the optional extra `netaid[fhir]`), imported only when a bundle is read; writing needs no
extra. Terminology only: no rule reads FHIR, and nothing here adds clinical content.
"""

from __future__ import annotations

from netaid.fhir._input import MAX_BUNDLE_CHARS, bundle_data, validate
from netaid.fhir._model import Finding, MappedCase, Provenance
from netaid.fhir._read import read_bundle
from netaid.fhir._write import bundle_from_case

__all__ = [
    "MAX_BUNDLE_CHARS",
    "Finding",
    "MappedCase",
    "Provenance",
    "bundle_from_case",
    "case_from_bundle",
]


def case_from_bundle(
    bundle: object, *, origin: str | None = None, validate_resources: bool = True
) -> MappedCase:
    """Read a FHIR R4 Bundle (a dict, JSON text or bytes, or a parsed fhir.resources model).

    Raises CaseError, naming the resource and element, for anything that is not a usable
    Bundle (not a Bundle, a resource of the wrong shape, too large or too deep) and for
    conflicts (two primary cancers, two grades, a metastasis while the stage says localized).
    `validate_resources=False` skips the fhir.resources check: only for trusted bundles.
    """
    data = bundle_data(bundle, origin)
    if validate_resources:
        validate(data, origin)
    return read_bundle(data, origin)
