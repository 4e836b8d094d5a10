"""Many cases from one file: JSONL (one case object per line) or CSV (one case per row).

Files are streamed a line at a time, so a batch of any length runs in constant memory. A bad
row does not stop the batch: it comes back as a `Row` holding its problems, numbered as an
editor or spreadsheet shows it (JSONL: the line number; CSV: the row number, the header being
row 1). Whatever a row holds (a number too long to convert, nesting past the recursion limit,
a quote never closed) it is that row's problem, and every line of the file is accounted for.
Only a file that cannot be used at all (missing, unreadable, a CSV header naming no case
fields) raises, as `CaseError`.
"""

from __future__ import annotations

import csv
import json
import os
import re
import stat
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from netaid._files import write_atomic
from netaid._untrusted import shown
from netaid._yaml import DuplicateKeyError, load_json
from netaid.case import (
    FREE_TEXT_FIELDS,
    Case,
    case_fields,
    case_from_mapping,
    case_from_text,
    did_you_mean,
    unbuildable,
)
from netaid.errors import CaseError, EngineError, FieldProblem, RenderError, WriteError

__all__ = [
    "BATCH_SUFFIXES",
    "MAX_ROW_BYTES",
    "SET_SEPARATOR",
    "BatchReader",
    "BatchSummary",
    "Row",
    "batch_kind",
    "output_name",
    "slug",
    "write_batch",
]

#: Input file name endings read as batches, and the reader each one uses.
BATCH_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
#: A longer row is reported as a bad row instead of being held in memory.
MAX_ROW_BYTES = 1 << 20
#: A CSV row running over several lines (a quoted cell with line breaks) longer than this is
#: taken for a quote never closed. A whole case is far shorter (notes: 10,000 characters),
#: and the lines of such a row are read twice, so this bounds the work a stray quote costs.
MAX_MULTILINE_ROW_CHARS = 32 * 1024
#: The separator of a set field's members in a CSV cell.
SET_SEPARATOR = ";"


@dataclass(frozen=True)
class Row:
    """One case of a batch, or why that row could not be read."""

    number: int
    case: Case | None
    problems: tuple[FieldProblem, ...] = ()


