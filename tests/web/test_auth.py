"""Trusting CDS clients: with --trust, every CDS Hooks request needs a valid signed JWT."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from netaid import Case
from netaid.cli import main
from netaid.cli._serve import is_local
from netaid.errors import ServiceError
from netaid.web import Settings, create_app
from netaid.web._auth import load_trust

from . import schemas
from .support import Signer, hook_request, prefetch_of

BASE = "http://testserver"
SERVICE = f"{BASE}/cds-services/netaid-patient-view"


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def trust_file(tmp_path: Path, signer: Signer) -> Path:
    path = tmp_path / "trust.yaml"
    (tmp_path / "ehr-jwks.json").write_text(json.dumps(signer.jwks()))
    path.write_text(f"issuers:\n  - iss: {signer.iss}\n    jwks_file: ehr-jwks.json\n")
    return path


@pytest.fixture
def secured(trust_file: Path, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(trust_file=trust_file, public_url=BASE, feedback_file=tmp_path / "fb.jsonl")
    app = create_app(settings)
    with TestClient(app, base_url=BASE) as client:
        yield client


def call(client: TestClient, token: str | None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/cds-services/netaid-patient-view", json=body or {}, headers=headers)


def refused(response: Any, words: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.json()
    schemas.check(body, schemas.OPERATION_OUTCOME)
    assert body["issue"][0]["expression"] == ["Authorization"]
    assert words in body["issue"][0]["details"]["text"]


def test_a_valid_token_is_accepted(secured: TestClient, signer: Signer, carcinoid: Case) -> None:
    body = hook_request(prefetch_of(carcinoid))
    response = call(secured, signer.token(SERVICE), body)
    assert response.status_code == 200, response.text
    assert len(response.json()["cards"]) == 10
    # The audience may be a list, as RFC 7519 allows.
    response = call(secured, signer.token([SERVICE, "https://other"]), body)
    assert response.status_code == 200


def test_discovery_and_feedback_need_a_token_for_their_own_url(
    secured: TestClient, signer: Signer
) -> None:
    refused(secured.get("/cds-services"), "missing")
    headers = {"Authorization": f"Bearer {signer.token(f'{BASE}/cds-services')}"}
    assert secured.get("/cds-services", headers=headers).status_code == 200
    feedback = {"feedback": []}
    for aud in (f"{SERVICE}/feedback", SERVICE):
        headers = {"Authorization": f"Bearer {signer.token(aud)}"}
        response = secured.post(f"{SERVICE}/feedback", json=feedback, headers=headers)
        assert response.status_code == 200, response.text


def test_no_token_is_401(secured: TestClient) -> None:
    refused(call(secured, None), "missing")


def test_not_a_bearer_jwt_is_401(secured: TestClient) -> None:
    refused(call(secured, "not-a-jwt"), "not a JWT")
    response = secured.post("/cds-services/netaid-patient-view", json={},
                            headers={"Authorization": "Basic dXNlcjpwdw=="})  # fmt: skip
    refused(response, "Bearer")


def test_wrong_audience_is_401(secured: TestClient, signer: Signer) -> None:
    refused(call(secured, signer.token("https://elsewhere.example/cds-services/x")), "aud")


def test_expired_token_is_401(secured: TestClient, signer: Signer) -> None:
    old = int(time.time()) - 600
    refused(call(secured, signer.token(SERVICE, iat=old - 60, exp=old)), "expired")


def test_a_token_valid_for_too_long_is_401(secured: TestClient, signer: Signer) -> None:
    refused(call(secured, signer.token(SERVICE, exp=int(time.time()) + 86_400)), "more than")


def test_missing_jti_is_401(secured: TestClient, signer: Signer) -> None:
    refused(call(secured, signer.token(SERVICE, jti=None)), "jti")


def test_a_replayed_token_is_401(secured: TestClient, signer: Signer, carcinoid: Case) -> None:
    token = signer.token(SERVICE)
    body = hook_request(prefetch_of(carcinoid))
    assert call(secured, token, body).status_code == 200
    refused(call(secured, token, body), "replayed")


def test_an_untrusted_issuer_or_key_is_401(secured: TestClient, signer: Signer) -> None:
    stranger = Signer(iss="https://stranger.example/")
    refused(call(secured, stranger.token(SERVICE)), "not trusted")
    impostor = Signer()  # the trusted iss and kid, another key
    refused(call(secured, impostor.token(SERVICE)), "invalid token")
    other_kid = Signer(kid="unknown-kid", key=signer.key)
    refused(call(secured, other_kid.token(SERVICE)), "no key")


def test_hmac_and_none_are_refused(secured: TestClient, signer: Signer) -> None:
    claims = {"iss": signer.iss, "aud": SERVICE, "iat": int(time.time()),
              "exp": int(time.time()) + 60, "jti": "x"}  # fmt: skip
    refused(call(secured, jwt.encode(claims, "shared-secret-of-32-bytes-or-more!", "HS256")),
            "not accepted")  # fmt: skip
    refused(call(secured, jwt.encode(claims, None, algorithm="none")), "not accepted")


def test_the_tutor_page_stays_open(secured: TestClient) -> None:
    assert secured.get("/").status_code == 200


def test_a_pem_public_key_for_any_kid(tmp_path: Path, carcinoid: Case) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "ehr.pem").write_bytes(pem)
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({"issuers": [{"iss": "ehr", "public_key_file": "ehr.pem"}]}))
    app = create_app(
        Settings(trust_file=trust, public_url=BASE, feedback_file=tmp_path / "fb.jsonl")
    )
    now = int(time.time())
    token = jwt.encode({"iss": "ehr", "aud": SERVICE, "iat": now, "exp": now + 60, "jti": "1"},
                       key, algorithm="RS384", headers={"kid": "any"})  # fmt: skip
    with TestClient(app, base_url=BASE) as client:
        response = call(client, token, hook_request(prefetch_of(carcinoid)))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("issuers: []", "a list of issuers"),
        ("issuers:\n  - jwks: {keys: []}", "'iss'"),
        ("issuers:\n  - iss: x", "no keys"),
        ("issuers:\n  - iss: x\n    jwks: {keys: [{kty: oct, k: c2VjcmV0}]}", "symmetric"),
        ("issuers:\n  - iss: x\n    jwks_file: missing.json", "cannot read"),
        ("[unclosed", "not valid JSON or YAML"),
    ],
)
def test_a_bad_trust_file_is_refused_naming_the_problem(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "trust.yaml"
    path.write_text(text)
    with pytest.raises(ServiceError, match=words):
        load_trust(path)


def test_a_private_key_in_the_trust_file_is_refused(tmp_path: Path, signer: Signer) -> None:
    private = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(signer.key))
    path = tmp_path / "trust.json"
    path.write_text(json.dumps({"issuers": [{"iss": "x", "jwks": {"keys": [private]}}]}))
    with pytest.raises(ServiceError, match="private key"):
        load_trust(path)


@pytest.mark.parametrize(
    ("host", "local"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.1.2.3", True),
     ("0.0.0.0", False), ("192.168.1.10", False), ("::", False), ("example.org", False)],
)  # fmt: skip
def test_which_binds_are_local(host: str, local: bool) -> None:
    assert is_local(host) is local


def test_serve_refuses_a_network_bind_without_trust(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "8999"]) == 2
    err = capsys.readouterr().err
    assert "refusing to bind 0.0.0.0" in err
    assert "--trust" in err


def test_a_trust_file_needs_the_public_url(trust_file: Path) -> None:
    with pytest.raises(ServiceError, match="public URL"):
        Settings(trust_file=trust_file)


def test_the_audience_is_the_public_url_not_the_host_header(
    secured: TestClient, signer: Signer, carcinoid: Case
) -> None:
    body = hook_request(prefetch_of(carcinoid))
    token = signer.token("http://evil.example/cds-services/netaid-patient-view")
    response = secured.post("/cds-services/netaid-patient-view", json=body,
                            headers={"Authorization": f"Bearer {token}",
                                     "Host": "evil.example"})  # fmt: skip
    refused(response, "aud")


def test_serve_reports_a_bad_trust_file_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "trust.yaml"
    path.write_text("issuers: []")
    args = ["serve", "--host", "0.0.0.0", "--trust", str(path), "--public-url", "https://x.org"]
    assert main(args) == 2
    assert "a list of issuers" in capsys.readouterr().err
    assert main(["serve", "--host", "0.0.0.0", "--trust", str(path)]) == 2
    assert "--public-url" in capsys.readouterr().err


def test_the_token_is_checked_before_the_body_is_read(secured: TestClient) -> None:
    response = secured.post("/cds-services/netaid-patient-view", content=b'{"hook": ',
                            headers={"Content-Type": "application/json"})  # fmt: skip
    refused(response, "missing")


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--port", "70000"], "65535"), (["--port", "http"], "not a port"),
     (["--max-cards", "0"], "at least 1"), (["--workers", "x"], "whole number")],
)  # fmt: skip
def test_serve_flags_are_checked(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *args]) == 2
    assert words in capsys.readouterr().err
