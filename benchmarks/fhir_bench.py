"""The FHIR figures: bundles mapped per second, and what reading a bundle adds to the CLI.

    .venv/bin/python benchmarks/bench.py --fhir-only      # this section alone
    .venv/bin/python benchmarks/fhir_bench.py             # the same, standalone

Bundles: every class of the covering set of the shipped rulebook's ClassSpace, written by
bundle_from_case and serialised as JSON text (as a file holds them), plus the EHR-style
example. Mapping is timed with and without the fhir.resources validation. The CLI figure is
the median of interleaved runs of `netaid discuss` on a bundle and on the same case as YAML
(their difference is the import of netaid.fhir and fhir.resources plus the reading itself),
and of the bare imports of netaid.cli with and without netaid.fhir and the R4B models.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EXAMPLE_YAML = REPO / "examples" / "pancreas-insulinoma-metastatic.yaml"
EXAMPLE_FHIR = REPO / "examples" / "fhir" / "pancreas-insulinoma-metastatic.json"
EHR = REPO / "examples" / "fhir" / "ehr-export-small-bowel.json"


def _rate(function: Callable[[str], object], texts: list[str], rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for text in texts:
            function(text)
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


# What reading a bundle imports on top of the CLI: netaid.fhir and the R4B models it validates.
_IMPORT_FHIR = """
import netaid.cli, netaid.fhir
from fhir.resources.R4B import get_fhir_model_class
for kind in ("Bundle", "Condition", "Observation", "Procedure"):
    get_fhir_model_class(kind)
"""


def _cli_medians(runs: int) -> dict[str, float]:
    netaid_bin = str(BIN / "netaid")
    commands = {
        "yaml": [netaid_bin, "discuss", str(EXAMPLE_YAML)],
        "fhir": [netaid_bin, "discuss", str(EXAMPLE_FHIR)],
        "import_cli": [str(BIN / "python"), "-c", "import netaid.cli"],
        "import_cli_fhir": [str(BIN / "python"), "-c", _IMPORT_FHIR],
    }
    subprocess.run(commands["yaml"], check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):  # interleaved, so load on a shared machine hits every command alike
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def fhir_section(
    say: Callable[[str], None] = print, *, rounds: int = 3, cli_runs: int = 10, limit: int = 2000
) -> dict[str, Any]:
    from netaid import load_rulebook
    from netaid.check import ClassSpace
    from netaid.fhir import bundle_from_case, case_from_bundle

    space = ClassSpace.build(load_rulebook())
    cases = [space.case(a) for a, _ in space.covering()][:limit]
    started = time.perf_counter()
    texts = [json.dumps(bundle_from_case(case)) for case in cases]
    written = len(cases) / (time.perf_counter() - started)
    texts.append(EHR.read_text())
    validated = _rate(case_from_bundle, texts, rounds)
    trusted = _rate(lambda t: case_from_bundle(t, validate_resources=False), texts, rounds)
    cli = _cli_medians(cli_runs)
    figures = {
        "bundles": len(texts),
        "mean_bundle_bytes": round(statistics.mean(len(t) for t in texts)),
        "written_per_s": round(written),
        "mapped_per_s_validated": round(validated),
        "mapped_per_s_without_validation": round(trusted),
        "cli_discuss_yaml_s": round(cli["yaml"], 3),
        "cli_discuss_bundle_s": round(cli["fhir"], 3),
        "cli_added_by_bundle_s": round(cli["fhir"] - cli["yaml"], 3),
        "import_cli_s": round(cli["import_cli"], 3),
        "import_added_by_fhir_s": round(cli["import_cli_fhir"] - cli["import_cli"], 3),
    }
    say("\n## FHIR bundles")
    say(
        f"- bundles: {len(texts):,} (covering set + the EHR example), "
        f"mean {figures['mean_bundle_bytes']:,} bytes"
    )
    say(f"- written (bundle_from_case): {written:,.0f} bundles/s")
    say(f"- mapped with fhir.resources validation: {validated:,.0f} bundles/s")
    say(f"- mapped without validation (trusted input): {trusted:,.0f} bundles/s")
    say(
        f"- netaid discuss: YAML case {cli['yaml']:.3f} s, the same case as a bundle "
        f"{cli['fhir']:.3f} s (+{figures['cli_added_by_bundle_s']:.3f} s, medians of {cli_runs})"
    )
    say(
        f"- import: netaid.cli {cli['import_cli']:.3f} s; netaid.fhir and the fhir.resources R4B "
        f"models it validates with add {figures['import_added_by_fhir_s']:.3f} s"
    )
    return figures


if __name__ == "__main__":
    print(json.dumps(fhir_section(), indent=2))
