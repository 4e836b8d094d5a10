"""`POST /discuss`: a Case or a FHIR Bundle in, the Discussion (or the student worksheet) out."""

from __future__ import annotations

import json
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from netaid._api import discuss
from netaid.case import Case, case_from_mapping
from netaid.discussion import Discussion
from netaid.errors import FieldProblem, RequestError
from netaid.fhir import case_from_bundle
from netaid.render import Audience, render

__all__ = ["router"]

router = APIRouter(tags=["Discussions"])

_BODY_SCHEMA = {
    "oneOf": [
        {"$ref": "#/components/schemas/Case"},
        {
            "type": "object",
            "title": "FHIR Bundle",
            "description": "An mCODE patient Bundle (FHIR R4), read as netaid.fhir reads it",
            "required": ["resourceType"],
            "properties": {"resourceType": {"const": "Bundle"}},
        },
    ]
}


def _answer(data: object, audience: str) -> str:
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        case = case_from_bundle(data, origin="body").case
    else:
        case = case_from_mapping(data, origin="body")
    return render(discuss(case), "json", audience=cast("Audience", audience))


@router.post(
    "/discuss",
    summary="The discussion of a case",
    response_model=Discussion,
    responses={422: {"description": "Not a valid case or bundle; the problems name the fields"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BODY_SCHEMA}},
        }
    },
)
async def post_discuss(
    request: Request,
    audience: Annotated[Literal["tutor", "student"], Query()] = "tutor",
) -> Response:
    """The body is a Case (its fields as JSON) or a FHIR Bundle. The answer is the Discussion;
    with `audience=student`, the worksheet (the case and its questions, no answers)."""
    body = await request.body()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RequestError(400, [FieldProblem("(body)", f"not valid JSON: {exc}")]) from None
    text = await run_in_threadpool(_answer, data, audience)
    return Response(text, media_type="application/json")


# The Case schema is referenced by the request body above.
CASE_SCHEMA = Case.model_json_schema(ref_template="#/components/schemas/{model}")
