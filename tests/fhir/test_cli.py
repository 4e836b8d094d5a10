"""The command line with FHIR bundles: discuss one, show its mapping, batches of NDJSON bundles,
and bundles written by --format fhir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netaid.cli import main
from netaid.fhir import case_from_bundle

pytest.importorskip("fhir.resources")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "fhir"
EHR = EXAMPLES / "ehr-export-small-bowel.json"


def test_discuss_reads_a_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discuss", str(EHR), "--as-of", "2026-01-01"]) == 0
    out, err = capsys.readouterr()
    assert "primary site: small bowel" in out
    assert "carcinoid syndrome" in out
    # The unmappable bodySite is named on stderr; what was ignored only with --show-mapping.
    assert "not used: Condition/ehr-dx-liver-mets bodySite[0]: code system" in err
    assert "Encounter" not in err


def test_show_mapping_prints_the_provenance_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discuss", str(EHR), "--show-mapping", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["case"]["site"] == "small_bowel"
    assert "Condition/ehr-dx-net" in err
    assert "C7A.012" in err
    assert "ignored:" in err


def test_flags_override_a_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discuss", str(EHR), "--grade", "G2", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["case"]["grade"] == "G2"


def test_a_malformed_bundle_exits_2_naming_resource_and_element(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = json.loads(EHR.read_text())
    bundle["entry"][4]["resource"]["bodySite"] = "ileum"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bundle))
    assert main(["discuss", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Condition/ehr-dx-net bodySite" in err
    assert "Traceback" not in err


def test_a_batch_of_ndjson_bundles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps(json.loads(p.read_text())) for p in sorted(EXAMPLES.glob("*.json"))]
    lines.append(json.dumps({"resourceType": "Patient", "id": "not-a-bundle"}))
    source = tmp_path / "export.ndjson"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert main(["discuss", str(source), "--out", str(out), "--format", "json"]) == 1
    written = sorted(out.iterdir())
    assert len(written) == len(lines) - 1
    assert "not a FHIR Bundle" in capsys.readouterr().err


def test_vignettes_as_fhir_bundles_read_back(tmp_path: Path) -> None:
    assert (
        main(
            ["vignettes", "--count", "3", "--seed", "7", "--format", "fhir", "--out", str(tmp_path)]
        )
        == 0
    )
    combined = tmp_path / "all.ndjson"
    assert (
        main(
            [
                "vignettes",
                "--count",
                "3",
                "--seed",
                "7",
                "--format",
                "fhir",
                "--combined",
                str(combined),
            ]
        )
        == 0
    )
    files = sorted(tmp_path.glob("vignette-*.json"))
    assert len(files) == 3
    lines = combined.read_text().splitlines()
    for path, line in zip(files, lines, strict=True):
        one = case_from_bundle(path.read_text()).case
        assert one == case_from_bundle(line).case
        assert one.title is not None
        assert one.title.startswith("Vignette")


def test_a_json_case_that_mentions_resource_type_is_still_a_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"site": "lung", "title": '"resourceType" in a title'}))
    assert main(["discuss", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["case"]["site"] == "lung"


def test_a_huge_bundle_file_is_refused_as_a_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = json.loads(EHR.read_text())
    bundle["entry"].append(
        {
            "resource": {
                "resourceType": "Basic",
                "id": "pad",
                "code": {"text": "x" * (9 * 1024 * 1024)},
            }
        }
    )
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(bundle))
    assert main(["discuss", str(path)]) == 2
    assert "larger than 8 MiB" in capsys.readouterr().err


def test_without_the_fhir_extra_a_bundle_gives_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "fhir.resources.R4B", None)  # import fails
    assert main(["discuss", str(EHR)]) == 2
    assert "pip install 'netaid[fhir]'" in capsys.readouterr().err


def test_the_core_never_imports_fhir_resources() -> None:
    import subprocess
    import sys

    code = (
        "import sys, netaid, netaid.cli, netaid.render, netaid.batch\n"
        "from netaid.cli import main\n"
        "main(['discuss', '--site', 'lung', '--format', 'fhir'])\n"
        "assert 'fhir.resources' not in sys.modules, 'fhir.resources imported'\n"
        "assert not any(m.startswith('fhir') for m in sys.modules), 'fhir imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"resourceType": "Bundle"' in done.stdout


def test_show_mapping_on_a_case_file_says_it_is_not_a_bundle(
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = EXAMPLES.parent / "appendix-localized-g1.yaml"
    assert main(["discuss", str(case), "--show-mapping"]) == 0
    assert "is not a FHIR Bundle" in capsys.readouterr().err
