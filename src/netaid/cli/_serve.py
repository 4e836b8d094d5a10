"""`netaid serve`: the CDS Hooks service, the tutor page and the JSON API (netaid[serve])."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from netaid.cli._common import EXIT_OK, UsageError, whole_number

#: Hosts that only this machine can reach.
_LOCAL_NAMES = {"localhost", "ip6-localhost"}


def is_local(host: str) -> bool:
    """Whether binding `host` keeps the service reachable from this machine only."""
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@contextmanager
def _listening(host: str, port: int) -> Iterator[socket.socket]:
    """The listening socket for worker processes, with TCP_NODELAY set on it.

    Accepted connections inherit it. The workers receive the socket without the protocol
    number asyncio looks for before it turns off Nagle's algorithm, so without this every
    answer would wait for the client's delayed acknowledgement (about 40 ms on Linux).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise UsageError(f"cannot bind {host}:{port}: {exc.strerror or exc}") from None
        sock.listen(2048)
        sock.set_inheritable(True)
        yield sock
    finally:
        sock.close()


def _port(text: str) -> int:
    value = whole_number(text, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {value}")
    return value


def _positive(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the CDS Hooks service and the tutor page (needs netaid[serve])",
        description="Serve the tutor page (/), the CDS Hooks service (/cds-services) and the "
        "JSON API (/docs) on this machine. Binding any other address than localhost needs "
        "--trust: CDS Hooks requests then carry a signed JWT from a trusted issuer.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
    p.add_argument(
        "--max-cards",
        type=_positive,
        default=None,
        help="cards per CDS Hooks answer, urgent and treatment points first (default: 10)",
    )
    p.add_argument(
        "--trust",
        type=Path,
        metavar="FILE",
        help="trusted JWT issuers and their public keys (see docs/service.md)",
    )
    p.add_argument(
        "--feedback",
        type=Path,
        metavar="FILE",
        help="where CDS Hooks feedback is appended (default: netaid-feedback.jsonl)",
    )
    p.add_argument(
        "--public-url",
        help="the URL clients call (behind a reverse proxy); required with --trust, as the JWT "
        "audience",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin of a browser-based CDS client allowed to call (repeatable)",
    )
    p.add_argument("--workers", type=_positive, default=1, help="worker processes (default: 1)")
    p.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from netaid.web import Settings, create_app
        from netaid.web._auth import load_trust
    except ImportError as exc:
        raise UsageError(
            f"netaid serve needs the serve extra ({exc.name} is missing): "
            "pip install 'netaid[serve]'"
        ) from None
    if args.trust is None and not is_local(args.host):
        raise UsageError(
            f"refusing to bind {args.host}: without --trust the service would answer anyone "
            "on the network; give --trust FILE or bind 127.0.0.1"
        )
    values: dict[str, Any] = {
        "trust_file": args.trust,
        "public_url": args.public_url,
        "cors_origins": tuple(args.cors_origin),
    }
    if args.max_cards is not None:
        values["max_cards"] = args.max_cards
    if args.feedback is not None:
        values["feedback_file"] = args.feedback
    settings = Settings(**values)
    if settings.trust_file is not None:
        load_trust(settings.trust_file)  # a bad file is reported before anything starts
    where = f"http://{args.host}:{args.port}/"
    print(
        f"netaid: serving the tutor page at {where}, CDS Hooks at {where}cds-services, "
        f"the API at {where}docs; feedback to {settings.feedback_file} (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "access_log": False,  # its lines hold query strings, and so cases: see AccessLog
        "server_header": False,
    }
    if args.workers > 1:
        os.environ.update(settings.to_env())
        with _listening(args.host, args.port) as sock:
            common.pop("host")
            common.pop("port")
            uvicorn.run("netaid.web:app", workers=args.workers, fd=sock.fileno(), **common)
    else:
        uvicorn.run(create_app(settings), **common)
    return EXIT_OK
