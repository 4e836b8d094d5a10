"""The tutor page: the case form, the handout, downloads and vignette zips (no JavaScript)."""

from __future__ import annotations

import io
import random
import re
import zipfile
from functools import cache
from typing import Any, cast
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from netaid._api import discuss
from netaid.errors import CaseError, FieldProblem, NetaidError, RequestError
from netaid.render import EXTENSIONS, Audience, Format, render
from netaid.vignettes import draw_cases
from netaid.web._form import case_from_query, constraints_from_query, widgets

__all__ = ["DOWNLOADS", "MAX_WEB_VIGNETTES", "handout_parts", "router"]

#: The formats offered for download, as the page names them.
DOWNLOADS = {"markdown": "Markdown", "html": "HTML", "json": "JSON", "fhir": "FHIR", "text": "Text"}
_MEDIA = {
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "fhir": "application/fhir+json",
    "text": "text/plain; charset=utf-8",
}
#: Vignettes per zip from the page (the CLI draws up to 10,000).
MAX_WEB_VIGNETTES = 200

_STYLE = re.compile(r"<style>\n?(.*?)</style>", re.S)
_BODY = re.compile(r"<body[^>]*>\n?(.*)</body>", re.S)

router = APIRouter(include_in_schema=False)


@cache
def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("netaid.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def handout_parts(html: str) -> tuple[str, str]:
    """The stylesheet and the body of an HTML handout, to show it inside the page."""
    style, body = _STYLE.search(html), _BODY.search(html)
    if style is None or body is None:
        raise NetaidError("the HTML handout has no <style> or <body>")
    return style.group(1), body.group(1)


@cache
def _handout_css() -> str:
    from netaid.render._html import _environment

    return _environment().get_template("_handout.css").render()


def _audience(items: list[tuple[str, str]]) -> str:
    values = [v for k, v in items if k == "audience"]
    if not values:
        return "tutor"
    if values[0] not in ("tutor", "student"):
        raise RequestError(
            422, [FieldProblem("audience", f"expected tutor or student, got {values[0]!r}")]
        )
    return values[0]


def _query(items: list[tuple[str, str]], audience: str) -> str:
    return urlencode([(k, v) for k, v in items if k != "audience"] + [("audience", audience)])


def _page(items: list[tuple[str, str]]) -> tuple[int, str]:
    audience = "tutor"
    errors: list[FieldProblem] = []
    handout = None
    if items:
        try:
            audience = _audience(items)
            discussion = discuss(case_from_query(items))
            _, handout = handout_parts(
                render(discussion, "html", audience=cast("Audience", audience))
            )
        except CaseError as exc:
            errors = list(exc.problems)
        except RequestError as exc:
            errors = list(exc.problems)
    page = (
        templates()
        .get_template("page.html.j2")
        .render(
            handout_css=_handout_css(),
            audience=audience,
            case_widgets=widgets(items),
            vignette_widgets=widgets([], for_vignettes=True),
            errors=errors,
            handout=handout,
            query=_query(items, audience),
            query_tutor=_query(items, "tutor"),
            query_student=_query(items, "student"),
            downloads=list(DOWNLOADS.items()),
            max_vignettes=MAX_WEB_VIGNETTES,
        )
    )
    return (422 if errors else 200), page


@router.get("/", response_class=HTMLResponse)
async def tutor_page(request: Request) -> HTMLResponse:
    items = list(request.query_params.multi_items())
    status, page = await run_in_threadpool(_page, items)
    return HTMLResponse(page, status_code=status)


def _download(fmt: str, items: list[tuple[str, str]]) -> Response:
    audience = _audience(items)
    discussion = discuss(case_from_query(items))
    text = render(discussion, cast("Format", fmt), audience=cast("Audience", audience))
    name = f"netaid-{discussion.case.site.value}-{audience}.{EXTENSIONS[fmt]}"
    return Response(
        text,
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/download/{fmt}")
async def download(fmt: str, request: Request) -> Response:
    if fmt not in DOWNLOADS:
        raise RequestError(
            404, [FieldProblem("format", f"{fmt!r} is not one of {', '.join(DOWNLOADS)}")]
        )
    items = list(request.query_params.multi_items())
    response: Response = await run_in_threadpool(_download, fmt, items)
    return response


def _zip(count: int, seed: int, fmt: str, audience: str, constraints: dict[str, Any]) -> bytes:
    cases = draw_cases(count, seed, constraints)
    buffer = io.BytesIO()
    width = max(2, len(str(count)))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, case in enumerate(cases, start=1):
            text = render(discuss(case), cast("Format", fmt), audience=cast("Audience", audience))
            archive.writestr(f"vignette-{number:0{width}d}.{EXTENSIONS[fmt]}", text)
    return buffer.getvalue()


@router.get("/vignettes.zip")
async def vignettes(
    request: Request,
    count: int = Query(ge=1, le=MAX_WEB_VIGNETTES),
    seed: int | None = Query(None, ge=0, lt=2**32),
    format: str = Query("html", pattern="^(markdown|html|json|fhir|text)$"),
    audience: str = Query("tutor", pattern="^(tutor|student)$"),
) -> Response:
    """A zip of `count` handouts of cases drawn from `seed` under the form's constraints;
    invalid or contradictory constraints are a 422 naming the fields (draw_cases' CaseError)."""
    constraints = constraints_from_query(list(request.query_params.multi_items()))
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    data = await run_in_threadpool(_zip, count, seed, format, audience, constraints)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="netaid-vignettes-seed{seed}.zip"'},
    )
