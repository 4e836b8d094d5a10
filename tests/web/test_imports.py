"""The core never imports the serve extra: `import netaid` and the CLI work without it."""

from __future__ import annotations

import subprocess
import sys

SERVE_MODULES = ("fastapi", "starlette", "uvicorn", "httpx", "jwt", "netaid.web")


def test_the_core_and_the_cli_do_not_import_the_serve_extra() -> None:
    code = (
        "import sys, netaid, netaid.cli, netaid.fhir; "
        "netaid.discuss({'site': 'lung'}); "
        "netaid.cli.build_parser(); "
        f"print([m for m in {SERVE_MODULES!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_netaid_web_app_is_built_on_first_use_from_the_environment() -> None:
    code = (
        "import netaid.web as w; assert w._app is None; "
        "from netaid.web import app; assert w.app is app; "
        "print(type(app).__name__, app.state.settings.max_cards)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"NETAID_SERVE_MAX_CARDS": "3", "PATH": ""},
    ).stdout
    assert out.strip() == "FastAPI 3"
