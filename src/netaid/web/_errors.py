"""Every error the service answers is JSON naming the field at fault, never a traceback.

The CDS Hooks endpoints answer a FHIR OperationOutcome (as the spec recommends), with the
field in `expression` and the message in `details.text`; every other endpoint answers
`{"error": {"status", "message", "problems": [{"field", "message", "allowed"?}]}}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from netaid.errors import CaseError, FieldProblem, RequestError

__all__ = ["error_body", "install", "problems_from_validation"]

_STATUS_CODES = {400: "invalid", 401: "login", 404: "not-found", 405: "not-supported",
                 408: "timeout", 412: "required", 413: "too-long", 415: "not-supported",
                 422: "invalid", 500: "exception"}  # fmt: skip


def _is_cds(path: str) -> bool:
    return path.startswith("/cds-services")


def error_body(
    path: str, status: int, problems: Sequence[FieldProblem], code: str | None = None
) -> dict[str, Any]:
    if _is_cds(path):
        issues = []
        for p in problems:
            issue: dict[str, Any] = {
                "severity": "error",
                "code": code or _STATUS_CODES.get(status, "processing"),
                "details": {"text": str(p)},
            }
            if not p.field.startswith("("):
                issue["expression"] = [p.field]
            issues.append(issue)
        return {"resourceType": "OperationOutcome", "issue": issues}
    items = []
    for p in problems:
        item: dict[str, Any] = {"field": p.field, "message": p.message}
        if p.allowed:
            item["allowed"] = list(p.allowed)
        items.append(item)
    return {
        "error": {
            "status": status,
            "message": "; ".join(str(p) for p in problems),
            "problems": items,
        }
    }


def error_response(
    request: Request, status: int, problems: Sequence[FieldProblem], code: str | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        error_body(request.url.path, status, problems, code), status_code=status, headers=headers
    )


def _field(loc: Sequence[int | str]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(body)"


def problems_from_validation(exc: RequestValidationError) -> tuple[int, list[FieldProblem]]:
    status = 422
    problems = []
    for error in exc.errors():
        kind = error.get("type", "")
        if kind == "json_invalid":
            status = 400
            problems.append(FieldProblem("(body)", f"not valid JSON: {error.get('msg', '')}"))
            continue
        message = str(error.get("msg", "invalid"))
        if kind == "missing" and error.get("loc") == ("body",):
            status = 400
            message = "expected a JSON body"
        problems.append(FieldProblem(_field(error.get("loc", ())), message))
    return status, problems


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def _request_error(request: Request, exc: RequestError) -> JSONResponse:
        return error_response(request, exc.status, exc.problems, exc.code)

    @app.exception_handler(CaseError)
    async def _case_error(request: Request, exc: CaseError) -> JSONResponse:
        return error_response(request, 422, exc.problems)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, problems = problems_from_validation(exc)
        return error_response(request, status, problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        where = {404: "(path)", 405: "(path)", 400: "(body)"}.get(exc.status_code, "(request)")
        field = getattr(exc, "field", where)
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            message = f"no such page: {request.url.path}"
        return error_response(request, exc.status_code, [FieldProblem(field, message)])
