"""The patient's resources for a hook call: from the request's prefetch, else from its FHIR server.

Prefetch values are FHIR resources or searchset Bundles (CDS Hooks); they are gathered into one
collection Bundle for `netaid.fhir.case_from_bundle`. A key the client did not prefetch is read
from `fhirServer` (with `fhirAuthorization`'s bearer token, when given), following `next` links,
all within one deadline. Every resource must be about the patient in context.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import httpx

from netaid.errors import FieldProblem, RequestError

__all__ = ["PREFETCH", "REQUIRED", "bundle_of", "gather"]

#: The discovery document's prefetch templates. Procedures say whether the tumour was removed.
PREFETCH = {
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
}
#: Without these netaid cannot build a profile: no prefetch and no server is a 412.
REQUIRED = ("conditions", "observations")
#: Pages followed per search, and resources read per call, before giving up on a server.
MAX_PAGES = 20
MAX_RESOURCES = 10_000

Json = dict[str, Any]


def _resources(key: str, value: object) -> list[tuple[str | None, Json]]:
    """(fullUrl, resource) pairs of one prefetch value: a resource or a Bundle of them."""
    if value is None:
        return []
    if not isinstance(value, Mapping) or not isinstance(value.get("resourceType"), str):
        raise RequestError(
            400, [FieldProblem(f"prefetch.{key}", "expected a FHIR resource or Bundle")]
        )
    if value["resourceType"] != "Bundle":
        return [(None, dict(value))]
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise RequestError(400, [FieldProblem(f"prefetch.{key}.entry", "expected a list")])
    found = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise RequestError(
                400, [FieldProblem(f"prefetch.{key}.entry[{index}]", "expected an object")]
            )
        search = entry.get("search")
        if isinstance(search, Mapping) and search.get("mode") == "outcome":
            continue  # an OperationOutcome about the search, not the patient's data
        resource = entry.get("resource")
        if isinstance(resource, Mapping):
            url = entry.get("fullUrl")
            found.append((url if isinstance(url, str) else None, dict(resource)))
    return found


def _check_subject(key: str, resource: Json, patient_id: str) -> None:
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, Mapping) else None
    if not isinstance(reference, str) or "Patient/" not in reference:
        return
    said = reference.rsplit("Patient/", 1)[1].split("/", 1)[0]
    if said != patient_id:
        name = f"{resource.get('resourceType')}/{resource.get('id', '?')}"
        raise RequestError(
            400,
            [
                FieldProblem(
                    f"prefetch.{key}",
                    f"{name} is about another patient than context.patientId",
                )
            ],
        )


def bundle_of(values: Mapping[str, object], patient_id: str) -> Json:
    """One collection Bundle of every prefetched resource, each once."""
    entries: list[Json] = []
    seen: set[tuple[object, object]] = set()
    for key, value in values.items():
        for url, resource in _resources(key, value):
            _check_subject(key, resource, patient_id)
            if resource.get("resourceType") == "OperationOutcome":
                continue
            ident = (resource.get("resourceType"), resource.get("id"))
            if ident[1] is not None and ident in seen:
                continue
            seen.add(ident)
            entries.append(
                {"fullUrl": url, "resource": resource} if url else {"resource": resource}
            )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


async def _search(
    client: httpx.AsyncClient, key: str, base: str, url: str, deadline: float
) -> list[Json]:
    pages: list[Json] = []
    next_url: str | None = url
    while next_url is not None and len(pages) < MAX_PAGES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        response = await asyncio.wait_for(client.get(next_url), remaining)
        if response.status_code != 200:
            raise RequestError(
                412,
                [
                    FieldProblem(
                        "fhirServer",
                        f"the FHIR server answered {response.status_code} to the {key} search",
                    )
                ],
                code="exception",
            )
        try:
            page = response.json()
        except ValueError:
            raise RequestError(
                412,
                [FieldProblem("fhirServer", f"the {key} search did not answer JSON")],
                code="exception",
            ) from None
        if not isinstance(page, dict):
            raise RequestError(
                412, [FieldProblem("fhirServer", f"the {key} search did not answer a Bundle")]
            )
        pages.append(page)
        next_url = None
        for link in page.get("link") or []:
            if isinstance(link, dict) and link.get("relation") == "next":
                target = link.get("url")
                next_url = target if isinstance(target, str) else None
        if next_url is not None and not next_url.startswith(base + "/"):
            # The bearer token goes only to the fhirServer the client named.
            raise RequestError(
                412,
                [FieldProblem("fhirServer", f"the {key} search links to a page outside it")],
                code="security",
            )
    return pages


async def gather(
    prefetch: Mapping[str, object] | None,
    *,
    patient_id: str,
    fhir_server: str | None,
    access_token: str | None,
    timeout: float,
) -> dict[str, object]:
    """The prefetch values, the missing ones read from `fhir_server`.

    412 (RequestError) when a required key is neither prefetched nor readable; the FHIR
    server's answers and timeouts are reported within `timeout` seconds.
    """
    values: dict[str, object] = {
        key: value for key, value in (prefetch or {}).items() if key in PREFETCH
    }
    missing = [key for key in PREFETCH if values.get(key) is None]
    if not missing:
        return values
    if fhir_server is None:
        lacking = [key for key in missing if key in REQUIRED]
        if lacking:
            raise RequestError(
                412,
                [
                    FieldProblem(
                        f"prefetch.{key}",
                        "not prefetched, and no fhirServer to read it from",
                    )
                    for key in lacking
                ],
                code="required",
            )
        return values
    headers = {"Accept": "application/fhir+json"}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    base = fhir_server.rstrip("/")
    deadline = time.monotonic() + timeout
    try:
        async with httpx.AsyncClient(
            headers=headers, timeout=timeout, follow_redirects=False, trust_env=False
        ) as client:
            searches = [
                _search(
                    client,
                    key,
                    base,
                    f"{base}/{PREFETCH[key].replace('{{context.patientId}}', patient_id)}",
                    deadline,
                )
                for key in missing
            ]
            results = await asyncio.gather(*searches)
    except (TimeoutError, httpx.TimeoutException):
        raise RequestError(
            412,
            [FieldProblem("fhirServer", f"the FHIR server did not answer within {timeout:g} s")],
            code="timeout",
        ) from None
    except httpx.HTTPError as exc:
        raise RequestError(
            412,
            [FieldProblem("fhirServer", f"cannot reach the FHIR server: {type(exc).__name__}")],
            code="exception",
        ) from None
    total = 0
    for key, pages in zip(missing, results, strict=True):
        entries = [e for page in pages for e in (page.get("entry") or [])]
        total += len(entries)
        values[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    if total > MAX_RESOURCES:
        raise RequestError(
            412,
            [FieldProblem("fhirServer", f"more than {MAX_RESOURCES} resources for one patient")],
            code="too-costly",
        )
    return values
