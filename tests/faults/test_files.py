"""Files are written whole or not at all, never through a symlink, never over another case's
file; and the exit status says when output was lost."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from netaid.cli import main
from tests.conftest import MINI_RULES, REPO

MINI = ["--rules", str(MINI_RULES)]
EXAMPLE = REPO / "examples" / "pancreas-insulinoma-metastatic.yaml"


def netaid_limited(*argv: str, max_file_bytes: int) -> subprocess.CompletedProcess[str]:
    """netaid in a process that cannot write a file past `max_file_bytes`: a full disk."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run(
        [sys.executable, "-m", "netaid", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit,
    )


def test_a_failed_write_keeps_the_earlier_combined_file(tmp_path: Path) -> None:
    combined = tmp_path / "all.md"
    combined.write_text("a good earlier handout\n", encoding="utf-8")
    done = netaid_limited(
        "vignettes", "--count", "3", "--seed", "1", "--combined", str(combined),
        max_file_bytes=4096,
    )  # fmt: skip
    assert done.returncode == 74, done.stderr
    assert f"cannot write {str(combined)!r}" in done.stderr
    assert combined.read_text("utf-8") == "a good earlier handout\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.md"]  # no temporary left


def test_a_failed_write_leaves_no_truncated_handout(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"site": "colon"}\n{"site": "lung"}\n', encoding="utf-8")
    out = tmp_path / "out"
    done = netaid_limited("discuss", *MINI, str(cases), "--out", str(out), max_file_bytes=600)
    assert done.returncode == 74, done.stderr
    assert "cannot write" in done.stderr
    assert list(out.iterdir()) == []


def test_a_failed_write_of_a_single_case_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = netaid_limited("discuss", str(EXAMPLE), "--out", str(out), max_file_bytes=600)
    assert done.returncode == 74, done.stderr
    assert list(out.iterdir()) == []


def test_a_symlink_in_out_is_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "row-0001.txt").symlink_to(victim)
    (out / "case.txt").symlink_to(victim)
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"site": "colon"}\n', encoding="utf-8")
    assert main(["discuss", *MINI, str(cases), "--out", str(out)]) == 0
    single = tmp_path / "case.yaml"
    single.write_text("site: colon\n", encoding="utf-8")
    assert main(["discuss", *MINI, str(single), "--out", str(out)]) == 0
    capsys.readouterr()
    assert victim.read_text("utf-8") == "precious\n"
    assert not (out / "row-0001.txt").is_symlink()
    assert "primary site: colon" in (out / "row-0001.txt").read_text("utf-8")


def test_cases_with_the_same_output_name_never_overwrite_each_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "Case A.yaml"
    first.write_text("site: colon\n", encoding="utf-8")
    second = tmp_path / "case_a.yaml"
    second.write_text("site: lung\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["discuss", *MINI, str(first), "--out", str(out)]) == 0
    assert main(["discuss", *MINI, str(second), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"wrote {out / 'case-a.txt'}" in err
    assert f"wrote {out / 'case-a-2.txt'}" in err
    assert "primary site: colon" in (out / "case-a.txt").read_text("utf-8")
    assert "primary site: lung" in (out / "case-a-2.txt").read_text("utf-8")


def test_closed_stdout_exits_74(tmp_path: Path) -> None:
    done = subprocess.run(
        f'exec "{sys.executable}" -m netaid discuss "{EXAMPLE}" >&-',
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 74
    assert done.stderr == "netaid: error: cannot write output: standard output is closed\n"


def test_a_failed_write_to_a_file_exits_74(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    blocked.chmod(0o500)
    try:
        status = main(["vignettes", "--count", "1", "--seed", "1", "--out", str(blocked)])
    finally:
        blocked.chmod(0o700)
    err = capsys.readouterr().err
    if status == 0:
        pytest.skip("running as root: permissions do not stop writes")
    assert status == 74
    assert "cannot write" in err
