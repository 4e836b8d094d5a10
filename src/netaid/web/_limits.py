"""ASGI middleware: a size and time limit on request bodies, and an access log without data.

A body over the limit is refused with 413 (at once when Content-Length says so, otherwise as
soon as the bytes received pass it); a client that pauses longer than the body timeout while
sending its body, or takes six times it in all, gets 408 and its connection is closed, without
holding up anyone else. The access log has the method, the path without its query string
(which can hold a case), the status and the time taken.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netaid.errors import FieldProblem
from netaid.web._errors import error_body

__all__ = ["TOTAL_FACTOR", "AccessLog", "BodyLimit"]

#: A whole body may take this many body timeouts.
TOTAL_FACTOR = 6

access_log = logging.getLogger("netaid.web.access")
error_log = logging.getLogger("netaid.web")


class _BodyError(HTTPException):
    """Raised from `receive`, so that the endpoint reading the body answers it (FastAPI passes
    HTTPExceptions through); the middleware answers it when nothing else has."""

    field = "(body)"


class _TooLarge(_BodyError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"larger than {max_bytes:,} bytes")


class _TooSlow(_BodyError):
    def __init__(self, timeout: float) -> None:
        super().__init__(
            408,
            f"not received: a pause of more than {timeout:g} seconds, or more than "
            f"{timeout * TOTAL_FACTOR:g} seconds in all",
        )


async def _send_error(send: Send, path: str, status: int, problem: FieldProblem) -> None:
    body = json.dumps(error_body(path, status, [problem])).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = FieldProblem("(body)", f"larger than {self.max_bytes:,} bytes")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if not value.isdigit():
                    problem = FieldProblem("Content-Length", "not a number")
                    await _send_error(send, path, 400, problem)
                    return
                if int(value) > self.max_bytes:
                    await _send_error(send, path, 413, limit)
                    return
        loop = asyncio.get_running_loop()
        # A client may pause up to `timeout` between parts of its body, and take at most
        # TOTAL_FACTOR times that for all of it: a trickle of bytes cannot hold a request open.
        deadline = loop.time() + self.timeout * TOTAL_FACTOR
        received = 0
        done = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, done
            if done:
                return await receive()
            wait = min(self.timeout, deadline - loop.time())
            try:
                message = await asyncio.wait_for(receive(), max(0.0, wait))
            except TimeoutError:
                raise _TooSlow(self.timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
                if not message.get("more_body", False):
                    done = True
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _BodyError as exc:
            if not started:
                await _send_error(send, path, exc.status_code, FieldProblem("(body)", exc.detail))


class AccessLog:
    """The access log, and the last resort for a bug: a 500 in JSON, and the exception's type
    in the log, never its message or traceback (they could quote the request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: list[Any] = [None]

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:
            error_log.error(
                "internal error on %s %s: %s", scope.get("method"), scope.get("path"),
                type(exc).__name__,
            )  # fmt: skip
            if status[0] is None:
                status[0] = 500
                problem = FieldProblem("(service)", "internal error in netaid; please report it")
                await _send_error(send, scope.get("path", ""), 500, problem)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    '"%s %s" %s %.1f ms',
                    scope.get("method"),
                    scope.get("path"),
                    status[0],
                    (time.perf_counter() - start) * 1000,
                )
