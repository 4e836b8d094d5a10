"""A 1 GB input is streamed, not read into memory.

The gigabyte is never written to disk: a thread produces it lazily into a named pipe, and a
child process reads the pipe as a batch file and reports its peak memory (VmHWM). The peak
must stay within a few tens of megabytes of reading a tiny batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

GIB = 1 << 30
MAX_GROWTH_KB = 64 * 1024
ROW = json.dumps({"site": "pancreas", "stage": "metastatic", "metastases": ["liver"]}).encode()


def _feed(fifo: Path, chunks: Iterator[bytes]) -> threading.Thread:
    def write() -> None:
        try:
            with fifo.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
        except BrokenPipeError:
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _junk_lines(
    total: int,
    valid_every: int,
    *,
    header: bytes = b"",
    junk: bytes = b"x" * ((1 << 20) + 4096) + b"\n",
    row: bytes = ROW + b"\n",
) -> Iterator[bytes]:
    """`total` bytes of `junk` lines over 1 MiB each (too long to be a row), with a valid
    `row` after every `valid_every` of them."""
    yield header
    written, count = 0, 0
    while written < total:
        yield junk
        written += len(junk)
        count += 1
        if count % valid_every == 0:
            yield row


_READER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {repo!r})
    from netaid.batch import BatchReader

    def peak_kb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    before = peak_kb()
    good = bad = 0
    numbers = []
    with BatchReader({path!r}) as reader:
        for row in reader:
            if row.case is None:
                bad += 1
                assert "longer than" in str(row.problems[0]), row.problems
            else:
                good += 1
                numbers.append(row.number)
    print(good, bad, peak_kb() - before, numbers[:3])
    """
)


def _read_batch_in_child(path: Path) -> tuple[int, int, int, str]:
    child = _READER.format(repo=str(REPO), path=str(path))
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    good, bad, growth, numbers = done.stdout.split(maxsplit=3)
    return int(good), int(bad), int(growth), numbers


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_a_gigabyte_batch_streams_through_in_constant_memory(tmp_path: Path, kind: str) -> None:
    fifo = tmp_path / f"cases.{kind}"
    os.mkfifo(fifo)
    if kind == "jsonl":
        chunks = _junk_lines(GIB, valid_every=100)
    else:
        chunks = _csv_lines(GIB, valid_every=100)
    writer = _feed(fifo, chunks)
    good, bad, growth, numbers = _read_batch_in_child(fifo)
    writer.join(timeout=60)
    lines = GIB // ((1 << 20) + 4097) + 1
    assert bad == lines
    assert good == lines // 100
    # Row numbers count every line: the first good row is line 101 (CSV: row 102).
    assert numbers.startswith("[101," if kind == "jsonl" else "[102,"), numbers
    assert growth < MAX_GROWTH_KB, f"peak memory grew by {growth} KB reading 1 GiB"


def _csv_lines(total: int, valid_every: int) -> Iterator[bytes]:
    """The same for CSV: each long line is one quoted cell."""
    return _junk_lines(
        total,
        valid_every,
        header=b"site,notes\n",
        junk=b'"' + b"x" * ((1 << 20) + 4094) + b'",\n',
        row=b"pancreas,short\n",
    )


# The child's own peak (VmHWM): ru_maxrss would be inherited across fork and exec from the
# test process, whose memory grows with the suite, and measure that instead.
_CLI = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {repo!r})
    from netaid.cli import main
    status = main(["discuss", {path!r}, "--out", {out!r}, "--format", "json"])
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print(int(line.split()[1]))
    sys.exit(status)
    """
)


def _cli_peak_kb(path: Path, out: Path) -> tuple[int, int, str]:
    child = _CLI.format(repo=str(REPO), path=str(path), out=str(out))
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=600
    )
    return done.returncode, int(done.stdout.split()[-1]), done.stderr


def _sparse_batch(path: Path, size: int, valid_every: int) -> int:
    """A batch file of `size` bytes that takes almost no disk: holes (NUL bytes) make lines of
    about 1 MiB, too long to be rows, with a valid row after every `valid_every` of them.
    Returns the number of valid rows."""
    step = (1 << 20) + 4096
    valid = 0
    with path.open("wb") as out:
        for number, offset in enumerate(range(step, size, step), start=1):
            out.seek(offset)
            out.write(b"\n")
            if number % valid_every == 0:
                out.write(ROW + b"\n")
                valid += 1
        out.truncate(size)
    return valid


def test_the_command_line_streams_a_gigabyte_batch(tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_bytes((ROW + b"\n") * 3)
    status, baseline, _ = _cli_peak_kb(small, tmp_path / "small-out")
    assert status == 0

    big = tmp_path / "big.jsonl"
    valid = _sparse_batch(big, GIB, valid_every=250)
    assert big.stat().st_size == GIB
    status, peak, err = _cli_peak_kb(big, tmp_path / "big-out")
    assert status == 1, err[-2000:]  # the over-long rows failed, the others were written
    assert len(list((tmp_path / "big-out").iterdir())) == valid > 0
    assert "longer than" in err
    assert peak - baseline < MAX_GROWTH_KB, f"{peak} KB peak against {baseline} KB"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_the_command_line_reads_a_batch_from_a_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "big.jsonl"
    os.mkfifo(fifo)
    writer = _feed(fifo, _junk_lines(64 << 20, valid_every=10))
    status, _, err = _cli_peak_kb(fifo, tmp_path / "out")
    writer.join(timeout=60)
    assert "internal error" not in err, err[-500:]
    assert status == 1


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_gigabyte_of_valid_rows_streams_through(tmp_path: Path) -> None:
    # About 115,000 valid rows of 9 KB each (long notes), every one read and validated.
    fifo = tmp_path / "cases.jsonl"
    os.mkfifo(fifo)
    row = json.dumps({"site": "lung", "notes": "n" * 9_000}).encode() + b"\n"
    count = GIB // len(row)
    writer = _feed(fifo, iter([row] * count))
    child = _READER.format(repo=str(REPO), path=str(fifo))
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=1800
    )
    writer.join(timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    good, bad, growth = map(int, done.stdout.split()[:3])
    assert (good, bad) == (count, 0)
    assert growth < MAX_GROWTH_KB


# Not slow: the case file is refused after its first megabytes, which is the point.
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_gigabyte_single_case_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    writer = _feed(fifo, iter([b"site: pancreas\nnotes: "] + [b"n" * (1 << 20)] * 1024))
    try:
        status, peak, err = _cli_peak_kb(fifo, tmp_path / "out")
    finally:
        writer.join(timeout=60)
    assert status == 2, err[-500:]
    assert peak < 300 * 1024, f"{peak} KB peak"
