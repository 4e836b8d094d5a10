from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from netaid import Case
from netaid.web import Settings, create_app

from .support import FakeFhir, fake_fhir_server


@pytest.fixture
def feedback_file(tmp_path: Path) -> Path:
    return tmp_path / "feedback.jsonl"


@pytest.fixture
def app(feedback_file: Path) -> FastAPI:
    return create_app(Settings(feedback_file=feedback_file, fhir_timeout=1.0))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def fhir() -> Iterator[FakeFhir]:
    with fake_fhir_server(FakeFhir()) as fake:
        yield fake


@pytest.fixture(scope="session")
def carcinoid() -> Case:
    return Case(
        site="small_bowel",
        grade="G1",
        differentiation="well",
        stage="metastatic",
        metastases={"liver"},
        functional_status="functioning",
        syndromes={"carcinoid_syndrome"},
        carcinoid_heart_disease=True,
    )
