"""`netaid discuss` on a batch file: one output per good row, bad rows reported and skipped."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import netaid.batch
from netaid import Case, Discussion, EngineError
from netaid.batch import BatchReader, Row, write_batch
from netaid.cli import main
from netaid.cli._discuss import Progress
from tests.conftest import MINI_RULES
from tests.render.helpers import find_all, only, parse_html

MINI = ["--rules", str(MINI_RULES)]

JSONL_ROWS = [
    '{"site": "colon", "stage": "localized", "title": "Colon, early"}',
    '{"site": "pancrea"}',
    "",
    "not json",
    '{"site": "lung", "stage": "localized", "metastases": ["liver"]}',
    '["site", "lung"]',
    '{"site": "rectum", "grade": "G1", "title": "<script>alert(1)</script>"}',
    '{"site": "lung", "grde": "G1"}',
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_with_bad_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = write(tmp_path / "cases.jsonl", "\n".join(JSONL_ROWS) + "\n")
    out_dir = tmp_path / "out"
    status, out, err = run(capsys, "discuss", *MINI, str(cases), "--out", str(out_dir))
    assert status == 1  # some rows failed
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"{cases}: row 2: site: Input should be")
    assert lines[1] == f"{cases}: row 4: (row): not valid JSON: Expecting value at column 1"
    assert lines[2].startswith(f"{cases}: row 5: metastases, stage: distant metastases (liver)")
    assert lines[3] == f"{cases}: row 6: (case): expected a mapping of fields, got list"
    assert lines[4] == f"{cases}: row 8: grde: unknown field; did you mean 'grade'?"
    assert lines[5] == f"netaid: 2 of 7 rows written to {out_dir}; 5 failed"
    assert len(lines) == 6
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == ["row-0001-colon-early.txt", "row-0007-script-alert-1-script.txt"]
    assert "Surgery to remove the tumour" in (out_dir / written[0]).read_text("utf-8")


def test_every_good_row_is_written_in_the_asked_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write(tmp_path / "cases.jsonl", "\n".join(JSONL_ROWS))
    out_dir = tmp_path / "out"
    status, _, _ = run(
        capsys, "discuss", *MINI, str(cases), "--out", str(out_dir), "--format", "html"
    )
    assert status == 1
    page = (out_dir / "row-0007-script-alert-1-script.html").read_text("utf-8")
    assert "<script" not in page
    assert only(find_all(parse_html(page).root, "h1")).text == "<script>alert(1)</script>"
    status, _, _ = run(
        capsys,
        "discuss",
        *MINI,
        str(cases),
        "--out",
        str(out_dir),
        "--format",
        "json",
        "--as-of",
        "2025-01-01",
    )
    d = Discussion.model_validate_json((out_dir / "row-0001-colon-early.json").read_text("utf-8"))
    assert d.case == Case(site="colon", stage="localized", title="Colon, early")
    assert d.as_of.isoformat() == "2025-01-01"


CSV = (
    "site,grade,metastases,syndromes,symptomatic,completely_removed,title,notes\n"
    'pancreas,G2,liver;bone,insulinoma,unknown,,"Pancreas, spread","line one\n'
    'line two"\n'
    ",,,,,,,\n"
    "lung,G7,,,maybe,,,\n"
    "colon, G1 ,,,yes,true,Colon done,\n"
    "stomach,,,,,,B,,extra\n"
    "rectum\n"
)


def test_csv_rows_fields_and_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = write(tmp_path / "cases.csv", CSV)
    out_dir = tmp_path / "out"
    status, _, err = run(
        capsys, "discuss", *MINI, str(cases), "--out", str(out_dir), "--format", "json"
    )
    assert status == 1
    # Row numbers are the spreadsheet's: the header is row 1, a quoted line break stays in
    # its row, a blank row still counts.
    assert f"{cases}: row 4: grade: Input should be 'G1', 'G2', 'G3' or 'unknown'" in err
    assert f"{cases}: row 4: symptomatic: Input should be a valid boolean" in err
    assert f"{cases}: row 6: (row): 9 cells, but the header names 8" in err
    assert "3 of 5 rows written" in err
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["row-0002-pancreas-spread.json", "row-0005-colon-done.json", "row-0007.json"]
    first = json.loads((out_dir / names[0]).read_text("utf-8"))["case"]
    assert first["metastases"] == ["bone", "liver"]
    assert first["syndromes"] == ["insulinoma"]
    assert first["symptomatic"] is None
    assert first["completely_removed"] is False
    assert first["notes"] == "line one\nline two"
    second = json.loads((out_dir / names[1]).read_text("utf-8"))["case"]
    assert (second["grade"], second["symptomatic"], second["completely_removed"]) == (
        "G1",
        True,
        True,
    )


def test_all_good_rows_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A byte-order mark, as spreadsheet programs write, is not part of the first column name.
    cases = write(tmp_path / "ok.csv", "\ufeffsite,stage\ncolon,localized\nlung,\n")
    status, _, err = run(
        capsys, "discuss", *MINI, str(cases), "--out", str(tmp_path / "o"), "--audience", "student"
    )
    assert status == 0
    assert err == f"netaid: 2 of 2 rows written to {tmp_path / 'o'}\n"
    text = (tmp_path / "o" / "row-0002.txt").read_text("utf-8")
    assert "QUESTIONS TO WORK THROUGH" in text
    assert "Surgery to remove the tumour" not in text


def test_rows_that_are_not_utf8_are_bad_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonl = write(tmp_path / "x.jsonl", b'{"site": "colon"}\n{"site": "\xff"}\n{"site": "lung"}\n')
    status, _, err = run(capsys, "discuss", *MINI, str(jsonl), "--out", str(tmp_path / "j"))
    assert status == 1
    assert f"{jsonl}: row 2: (row): not valid UTF-8" in err
    assert len(list((tmp_path / "j").iterdir())) == 2
    csv_file = write(tmp_path / "x.csv", b"site,title\ncolon,\xe9t\xe9\nlung,ok\n")
    status, _, err = run(capsys, "discuss", *MINI, str(csv_file), "--out", str(tmp_path / "c"))
    assert status == 1
    assert f"{csv_file}: row 2: (row): not valid UTF-8" in err
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["row-0003-ok.txt"]


def test_an_overlong_row_is_a_bad_row_not_a_memory_spike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(netaid.batch, "MAX_ROW_BYTES", 64)
    padding = "x" * 300
    for name, text in (
        (
            "long.jsonl",
            f'{{"site": "colon"}}\n{{"site": "lung", "notes": "{padding}"}}\n'
            '{"site": "rectum"}\n',
        ),
        ("long.csv", f"site,notes\ncolon,\nlung,{padding}\nrectum,\n"),
    ):
        path = write(tmp_path / name, text)
        status, _, err = run(
            capsys, "discuss", *MINI, str(path), "--out", str(tmp_path / name[-3:])
        )
        assert status == 1
        row = 2 if name.endswith("jsonl") else 3
        assert f"{path}: row {row}: (row): longer than 64 bytes" in err
        assert "2 of 3 rows written" in err


def test_a_jsonl_row_with_a_repeated_key_is_a_bad_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # json.loads would keep the last value: this row would silently have been a colon case.
    cases = write(
        tmp_path / "dup.jsonl",
        '{"site": "lung"}\n'
        '{"site": "lung", "stage": "localized", "site": "colon"}\n'
        '{"site": "rectum", "notes": {"a": 1, "a": 2}}\n'
        '{"site": "colon"}\n',
    )
    out_dir = tmp_path / "out"
    status, _, err = run(capsys, "discuss", *MINI, str(cases), "--out", str(out_dir))
    assert status == 1
    assert err.splitlines() == [
        f"{cases}: row 2: (row): found duplicate key 'site'",
        f"{cases}: row 3: (row): found duplicate key 'a'",
        f"netaid: 2 of 4 rows written to {out_dir}; 2 failed",
    ]
    assert sorted(p.name for p in out_dir.iterdir()) == ["row-0001.txt", "row-0004.txt"]


def test_csv_cells_take_unknown_and_errors_list_what_cells_take(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = write(
        tmp_path / "cases.csv",
        "site,differentiation,cell_type,symptomatic,resectable,carcinoid_heart_disease\n"
        "lung,poorly,unknown,unknown,UNKNOWN,\n"
        "lung,poorly,giant,maybe,,perhaps\n"
        "lung,poorly,large_cell,yes,no,false\n",
    )
    out_dir = tmp_path / "out"
    status, _, err = run(
        capsys, "discuss", *MINI, str(cases), "--out", str(out_dir), "--format", "json"
    )
    assert status == 1
    assert (
        f"{cases}: row 3: cell_type: Input should be 'small_cell' or 'large_cell', got 'giant' "
        "(allowed: small_cell, large_cell, unknown)"
    ) in err
    assert (
        f"{cases}: row 3: symptomatic: Input should be a valid boolean, unable to interpret "
        "input, got 'maybe' (allowed: true, false, yes, no, unknown)"
    ) in err
    # A field that is never unknown (blank means false) does not take "unknown".
    assert "got 'perhaps' (allowed: true, false, yes, no)\n" in err
    first = json.loads((out_dir / "row-0002.json").read_text("utf-8"))["case"]
    assert (first["cell_type"], first["symptomatic"], first["resectable"]) == (None, None, None)
    third = json.loads((out_dir / "row-0004.json").read_text("utf-8"))["case"]
    assert (third["cell_type"], third["symptomatic"], third["resectable"]) == (
        "large_cell",
        True,
        False,
    )


def test_every_spelling_a_csv_error_lists_is_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for field in ("symptomatic", "completely_removed", "cell_type"):
        bad = write(tmp_path / "bad.csv", f"site,differentiation,{field}\nlung,poorly,maybe\n")
        status, _, err = run(capsys, "discuss", *MINI, str(bad), "--out", str(tmp_path / "o"))
        assert status == 1
        allowed = err.split("(allowed: ")[1].split(")")[0].split(", ")
        rows = "".join(f"lung,poorly,{value}\n" for value in allowed)
        good = write(tmp_path / "good.csv", f"site,differentiation,{field}\n{rows}")
        status, _, err = run(capsys, "discuss", *MINI, str(good), "--out", str(tmp_path / "o"))
        assert status == 0, (field, err)


def test_the_file_is_read_as_it_goes(tmp_path: Path) -> None:
    path = write(tmp_path / "big.jsonl", '{"site": "colon"}\n' * 20_000)
    with BatchReader(path) as reader:
        rows = iter(reader)
        first = next(rows)
        assert first.number == 1
        assert first.case is not None
        assert reader.position < reader.size / 10


@pytest.mark.parametrize(
    ("name", "content", "extra", "expected"),
    [
        ("none.jsonl", None, [], "none.jsonl: invalid case\n  - (file): cannot read: No such file"),
        ("h.csv", "site,grde\n", [], "(header): column 'grde' is not a case field; did you mean"),
        ("h.csv", "grade\nG1\n", [], "(header): no 'site' column: every case needs a site"),
        ("h.csv", "site,site\nx,y\n", [], "(header): repeated columns: site"),
        ("h.csv", "", [], "(header): empty file: no header row"),
        ("e.jsonl", "\n\n", [], "e.jsonl: no cases in the file"),
        ("e.csv", "site\n", [], "e.csv: no cases in the file"),
        ("c.jsonl", '{"site":"colon"}', ["--site", "lung"], "case flags describe one case"),
    ],
)
def test_unusable_input_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str | None,
    extra: list[str],
    expected: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    out_dir = tmp_path / "out"
    status, out, err = run(capsys, "discuss", *MINI, str(path), "--out", str(out_dir), *extra)
    assert status == 2
    assert expected in err
    assert out == ""
    # A bad header stops the batch before anything is created.
    if "(header)" in expected:
        assert not out_dir.exists()


def test_a_batch_needs_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "c.jsonl", '{"site": "colon"}\n')
    status, _, err = run(capsys, "discuss", *MINI, str(path))
    assert status == 2
    assert "a batch file needs --out DIR" in err


def test_a_case_that_cannot_be_evaluated_fails_its_row_only(tmp_path: Path) -> None:
    rows = [Row(1, Case(site="colon")), Row(2, Case(site="lung")), Row(3, Case(site="rectum"))]
    seen: list[tuple[int, str | None]] = []

    def produce(case: Case) -> str:
        if case.site == "lung":
            raise EngineError("the engine failed")
        return case.site.value

    summary = write_batch(
        rows,
        tmp_path,
        produce=produce,
        extension="txt",
        on_row=lambda row, path: seen.append((row.number, path and path.name)),
    )
    assert (summary.written, summary.failed) == (2, 1)
    assert seen == [(1, "row-0001.txt"), (2, None), (3, "row-0003.txt")]
    assert (tmp_path / "row-0003.txt").read_text() == "rectum"


def test_single_case_with_out_writes_a_named_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = write(tmp_path / "my-case.yaml", "site: colon\nstage: localized\n")
    status, out, err = run(
        capsys, "discuss", *MINI, str(case), "--out", str(tmp_path / "o"), "--format", "markdown"
    )
    assert status == 0
    assert out == ""
    written = tmp_path / "o" / "my-case.md"
    assert f"wrote {written}" in err
    assert "### Surgery to remove the tumour" in written.read_text("utf-8")


# --- the progress line ---


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_shows_only_once_a_run_is_long_and_clears_for_messages() -> None:
    stream, clock = FakeTerminal(tty=True), Clock()
    progress = Progress(stream, 1000, clock=clock, delay=1.0)
    progress.update(10, 0, 100)
    assert stream.getvalue() == ""  # a short run stays quiet
    clock.now += 1.5
    progress.update(20, 1, 250)
    assert stream.getvalue() == "\r\x1b[Knetaid: [######------------------]  25% row 20, 1 failed"
    progress.message("x.csv: row 21: grade: bad")
    assert stream.getvalue().endswith("\r\x1b[Kx.csv: row 21: grade: bad\n")
    clock.now += 0.01
    progress.update(22, 1, 1000)  # redrawn straight after a message
    assert stream.getvalue().endswith("[########################] 100% row 22, 1 failed")
    progress.finish()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_progress_in_a_log_is_a_plain_line_now_and_then() -> None:
    stream, clock = FakeTerminal(tty=False), Clock()
    progress = Progress(stream, 0, clock=clock, log_every=15.0)
    for row in range(1, 100):
        clock.now += 0.5
        progress.update(row, 0, 0)
    assert stream.getvalue().splitlines() == [
        "netaid: row 30, 0 failed",
        "netaid: row 60, 0 failed",
        "netaid: row 90, 0 failed",
    ]
    assert "\r" not in stream.getvalue()
