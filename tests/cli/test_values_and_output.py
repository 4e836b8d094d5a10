"""The CLI keeps its word: every value its help offers is accepted, every error lists values
that are accepted, and output that cannot be written is an error of its own (exit 74)."""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from netaid.case import Case, case_fields, case_values
from netaid.cli import build_parser, main
from tests.conftest import MINI_RULES

MINI = ["--rules", str(MINI_RULES)]
EXIT_IOERR = 74
FULL = "netaid: error: cannot write output: No space left on device\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def _subcommand(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    sub: argparse.ArgumentParser = actions[0].choices[name]
    return sub


def _offered(command: str) -> list[tuple[str, str]]:
    """(flag, value) for every value the help of `command` offers for a one-value case flag."""
    offered = []
    for action in _subcommand(command)._actions:
        spec = case_fields().get(action.dest)
        if spec is None or spec.kind not in ("scalar", "tristate"):
            continue
        flag = action.option_strings[0]
        if spec.kind == "tristate":
            assert isinstance(action.metavar, str)
            values = action.metavar.split("|")
        else:
            assert isinstance(action.help, str)
            values = action.help.split(", ")
        offered += [(flag, value) for value in values]
    return offered


def _allowed(err: str) -> list[str]:
    found = re.findall(r"\(allowed: ([^)]*)\)", err)
    assert len(found) == 1, err
    return found[0].split(", ")


# --- every value the help offers is accepted ---


def test_the_help_offers_unknown_for_cell_type() -> None:
    assert ("--cell-type", "unknown") in _offered("discuss")
    assert ("--cell-type", "unknown") in _offered("vignettes")


@pytest.mark.parametrize(("flag", "value"), _offered("discuss"))
def test_discuss_accepts_every_value_its_help_offers(
    capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    site = [] if flag == "--site" else ["--site", "lung"]
    status, out, err = run(capsys, "discuss", *MINI, *site, flag, value, "--format", "json")
    assert status == 0, err
    field = flag.removeprefix("--").replace("-", "_")
    # As rules see the case: unknown is "unknown" whether the model holds it as a value or null.
    seen = case_values(Case.model_validate(json.loads(out)["case"]))[field]
    assert seen == {"yes": "true", "no": "false"}.get(value, value)


@pytest.mark.parametrize(("flag", "value"), _offered("vignettes"))
def test_vignettes_accept_every_value_their_help_offers(
    capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    status, _, err = run(
        capsys, "vignettes", *MINI, "--count", "1", "--seed", "3", flag, value, "--format", "json"
    )
    assert status == 0, err


def test_cell_type_unknown_overrides_a_case_files_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("site: lung\ndifferentiation: poorly\ncell_type: small_cell\n")
    status, out, _ = run(
        capsys, "discuss", *MINI, str(path), "--cell-type", "unknown", "--format", "json"
    )
    assert status == 0
    assert json.loads(out)["case"]["cell_type"] is None


def test_vignettes_with_cell_type_unknown_draw_it_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(
        capsys,
        "vignettes",
        *MINI,
        *("--count", "20", "--seed", "5", "--differentiation", "poorly"),
        *("--cell-type", "unknown", "--format", "json"),
    )
    assert status == 0
    cases = [d["case"] for d in json.loads(out)]
    assert {c["cell_type"] for c in cases} == {None}


# --- errors list the values that are accepted, and only those ---


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["--symptomatic", "maybe"], ["true", "false", "yes", "no", "unknown"]),
        (["--resectable", "perhaps"], ["true", "false", "yes", "no", "unknown"]),
        (["--cell-type", "giant_cell"], ["small_cell", "large_cell", "unknown"]),
        (["--grade", "G4"], ["G1", "G2", "G3", "unknown"]),
    ],
)
def test_flag_errors_list_the_values_the_flag_takes(
    capsys: pytest.CaptureFixture[str], argv: list[str], allowed: list[str]
) -> None:
    for command in (
        ["discuss", *MINI, "--site", "lung"],
        ["vignettes", *MINI, "--count", "1", "--seed", "1"],
    ):
        status, out, err = run(capsys, *command, *argv)
        assert status == 2
        assert out == ""
        assert _allowed(err) == allowed
        flag, value = argv
        field = flag.removeprefix("--").replace("-", "_")
        assert f"{field}: " in err
        assert repr(value) in err


@pytest.mark.parametrize("flag", ["--symptomatic", "--resectable", "--cell-type"])
def test_every_value_a_flag_error_lists_is_accepted(
    capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    status, _, err = run(capsys, "discuss", *MINI, "--site", "lung", flag, "maybe")
    assert status == 2
    for value in _allowed(err):
        status, _, err = run(capsys, "discuss", *MINI, "--site", "lung", flag, value)
        assert status == 0, (value, err)


# --- output that cannot be written ---

needs_dev_full = pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")


@needs_dev_full
@pytest.mark.parametrize(
    "argv",
    [
        ["discuss", *MINI, "--site", "lung"],
        ["discuss", *MINI, "--site", "lung", "--format", "json"],
        ["schema"],
        ["vignettes", *MINI, "--count", "2", "--seed", "1"],
        ["--help"],
        ["discuss", "--help"],
        ["--version"],
    ],
    ids=lambda argv: " ".join(a for a in argv if a not in MINI),
)
@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("module", ["netaid", "netaid.cli"])
def test_a_full_disk_is_a_one_line_error_with_exit_74(
    argv: list[str], unbuffered: bool, module: str
) -> None:
    # Small outputs stay in Python's buffer until the interpreter flushes it at exit, where a
    # failure used to be "Exception ignored" (or nothing at all) and a wrong status.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", module, *argv],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            check=False,
        )
    assert result.stderr == FULL
    assert result.returncode == EXIT_IOERR


@needs_dev_full
def test_the_installed_script_reports_a_full_disk_too() -> None:
    script = Path(sys.executable).with_name("netaid")
    if not script.exists():
        pytest.skip("the netaid script is not installed beside this Python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [str(script), "schema"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            check=False,
        )
    assert (result.returncode, result.stderr) == (EXIT_IOERR, FULL)


class _FullDisk(io.RawIOBase):
    def __init__(self) -> None:
        self.full = True

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return len(data)


@pytest.mark.parametrize(
    "argv",
    [
        ["discuss", *MINI, "--site", "lung"],
        ["schema", "--rules"],
        ["vignettes", *MINI, "--count", "1", "--seed", "1"],
        ["discuss", "--help"],
    ],
)
@pytest.mark.parametrize("buffering", [0, 1 << 20])
def test_a_failed_write_is_not_reported_as_a_bug(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    buffering: int,
) -> None:
    disk = _FullDisk()
    stream = io.TextIOWrapper(
        io.BufferedWriter(disk, buffer_size=max(buffering, 1)),
        encoding="utf-8",
        write_through=buffering == 0,
    )
    monkeypatch.setattr("sys.stdout", stream)
    status = main(argv)
    err = capsys.readouterr().err
    disk.full = False  # so that closing the stream later does not fail again
    assert err == FULL
    assert status == EXIT_IOERR


def test_the_exit_statuses_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["discuss", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        out = " ".join(capsys.readouterr().out.split())
        assert "2 bad input" in out
        assert "74 the output could not be written" in out
