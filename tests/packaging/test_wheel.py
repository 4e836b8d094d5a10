"""The wheel carries the rulebook: an installed netaid works with no source tree around it."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
    )
    (path,) = out.glob("netaid-*.whl")
    return path


def test_the_wheel_contains_the_rulebook_templates_and_types(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_rules = {p.name for p in (REPO / "rules").glob("*.yaml")}
    assert {f"netaid/rules/{name}" for name in shipped_rules} <= names
    assert "netaid/py.typed" in names
    assert any(n.startswith("netaid/templates/") for n in names)
    assert any(n.startswith("netaid/examples/") for n in names)
    assert "netaid/fhir/mapping.yaml" in names
    assert "netaid/examples/fhir/ehr-export-small-bowel.json" in names
    web = {"page.html.j2", "page.css", "api.html.j2"}
    assert {f"netaid/web/templates/{name}" for name in web} <= names
    assert not any(n.startswith("netaid/rules/") and "seeds" in n for n in names)


def test_an_installed_netaid_runs_from_anywhere(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # durable-rules builds a C extension; pip's wheel cache makes the second build instant.
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [
            env_dir / "bin" / "netaid",
            "discuss",
            "--site",
            "small_bowel",
            "--stage",
            "metastatic",
            "--metastasis",
            "liver",
            "--syndrome",
            "carcinoid_syndrome",
            "--format",
            "json",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"educational_only": true' in result.stdout
    # The handout templates are package data too.
    handout = subprocess.run(
        [env_dir / "bin" / "netaid", "discuss", "--site", "lung", "--format", "html"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
    )
    assert handout.returncode == 0, handout.stderr
    assert handout.stdout.lower().count("educational only") >= 2
    # Writing FHIR needs no extra; reading a bundle without netaid[fhir] says how to get it.
    bundle = subprocess.run(
        [env_dir / "bin" / "netaid", "discuss", "--site", "lung", "--format", "fhir"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bundle.returncode == 0, bundle.stderr
    (elsewhere / "bundle.json").write_text(bundle.stdout)
    read = subprocess.run(
        [env_dir / "bin" / "netaid", "discuss", "bundle.json"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
    )
    assert read.returncode == 2
    assert "pip install 'netaid[fhir]'" in read.stderr
    where = subprocess.run(
        [python, "-c", "from netaid.rulebook import default_rules_dir; print(default_rules_dir())"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "site-packages" in where
