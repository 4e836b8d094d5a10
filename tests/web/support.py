"""What the web tests share: hook requests, a fake FHIR server, a real server, signed JWTs."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec

from netaid import Case, discuss
from netaid.fhir import bundle_from_case
from netaid.web._cards import cards_for

PATIENT = "pt-1"
KIND_KEYS = {"Condition": "conditions", "Observation": "observations", "Procedure": "procedures"}


def resources_of(case: Case, patient: str = PATIENT) -> dict[str, list[dict[str, Any]]]:
    """The case as the FHIR resources an EHR holds, by prefetch key, about `patient`."""
    bundle = bundle_from_case(case)
    own = next(
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    bundle = json.loads(json.dumps(bundle).replace(f"Patient/{own}", f"Patient/{patient}"))
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in KIND_KEYS.values()}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        key = KIND_KEYS.get(resource["resourceType"])
        if key is not None:
            found[key].append({"fullUrl": entry.get("fullUrl"), "resource": resource})
    return found


def searchset(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def prefetch_of(case: Case, patient: str = PATIENT) -> dict[str, Any]:
    return {key: searchset(entries) for key, entries in resources_of(case, patient).items()}


def hook_request(
    prefetch: Mapping[str, Any] | None = None, *, patient: str = PATIENT, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": patient},
    }
    if prefetch is not None:
        body["prefetch"] = dict(prefetch)
    body.update(extra)
    return body


def expected_cards(case: Case, hook_instance: str, base: str, max_cards: int = 10) -> Any:
    """What the service must answer, computed from `discuss()` directly."""
    return cards_for(
        discuss(case), hook_instance=hook_instance, handout_base=base + "/", max_cards=max_cards
    )


# --- a fake FHIR server on loopback ---


@dataclass
class FakeFhir:
    """Answers Condition/Observation/Procedure searches for the patients it holds.

    `mode`: "ok", "error" (500), "slow" (answers after `delay` seconds), "html" (not JSON).
    `page_size`: searches answer in pages of this many entries, linked by `next`.
    """

    patients: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    mode: str = "ok"
    delay: float = 10.0
    page_size: int = 2
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path?query, auth)
    url: str = ""

    def answer(self, path: str, auth: str | None) -> tuple[int, bytes]:
        self.seen.append((path, auth))
        if self.mode == "error":
            return 500, b'{"resourceType": "OperationOutcome"}'
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "html":
            return 200, b"<html>login</html>"
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        kind = parts.path.rsplit("/", 1)[-1]
        key = KIND_KEYS.get(kind)
        patient = query.get("patient", [""])[0]
        entries = self.patients.get(patient, {}).get(key or "", [])
        offset = int(query.get("_offset", ["0"])[0])
        page = searchset(entries[offset : offset + self.page_size])
        if offset + self.page_size < len(entries):
            next_url = f"{self.url}/{kind}?patient={patient}&_offset={offset + self.page_size}"
            page["link"] = [{"relation": "next", "url": next_url}]
        return 200, json.dumps(page).encode()


@contextmanager
def fake_fhir_server(fake: FakeFhir) -> Iterator[FakeFhir]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = fake.answer(self.path, self.headers.get("Authorization"))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the service gave up waiting: nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


# --- a real uvicorn on loopback ---


@contextmanager
def live_server(app: Any, **config: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port, in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = {"log_level": "warning", "access_log": False, "backlog": 2048, **config}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


# --- signed JWTs ---


@dataclass
class Signer:
    """A CDS client's key pair, signing the tokens it sends."""

    iss: str = "https://ehr.example.org/"
    kid: str = "ehr-1"
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP384R1())
    )

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", alg="ES384")
        return {"keys": [public]}

    def token(self, aud: str | list[str], **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": self.iss,
            "aud": aud,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self.key, algorithm="ES384", headers={"kid": self.kid})