def batch_kind(path: str | Path) -> str | None:
    """ "jsonl" or "csv" for a batch file name, None for anything else (a single case)."""
    return BATCH_SUFFIXES.get(Path(path).suffix.lower())


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe lower-case ASCII rendering of free text ("" if nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out or "-".join(words)[:limit]


def output_name(
    number: int, title: str | None, extension: str, stem: str = "row", digits: int = 4
) -> str:
    """`row-0007-pancreatic-net.md`: the row number keeps names unique and in input order.

    `digits` must cover the largest row number of the batch, or names stop sorting in input
    order (`row-10000` before `row-1001`); `BatchReader.digits` gives it.
    """
    name = f"{stem}-{number:0{digits}d}"
    tail = slug(title) if title else ""
    return f"{name}-{tail}.{extension}" if tail else f"{name}.{extension}"


class BatchReader:
    """The rows of a batch file, read lazily. Use as a context manager, then iterate.

    `position` and `size` (bytes) tell how far through the file reading has got. Rows numbered
    up to `skip` are passed over (counted in `skipped`), unread where the format allows it.
    """

    def __init__(self, path: str | Path, *, skip: int = 0) -> None:
        self.path = Path(path)
        self.skip = skip
        self.skipped = 0
        kind = batch_kind(self.path)
        if kind is None:
            raise self._unusable(
                f"not a batch file: expected a name ending in {', '.join(BATCH_SUFFIXES)}"
            )
        self.kind = kind
        try:
            self._file: IO[bytes] = self.path.open("rb")
            info = os.fstat(self._file.fileno())
        except OSError as exc:
            raise self._unusable(f"cannot read: {exc.strerror or exc}") from None
        # A pipe is streamed like a file (only its length is unknown); a device such as
        # /dev/zero would never end.
        regular = stat.S_ISREG(info.st_mode)
        if not (regular or stat.S_ISFIFO(info.st_mode)):
            self.close()
            raise self._unusable("cannot read: not a regular file or a pipe")
        self.size = info.st_size if regular else 0
        #: Digits that number every row: a file has no more lines than bytes.
        self.digits = max(4, len(str(self.size))) if regular else 9
        if kind == "csv":
            # The header is checked now, so a file with the wrong columns fails before any
            # output is written.
            try:
                self._start_csv()
            except BaseException:
                self.close()
                raise

    def _unusable(self, message: str, field: str = "(file)") -> CaseError:
        return CaseError([FieldProblem(field, message)], origin=str(self.path))

    @property
    def position(self) -> int:
        try:
            return self._file.tell()
        except OSError:
            return 0  # a pipe has no position (and size 0): progress then counts rows only

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BatchReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[Row]:
        return self._jsonl() if self.kind == "jsonl" else self._csv()

    # --- physical lines ---

    def _lines(self) -> Iterator[tuple[bytes, bool]]:
        """Each line (without its newline) and whether it was cut for being too long."""
        first = True
        while True:
            line = self._file.readline(MAX_ROW_BYTES + 1)
            if not line:
                return
            too_long = len(line) > MAX_ROW_BYTES and not line.endswith(b"\n")
            if too_long:
                # Skip the rest of the line without holding it.
                while (rest := self._file.readline(MAX_ROW_BYTES)) and not rest.endswith(b"\n"):
                    pass
                line = b""
            if first and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]  # the byte-order mark some editors and Excel write
            first = False
            yield line.rstrip(b"\r\n"), too_long

    # --- JSONL ---

    def _jsonl(self) -> Iterator[Row]:
        for number, (raw, too_long) in enumerate(self._lines(), start=1):
            if number <= self.skip:
                self.skipped += bool(raw.strip())
                continue
            if too_long:
                yield _bad(number, "(row)", f"longer than {MAX_ROW_BYTES} bytes")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield _bad(number, "(row)", f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            if not text.strip():
                continue
            try:
                data = load_json(text)
            except json.JSONDecodeError as exc:
                yield _bad(number, "(row)", f"not valid JSON: {exc.msg} at column {exc.colno}")
                continue
            except DuplicateKeyError as exc:
                yield _bad(number, "(row)", str(exc))
                continue
            except RecursionError:
                yield _bad(number, "(row)", "not valid JSON: nested too deeply")
                continue
            except ValueError as exc:
                yield _bad(number, "(row)", f"not valid JSON: {unbuildable(exc)}")
                continue
            yield _row(number, data)

    # --- CSV ---

    def _start_csv(self) -> None:
        self._records = iter(_CsvRecords(self._lines()))
        record = next(self._records, None)
        if record is None:
            raise self._unusable("empty file: no header row", "(header)")
        header, problem = record
        if problem or header is None:
            raise self._unusable(f"the header is {problem}", "(header)")
        self._columns = self._check_header(header)

    def _csv(self) -> Iterator[Row]:
        columns = self._columns
        for number, (cells, problem) in enumerate(self._records, start=2):
            if not problem and cells is not None and not any(cell.strip() for cell in cells):
                continue
            if number <= self.skip:
                self.skipped += 1
                continue
            if problem or cells is None:
                yield _bad(number, "(row)", problem or "not valid CSV")
                continue
            if len(cells) > len(columns):
                yield _bad(
                    number, "(row)", f"{len(cells)} cells, but the header names {len(columns)}"
                )
                continue
            # Spreadsheets may drop trailing empty cells: a short row means blanks.
            yield _csv_row(number, _csv_case(dict(zip(columns, cells, strict=False))))

    def _check_header(self, header: list[str]) -> list[str]:
        columns = [name.strip() for name in header]
        known = {*case_fields(), *FREE_TEXT_FIELDS}
        for name in columns:
            if name not in known:
                hint = did_you_mean(name, sorted(known))
                raise self._unusable(f"column {shown(name)} is not a case field{hint}", "(header)")
        # One pass: a count per column made a 40,000-column header take 16 s.
        seen: set[str] = set()
        repeated: set[str] = set()
        for name in columns:
            (repeated if name in seen else seen).add(name)
        if repeated:
            raise self._unusable(f"repeated columns: {', '.join(sorted(repeated))}", "(header)")
        if "site" not in seen:
            raise self._unusable("no 'site' column: every case needs a site", "(header)")
        return columns


# Fed to csv after the last line: a record of its own marks the end of the file, so that a
# quote open at the end is an error csv raises while this record's lines are known.
_END = "\ue000netaid end of file\ue000"


class _TooLong(Exception):
    """A record over several lines grew past MAX_MULTILINE_ROW_CHARS: its quote is taken as
    never closed."""


class _CsvRecords:
    """The records of a CSV file, each as its cells and a problem (or None and the problem).

    csv, when not strict, reads a quote that is never closed as one cell running to the end of
    the file (or to the next stray quote): every row in between would vanish into it. So the
    reader is strict, and the lines of the record being read are
    kept (at most MAX_MULTILINE_ROW_CHARS); when its quote turns out never to close, the record is
    reported as bad and the lines after its first are read again as rows of their own.
    """

    def __init__(self, lines: Iterator[tuple[bytes, bool]]) -> None:
        self._lines = lines
        self._replay: deque[tuple[str, str | None]] = deque()
        self._current: list[tuple[str, str | None]] = []
        self._size = 0

    def _reader(self) -> Iterator[list[str]]:
        # Strict: a quote closed mid-cell (`"a"b`) is an error, not a cell read on. Leniently,
        # a stray quote paired with the next one on a later line and merged the rows between.
        return csv.reader(self._feed(), strict=True)

    def _feed(self) -> Iterator[str]:
        while True:
            if self._replay:
                line = self._replay.popleft()
            else:
                raw = next(self._lines, None)
                if raw is None:
                    yield _END + "\n"
                    return
                line = _decode(*raw)
            self._current.append(line)
            self._size += len(line[0])
            if self._size > MAX_MULTILINE_ROW_CHARS and len(self._current) > 1:
                raise _TooLong
            yield line[0] + "\n"

    def __iter__(self) -> Iterator[tuple[list[str] | None, str | None]]:
        reader = self._reader()
        while True:
            self._current, self._size = [], 0
            problem: str | None
            try:
                cells = next(reader)
            except StopIteration:
                return
            except _TooLong:
                problem = (
                    "a quote opens here and is not closed within "
                    f"{MAX_MULTILINE_ROW_CHARS:,} characters"
                )
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    problem = "a quote opens here and is never closed"
                elif len(self._current) == 1:
                    problem = f"not valid CSV: {exc}"
                else:  # closed on a later line, but not where a cell ends
                    problem = f"a quote opens here and does not close a cell ({exc})"
            else:
                if cells != [_END]:
                    yield cells, next((p for _, p in self._current if p), None)
                    continue
                return
            lines = self._current
            # The lines after the record's first are rows of their own: read them again.
            self._replay.extendleft(reversed(lines[1:]))
            reader = self._reader()
            yield None, problem


def _decode(raw: bytes, too_long: bool) -> tuple[str, str | None]:
    """A line as text, and what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return raw.decode("utf-8", "replace"), f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
    return text, f"longer than {MAX_ROW_BYTES} bytes" if too_long else None


def _csv_case(cells: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, cell in cells.items():
        value = cell.strip()
        if not value:
            continue  # blank means omitted: unknown, or an empty set
        spec = case_fields().get(name)
        if spec is None:
            data[name] = cell if name == "notes" else value
        elif spec.kind == "set":
            data[name] = [m.strip() for m in value.split(SET_SEPARATOR) if m.strip()]
        else:
            data[name] = value
    return data


def _bad(number: int, field: str, message: str) -> Row:
    return Row(number, None, (FieldProblem(field, message),))


def _row(number: int, data: object) -> Row:
    try:
        if isinstance(data, dict) and "resourceType" in data:
            # A FHIR Bundle per line, as bulk data exports write them; netaid.fhir (and the
            # fhir extra) is imported only when a batch holds one.
            from netaid.fhir import case_from_bundle

            return Row(number, case_from_bundle(data).case)
        return Row(number, case_from_mapping(data))
    except CaseError as exc:
        return Row(number, None, exc.problems)


def _csv_row(number: int, data: dict[str, Any]) -> Row:
    # Cells are text, as flags are: "unknown" is accepted for every scalar field.
    try:
        return Row(number, case_from_text(data))
    except CaseError as exc:
        return Row(number, None, exc.problems)


@dataclass
class BatchSummary:
    written: int = 0
    failed: int = 0
    #: The number of the last row dealt with (written or failed), 0 before the first.
    last: int = 0
    #: Whether `stop` ended the batch before the rows ran out.
    stopped: bool = False


def write_batch(
    rows: Iterable[Row],
    out_dir: Path,
    *,
    produce: Callable[[Case], str],
    extension: str,
    on_row: Callable[[Row, Path | None], None] = lambda row, path: None,
    digits: int = 4,
    stop: Callable[[], bool] = lambda: False,
) -> BatchSummary:
    """Write `produce(case)` for every good row into `out_dir`, one file per row.

    A row whose case cannot be evaluated or rendered counts as failed, like an invalid row;
    `on_row` hears of every row with the path written, or None and the row's problems. Each
    file is written whole or not at all. `stop` is asked after every row: once it says yes,
    the batch ends there (`stopped`, and `last` tells where). Raises `WriteError` only if a
    file cannot be written (the batch cannot go on).
    """
    summary = BatchSummary()
    for row in rows:
        if row.case is not None:
            try:
                content = produce(row.case)
            except (EngineError, RenderError) as exc:
                row = Row(row.number, None, (FieldProblem("(evaluation)", str(exc)),))
        if row.case is None:
            summary.failed += 1
            on_row(row, None)
        else:
            path = out_dir / output_name(row.number, row.case.title, extension, digits=digits)
            try:
                write_atomic(path, content)
            except OSError as exc:
                raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
            summary.written += 1
            on_row(row, path)
        summary.last = row.number
        if stop():
            summary.stopped = True
            break
    return summary
