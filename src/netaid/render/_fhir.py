"""A discussion's case as an mCODE-shaped FHIR R4 Bundle, so that a tutor's synthetic patients
load into a FHIR test server. The bundle holds the case only: discussion points are
educational text, not patient data, and stay in the other formats."""

from __future__ import annotations

import json
from collections.abc import Sequence

from netaid.discussion import Discussion


def render_fhir(discussion: Discussion, *, audience: str = "tutor") -> str:
    """The case as a transaction Bundle (JSON). The same for both audiences: it is the case."""
    from netaid.fhir import bundle_from_case  # writing needs no extra; imported on use

    return json.dumps(bundle_from_case(discussion.case), indent=2, ensure_ascii=False) + "\n"


def render_fhir_many(discussions: Sequence[Discussion], *, audience: str = "tutor") -> str:
    """One Bundle per line (NDJSON), as FHIR bulk data is written and `netaid discuss` reads."""
    from netaid.fhir import bundle_from_case

    lines = [json.dumps(bundle_from_case(d.case), ensure_ascii=False) for d in discussions]
    return "\n".join(lines) + "\n"
