"""The service under a real uvicorn on loopback: body limits, slow clients, 1,000 concurrent
calls compared with `discuss()`, the command itself, and logs without patient data."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from netaid import Case
from netaid.vignettes import draw_cases
from netaid.web import Settings, create_app

from . import schemas
from .support import (
    PATIENT,
    FakeFhir,
    expected_cards,
    fake_fhir_server,
    hook_request,
    live_server,
    prefetch_of,
    resources_of,
)

SERVICE = "/cds-services/netaid-patient-view"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("live")
    settings = Settings(
        feedback_file=folder / "feedback.jsonl", max_body=256 * 1024, body_timeout=3.0
    )
    with live_server(create_app(settings)) as url:
        yield url


def raw_exchange(url: str, request: bytes, *, wait: float = 10.0) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_declared_huge_body_is_413_before_it_is_sent(server: str) -> None:
    head = (
        f"POST {SERVICE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
    ).encode()
    start = time.monotonic()
    answer = raw_exchange(server, head + b"{")
    assert time.monotonic() - start < 5
    assert answer.startswith(b"HTTP/1.1 413")
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    schemas.check(body, schemas.OPERATION_OUTCOME)
    assert "larger than 262,144 bytes" in body["issue"][0]["details"]["text"]


def test_a_chunked_huge_body_is_413(server: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"hook": "patient-view", "pad": "'
        for _ in range(100):
            yield b"x" * 10_000
        yield b'"}'

    response = httpx.post(server + SERVICE, content=chunks(), timeout=10,
                          headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    schemas.check(response.json(), schemas.OPERATION_OUTCOME)
    response = httpx.post(server + "/discuss", content=chunks(), timeout=10)
    assert response.status_code == 413
    schemas.check(response.json(), schemas.API_ERROR)


def test_a_slow_client_gets_408_and_holds_up_nobody(server: str, carcinoid: Case) -> None:
    body = json.dumps(hook_request(prefetch_of(carcinoid))).encode()
    host, port = server.removeprefix("http://").split(":")
    slow = socket.create_connection((host, int(port)), timeout=10)
    try:
        slow.sendall(
            f"POST {SERVICE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:100]
        )
        start = time.monotonic()
        # Meanwhile other clients are served at once.
        for _ in range(5):
            response = httpx.post(server + SERVICE, content=body, timeout=5,
                                  headers={"Content-Type": "application/json"})  # fmt: skip
            assert response.status_code == 200
        assert time.monotonic() - start < 2.5
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = slow.recv(65536)
            if not chunk:
                break
            answer += chunk
        took = time.monotonic() - start
    finally:
        slow.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert 2.5 < took < 15.0, took


def test_1000_concurrent_calls_all_answer_as_discuss(tmp_path: Path) -> None:
    with live_server(create_app(Settings(feedback_file=tmp_path / "fb.jsonl"))) as server:
        concurrent_calls(server, 1000)


def concurrent_calls(server: str, count: int) -> None:
    cases = [c.model_copy(update={"title": None}) for c in draw_cases(40, seed=3)]
    requests = []
    for number in range(count):
        case = cases[number % len(cases)]
        body = hook_request(prefetch_of(case))
        requests.append((case, body))

    async def run() -> list[tuple[int, Any]]:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        async with httpx.AsyncClient(base_url=server, limits=limits, timeout=120) as client:

            async def one(body: dict[str, Any]) -> tuple[int, Any]:
                response = await client.post(SERVICE, json=body)
                return response.status_code, response.json()

            return await asyncio.gather(*(one(body) for _, body in requests))

    answers = asyncio.run(run())
    wrong = 0
    for (case, body), (status, answer) in zip(requests, answers, strict=True):
        if status != 200 or answer["cards"] != expected_cards(case, body["hookInstance"], server):
            wrong += 1
    assert wrong == 0
    schemas.check(answers[0][1], schemas.RESPONSE)


def test_the_log_has_no_patient_data(
    server: str, carcinoid: Case, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netaid")
    body = hook_request(prefetch_of(carcinoid, patient="patient-7781"), patient="patient-7781")
    assert httpx.post(server + SERVICE, json=body, timeout=10).status_code == 200
    httpx.get(server + "/?site=small_bowel&stage=metastatic&notes=Jane+Doe", timeout=10)
    httpx.post(server + SERVICE, json={**body, "hook": "order-sign"}, timeout=10)
    text = caplog.text
    assert f'"POST {SERVICE}" 200' in text
    assert '"GET /" 200' in text
    for secret in ("patient-7781", "small_bowel", "Jane", "metastatic", body["hookInstance"]):
        assert secret not in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("workers", [1, 2])
def test_netaid_serve_starts_and_answers(tmp_path: Path, carcinoid: Case, workers: int) -> None:
    port = _free_port()
    feedback = tmp_path / "fb.jsonl"
    command = [sys.executable, "-m", "netaid", "serve", "--port", str(port), "--max-cards", "2",
               "--feedback", str(feedback), "--workers", str(workers)]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stderr=stderr, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "netaid serve did not start"
            time.sleep(0.2)
        body = hook_request(prefetch_of(carcinoid))
        answer = httpx.post(url + SERVICE, json=body, timeout=30).json()
        assert answer["cards"] == expected_cards(carcinoid, body["hookInstance"], url, 2)
        fb = {"feedback": [{"card": answer["cards"][0]["uuid"], "outcome": "overridden",
                            "outcomeTimestamp": "2026-01-01T00:00:00Z"}]}  # fmt: skip
        assert httpx.post(url + SERVICE + "/feedback", json=fb, timeout=10).status_code == 200
        assert json.loads(feedback.read_text())["card"] == answer["cards"][0]["uuid"]
        assert PATIENT not in feedback.read_text()
    finally:
        process.terminate()
        process.wait(30)
    assert f"serving the tutor page at http://127.0.0.1:{port}/" in log.read_text()


def test_a_bug_is_a_json_500_with_no_message_or_traceback_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(feedback_file=tmp_path / "fb.jsonl"))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("patient Jane Doe, 1960-01-01")

    caplog.set_level(logging.DEBUG)
    with live_server(app) as url:
        response = httpx.get(url + "/boom", timeout=10)
        assert httpx.get(url + "/healthz", timeout=10).status_code == 200
    assert response.status_code == 500
    schemas.check(response.json(), schemas.API_ERROR)
    assert "internal error in netaid" in response.json()["error"]["message"]
    assert "Jane" not in response.text
    assert "internal error on GET /boom: RuntimeError" in caplog.text
    assert "Jane" not in caplog.text
    assert "Traceback" not in caplog.text


def test_the_fhir_server_path_over_real_http(tmp_path: Path, carcinoid: Case) -> None:
    settings = Settings(feedback_file=tmp_path / "fb.jsonl", fhir_timeout=1.0)
    with live_server(create_app(settings)) as url, fake_fhir_server(FakeFhir()) as fhir:
        fhir.patients[PATIENT] = resources_of(carcinoid)
        body = hook_request(fhirServer=fhir.url)
        response = httpx.post(url + SERVICE, json=body, timeout=10)
        assert response.status_code == 200
        assert response.json()["cards"] == expected_cards(carcinoid, body["hookInstance"], url)
        for mode, status in (("error", 412), ("slow", 412)):
            fhir.mode, fhir.delay = mode, 5.0
            start = time.monotonic()
            response = httpx.post(url + SERVICE, json=hook_request(fhirServer=fhir.url), timeout=10)
            assert time.monotonic() - start < 4.0
            assert response.status_code == status
            schemas.check(response.json(), schemas.OPERATION_OUTCOME)
        # The hung FHIR calls held up no one else meanwhile.
        assert httpx.get(url + "/healthz", timeout=2).status_code == 200
