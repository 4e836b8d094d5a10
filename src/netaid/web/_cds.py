"""CDS Hooks 2.0: discovery, the patient-view service, and its feedback endpoint."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from netaid._api import discuss
from netaid.engines import Engine
from netaid.errors import CaseError, FieldProblem, RequestError
from netaid.fhir import MappedCase, case_from_bundle
from netaid.web._auth import Trust
from netaid.web._cards import cards_for, problem_card
from netaid.web._errors import error_response
from netaid.web._feedback import FeedbackLog, FeedbackRequest
from netaid.web._prefetch import PREFETCH, bundle_of, gather
from netaid.web._settings import Settings

__all__ = ["HOOK", "SERVICE_ID", "ClientAuth", "HookRequest", "discovery", "router"]

SERVICE_ID = "netaid-patient-view"
HOOK = "patient-view"

DESCRIPTION = (
    "Educational discussion points that patient-education documents associate with the "
    "patient's neuroendocrine tumour profile, read from their Conditions, Observations and "
    "Procedures (mCODE). Each card quotes its sources and links to the full handout. "
    "Educational only — not medical advice."
)


def discovery() -> dict[str, Any]:
    return {
        "services": [
            {
                "hook": HOOK,
                "title": "netaid: NET discussion points",
                "description": DESCRIPTION,
                "id": SERVICE_ID,
                "prefetch": dict(PREFETCH),
                "usageRequirements": (
                    "Patients with a primary neuroendocrine tumour Condition; other patients "
                    "get no cards."
                ),
            }
        ]
    }


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirAuthorization(_Open):
    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None


class PatientViewContext(_Open):
    userId: str | None = None
    patientId: str = Field(min_length=1, max_length=64)
    encounterId: str | None = None


class HookRequest(_Open):
    hook: str
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: AnyHttpUrl | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: PatientViewContext
    prefetch: dict[str, Any] | None = None


# The same prefetched record gives the same MappedCase: reading and validating a bundle
# costs milliseconds, and an EHR calls the hook every time the chart is opened.
_MAPPED_SIZE = 256
_mapped: dict[bytes, MappedCase] = {}
_mapped_lock = threading.Lock()


def _map(bundle: dict[str, Any]) -> MappedCase:
    key = hashlib.sha256(
        json.dumps(bundle, sort_keys=True, separators=(",", ":")).encode()
    ).digest()
    found = _mapped.get(key)
    if found is None:
        found = case_from_bundle(bundle, origin="prefetch")
        with _mapped_lock:
            _mapped[key] = found
            while len(_mapped) > _MAPPED_SIZE:
                del _mapped[next(iter(_mapped))]
    return found


def _no_tumour(exc: CaseError) -> bool:
    """The record has no primary cancer: not a patient netaid has anything to say about."""
    return any(p.message.startswith("no primary cancer condition") for p in exc.problems)


def answer(
    values: dict[str, object],
    *,
    patient_id: str,
    hook_instance: str,
    engine: Engine,
    handout_base: str,
    max_cards: int,
) -> bytes:
    """The answer, as JSON, for the gathered prefetch values (runs in a worker thread)."""
    return json.dumps(
        cards_answer(
            values,
            patient_id=patient_id,
            hook_instance=hook_instance,
            engine=engine,
            handout_base=handout_base,
            max_cards=max_cards,
        ),
        ensure_ascii=False,
    ).encode()


def cards_answer(
    values: dict[str, object],
    *,
    patient_id: str,
    hook_instance: str,
    engine: Engine,
    handout_base: str,
    max_cards: int,
) -> dict[str, Any]:
    """The cards for the gathered prefetch values."""
    bundle = bundle_of(values, patient_id)
    try:
        mapped = _map(bundle)
    except CaseError as exc:
        if _no_tumour(exc):
            return {"cards": []}
        return {
            "cards": [
                problem_card(
                    "netaid could not read one tumour profile from this record",
                    [str(p) for p in exc.problems],
                )
            ]
        }
    discussion = discuss(mapped.case, engine=engine)
    cards = cards_for(
        discussion, hook_instance=hook_instance, handout_base=handout_base, max_cards=max_cards
    )
    return {"cards": cards}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def base_url(request: Request) -> str:
    settings = _settings(request)
    return (settings.public_url or str(request.base_url)).rstrip("/")


class ClientAuth:
    """With a trust file, every CDS Hooks request needs a signed JWT for its endpoint's URL,
    checked before anything of the request is read: else 401 (CDS Hooks security)."""

    def __init__(self, app: ASGIApp, *, trust: Trust | None, public_url: str | None) -> None:
        self.app = app
        self.trust = trust
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if self.trust is None or not path.startswith("/cds-services"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        # Settings require the public URL with a trust file: never the client's Host header.
        base = (self.public_url or str(request.base_url)).rstrip("/")
        audiences = [base + path]
        if path.endswith("/feedback"):
            audiences.append(base + path.removesuffix("/feedback"))
        try:
            self.trust.verify(request.headers.get("authorization"), audiences)
        except RequestError as exc:
            response = error_response(request, exc.status, exc.problems, exc.code)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


router = APIRouter(tags=["CDS Hooks"])


@router.get("/cds-services", summary="CDS Hooks discovery")
async def get_discovery() -> dict[str, Any]:
    """The one service, on the patient-view hook, with its prefetch templates."""
    return discovery()


def _check_service(service_id: str) -> None:
    if service_id != SERVICE_ID:
        raise RequestError(
            404,
            [FieldProblem("id", f"no CDS service {service_id!r}; see /cds-services")],
            code="not-found",
        )


@router.post(
    "/cds-services/{service_id}",
    summary="Call the patient-view service",
    responses={
        200: {"description": '`{"cards": [...]}`, CDS Hooks cards'},
        412: {"description": "Neither prefetch nor a FHIR server gave the patient's record"},
    },
)
async def call_service(
    service_id: str, hook_request: Annotated[HookRequest, Body()], request: Request
) -> Response:
    """Cards for the patient in context, from the prefetched resources or the FHIR server."""
    _check_service(service_id)
    if hook_request.hook != HOOK:
        raise RequestError(
            400, [FieldProblem("hook", f"this service answers {HOOK!r}, not {hook_request.hook!r}")]
        )
    if hook_request.fhirAuthorization is not None and hook_request.fhirServer is None:
        raise RequestError(
            400, [FieldProblem("fhirServer", "required when fhirAuthorization is given")]
        )
    settings = _settings(request)
    patient_id = hook_request.context.patientId
    auth = hook_request.fhirAuthorization
    values = await gather(
        hook_request.prefetch,
        patient_id=patient_id,
        fhir_server=str(hook_request.fhirServer) if hook_request.fhirServer else None,
        access_token=auth.access_token if auth else None,
        timeout=settings.fhir_timeout,
    )
    result: bytes = await run_in_threadpool(
        answer,
        values,
        patient_id=patient_id,
        hook_instance=hook_request.hookInstance,
        engine=request.app.state.engine,
        handout_base=base_url(request) + "/",
        max_cards=settings.max_cards,
    )
    return Response(result, media_type="application/json")


@router.post("/cds-services/{service_id}/feedback", summary="Feedback on cards")
async def post_feedback(
    service_id: str, feedback: Annotated[FeedbackRequest, Body()], request: Request
) -> dict[str, Any]:
    """Records each card's outcome (the card id, never patient data) as a JSON line."""
    _check_service(service_id)
    log: FeedbackLog = request.app.state.feedback
    count = await run_in_threadpool(log.append, service_id, feedback)
    return {"recorded": count}
