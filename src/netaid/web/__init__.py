"""netaid as a local web app (`netaid serve`): a CDS Hooks service for EHRs, a tutor page and a
JSON API, in one ASGI app. Needs the optional extra: pip install 'netaid[serve]'.

    uvicorn netaid.web:app                      # settings from NETAID_SERVE_* variables
    from netaid.web import create_app, Settings
    app = create_app(Settings(max_cards=5))

Educational only — not medical advice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netaid.web._app import create_app
from netaid.web._settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    app: FastAPI

__all__ = ["Settings", "app", "create_app"]

_app: Any = None


def __getattr__(name: str) -> Any:
    # `netaid.web:app` is built on first use, with the settings of the environment, so that
    # importing the package for `create_app` builds nothing.
    global _app
    if name == "app":
        if _app is None:
            _app = create_app(Settings.from_env())
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
