"""Batches never lose a row silently: every input line is a written file, a named bad row,
or counted in the summary, whatever the input holds and whatever happens to the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netaid.batch import BatchReader
from netaid.cli import main
from tests.conftest import MINI_RULES

MINI = ["--rules", str(MINI_RULES)]
GOOD = '{"site": "colon", "stage": "localized"}'


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def netaid(*argv: str, **streams: object) -> subprocess.CompletedProcess[str]:
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **streams}
    return subprocess.run(
        [sys.executable, "-m", "netaid", *argv],
        text=True,
        timeout=120,
        check=False,
        **streams,  # type: ignore[call-overload]
    )


def numbers(folder: Path) -> list[int]:
    """The row numbers of the files written into `folder`, in the order their names sort."""
    return [int(name.split("-")[1].split(".")[0]) for name in sorted(os.listdir(folder))]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"site": "colon", "title": ' + "1" * 5000 + "}", "too many digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"site": "colon", "notes": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too"),
    ],
    ids=["huge-integer", "deep-array", "deep-value"],
)
def test_a_row_that_breaks_the_json_parser_is_that_rows_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str, message: str
) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{GOOD}\n{bad}\n{GOOD}\n", encoding="utf-8")
    status, _, err = run(capsys, "discuss", *MINI, str(path), "--out", str(tmp_path / "o"))
    assert status == 1
    assert f"{path}: row 2: (row): " in err
    assert message in err
    assert "2 of 3 rows written" in err
    assert numbers(tmp_path / "o") == [1, 3]


@pytest.mark.parametrize(
    "text",
    [
        "site: colon\ntitle: 2020-02-30\n",
        "site: colon\ntitle: " + "9" * 5000 + "\n",
        "site: colon\ntitle: 0x" + "f" * 5000 + "\n",
        "site: colon\ntitle: 0b" + "1" * 20000 + "\n",
        "site: colon\ntitle: " + ":".join(["59"] * 3000) + "\n",
    ],
    ids=["impossible-date", "decimal", "hex", "binary", "base-60"],
)
def test_a_case_file_yaml_cannot_build_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    status, out, err = run(capsys, "discuss", *MINI, str(path))
    assert status == 2
    assert out == ""
    assert err.startswith(f"netaid: error: {path}: invalid case")
    assert len(err) < 2_000  # the huge value is not echoed


def test_a_rule_file_yaml_cannot_build_is_a_rulebook_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rules.yaml").write_text((MINI_RULES / "rules.yaml").read_text("utf-8"), "utf-8")
    sources = (MINI_RULES / "sources.yaml").read_text("utf-8")
    sources = sources.replace("reviewed: ", "reviewed: 2020-02-30\n    was: ", 1)
    (rules / "sources.yaml").write_text(sources, "utf-8")
    status, _, err = run(capsys, "check", "--rules", str(rules))
    assert status == 2
    assert "sources.yaml: cannot read as YAML: " in err
    assert "day is out of range" in err


# --- CSV ---


def test_an_unbalanced_quote_is_an_error_naming_the_row_it_opens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cases.csv"
    rows = ["site,stage,title", "colon,localized,a", 'lung,localized,"b', "rectum,,c", "colon,,d"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    status, _, err = run(capsys, "discuss", *MINI, str(path), "--out", str(tmp_path / "o"))
    assert status == 1
    assert f"{path}: row 3: (row): a quote opens here and is never closed" in err
    # The lines after it are read as rows of their own, not swallowed into its cell.
    assert "3 of 4 rows written" in err
    assert "1 failed" in err
    assert numbers(tmp_path / "o") == [2, 4, 5]


def test_a_stray_quote_in_a_long_file_loses_no_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Past csv's field size limit (131,072 characters) the open quote ends in an error, not
    # at the end of the file: the rows it took in are read again all the same.
    rows = ["site,title"] + [f"colon,case {i}" for i in range(2, 20_001)]
    rows[2] = 'lung,"stray'
    path = tmp_path / "cases.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    written: list[int] = []
    with BatchReader(path) as reader:
        for row in reader:
            if row.case is None:
                assert row.number == 3
                assert "a quote opens here" in str(row.problems[0])
            else:
                written.append(row.number)
    assert written == [2, *range(4, 20_001)]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            ['colon,"a', "lung,b", "rectum,c"],
            "row 2: (row): a quote opens here and is never closed",
        ),
        (["colon,a", 'lung,"b'], "row 3: (row): a quote opens here and is never closed"),
        (
            ['colon,"a', 'lung,"b', "rectum,c"],
            "row 2: (row): a quote opens here and does not close a cell",
        ),
        (['colon,"a"b', "lung,c"], "row 2: (row): not valid CSV: ',' expected after '\"'"),
    ],
    ids=["to-the-end", "on-the-last-line", "closed-mid-cell-later", "closed-mid-cell"],
)
def test_every_stray_quote_is_its_rows_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: list[str], message: str
) -> None:
    # Leniently read, a stray quote paired with the next one and merged the rows between.
    path = tmp_path / "cases.csv"
    path.write_text("\n".join(["site,title", *rows]) + "\n", encoding="utf-8")
    status, _, err = run(capsys, "discuss", *MINI, str(path), "--out", str(tmp_path / "o"))
    assert status == 1
    assert f"{path}: {message}" in err
    good = [n for n, row in enumerate(rows, start=2) if '"' not in row]
    assert numbers(tmp_path / "o") == good
    assert f"{len(good)} of {len(rows)} rows written" in err


def test_a_closed_quote_spanning_lines_still_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A guard: reading strictly, and reading lines again, must keep multi-line cells whole.
    path = tmp_path / "cases.csv"
    path.write_text('site,notes\ncolon,"two\nlines"\nlung,x\n', encoding="utf-8")
    status, _, err = run(capsys, "discuss", *MINI, str(path), "--out", str(tmp_path / "o"))
    assert status == 0, err
    # Rows are numbered as a spreadsheet shows them: one row, two lines.
    assert numbers(tmp_path / "o") == [2, 3]


def test_the_header_check_makes_no_pass_over_the_header_per_column(tmp_path: Path) -> None:
    # 40,000 columns took 16 s with a `count` per column; the check is now one pass. Counted,
    # not timed: calls to list.count while the header is checked.
    path = tmp_path / "wide.csv"
    path.write_text(",".join(["site"] + [f"title{i}" for i in range(3)]) + "\n", "utf-8")
    calls = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event == "c_call" and getattr(arg, "__name__", "") == "count":
            calls += 1

    header = ["site", "stage", "grade", "title", "notes"] * 2
    path.write_text(",".join(header) + "\n", "utf-8")
    sys.setprofile(profile)
    try:
        with pytest.raises(Exception, match="repeated columns: grade, notes, site, stage, title"):
            BatchReader(path)
    finally:
        sys.setprofile(None)
    assert calls == 0


# --- stderr, signals, resuming ---


def test_unwritable_stderr_does_not_stop_the_batch(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(f'{GOOD}\n{{"site": "nowhere"}}\n{GOOD}\n', encoding="utf-8")
    with open(os.devnull, "w") as sink, open("/dev/full", "w") as full:
        done = netaid(
            "discuss", *MINI, str(path), "--out", str(tmp_path / "o"), stdout=sink, stderr=full
        )
    # Every good row is written, and the status says the report could not be: 74, not 1.
    assert numbers(tmp_path / "o") == [1, 3]
    assert done.returncode == 74


def test_bad_input_with_unwritable_stderr_still_exits_2(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        done = netaid("discuss", *MINI, str(tmp_path / "missing.yaml"), stderr=full)
    assert done.returncode == 2


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_batch_says_where_it_stopped_and_resumes(
    tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{GOOD}\n" * 200_000, encoding="utf-8")
    out = tmp_path / "o"
    proc = subprocess.Popen(
        [sys.executable, "-m", "netaid", "discuss", *MINI, str(path), "--out", str(out)],
        stderr=subprocess.PIPE,
        text=True,
    )
    while not (out.is_dir() and len(os.listdir(out)) >= 20):
        assert proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("netaid: interrupted after row ")
    stopped = int(last.removeprefix("netaid: interrupted after row ").split(":")[0])
    assert f"rerun with --skip {stopped} (or --resume) to go on" in last
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert len(written) == stopped  # rows 1..stopped, each whole
    assert f"{stopped} of {stopped} rows written" in last
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no half-written file


def test_skip_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(f'{GOOD}\n{GOOD}\n{{"site": "x"}}\n{GOOD}\n', encoding="utf-8")
    out = tmp_path / "o"
    status, _, err = run(capsys, "discuss", *MINI, str(path), "--out", str(out), "--skip", "2")
    assert status == 1
    assert "row 3: site" in err
    assert "1 of 2 rows written" in err
    assert "2 skipped" in err
    assert sorted(p.name for p in out.iterdir()) == ["row-0004.txt"]
    (out / "row-0004.txt").unlink()
    (out / "row-0001.txt").write_text("done before")
    status, _, err = run(capsys, "discuss", *MINI, str(path), "--out", str(out), "--resume")
    assert "--resume: going on after row 1" in err
    assert (out / "row-0001.txt").read_text() == "done before"
    assert sorted(p.name for p in out.iterdir()) == [
        "row-0001.txt",
        "row-0002.txt",
        "row-0004.txt",
    ]


def test_skip_and_resume_are_for_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("site: colon\n", encoding="utf-8")
    status, out, err = run(capsys, "discuss", *MINI, str(path), "--resume")
    assert status == 2
    assert "--skip and --resume go on with a batch file" in err
    assert out == ""


def test_skip_must_be_a_whole_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{GOOD}\n", encoding="utf-8")
    status, _, err = run(capsys, "discuss", str(path), "--out", str(tmp_path), "--skip", "-1")
    assert status == 2
    assert "--skip" in err


def test_output_names_keep_input_order_past_row_9999(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Blank lines count as lines but are no cases: row numbers past 9,999 cheaply.
    cases = [1, 1001, 9999, 10_000, 10_001]
    lines = ["" for _ in range(10_001)]
    for number in cases:
        lines[number - 1] = GOOD
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, _, err = run(capsys, "discuss", *MINI, str(path), "--out", str(tmp_path / "o"))
    assert status == 0, err
    assert numbers(tmp_path / "o") == cases
