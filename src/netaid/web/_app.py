"""The ASGI app: CDS Hooks, the tutor page and the JSON API, built once per process."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from netaid import __version__
from netaid._api import default_engine
from netaid.engines import Engine
from netaid.web import _cds, _discuss, _errors, _tutor
from netaid.web._auth import load_trust
from netaid.web._feedback import FeedbackLog
from netaid.web._limits import AccessLog, BodyLimit
from netaid.web._settings import Settings

__all__ = ["create_app"]

DESCRIPTION = (
    "netaid as a web service: a CDS Hooks 2.0 service for EHRs (`/cds-services`), a tutor page "
    "(`/`) and a JSON API. **Educational only — not medical advice.**"
)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """A new app. The engine (the shipped rulebook's, unless given) is built here, once."""
    settings = settings or Settings()
    app = FastAPI(
        title="netaid",
        version=__version__,
        description=DESCRIPTION,
        # Swagger UI and ReDoc load their scripts from a CDN: /docs is our own page instead.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine or default_engine()
    app.state.trust = load_trust(settings.trust_file) if settings.trust_file else None
    app.state.feedback = FeedbackLog(settings.feedback_file)
    _errors.install(app)
    app.include_router(_tutor.router)
    app.include_router(_discuss.router)
    app.include_router(_cds.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            defs = _discuss.CASE_SCHEMA.get("$defs", {})
            components.update(defs)
            components["Case"] = {k: v for k, v in _discuss.CASE_SCHEMA.items() if k != "$defs"}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    async def docs() -> HTMLResponse:
        """The JSON endpoints, from the OpenAPI document, as a page without JavaScript."""
        page = _tutor.templates().get_template("api.html.j2").render(spec=app.openapi())
        return HTMLResponse(page)

    # The last added is the outermost: the log sees every answer, the JWT is checked before
    # any of the body is read, the limit sees every body.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body, timeout=settings.body_timeout)
    app.add_middleware(_cds.ClientAuth, trust=app.state.trust, public_url=settings.public_url)
    if settings.cors_origins:
        # Outside the JWT check: a browser's preflight carries no Authorization header.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(AccessLog)
    return app
