"""Many cases from one file: JSONL (one case object per line) or CSV (one case per row).

Files are streamed a line at a time, so a batch of any length runs in constant memory. A bad
row does not stop the batch: it comes back as a `Row` holding its problems, numbered as an
editor or spreadsheet shows it (JSONL: the line number; CSV: the row number, the header being
row 1). Only a file that cannot be used at all (missing, unreadable, a CSV header naming no
case fields) raises, as `CaseError`.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from netaid._yaml import DuplicateKeyError, load_json
from netaid.case import (
    FREE_TEXT_FIELDS,
    Case,
    case_fields,
    case_from_mapping,
    case_from_text,
    did_you_mean,
)
from netaid.errors import CaseError, EngineError, FieldProblem, NetaidError, RenderError

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


def output_name(number: int, title: str | None, extension: str, stem: str = "row") -> str:
    """`row-0007-pancreatic-net.md`: the row number keeps names unique and in input order."""
    name = f"{stem}-{number:04d}"
    tail = slug(title) if title else ""
    return f"{name}-{tail}.{extension}" if tail else f"{name}.{extension}"


class BatchReader:
    """The rows of a batch file, read lazily. Use as a context manager, then iterate.

    `position` and `size` (bytes) tell how far through the file reading has got.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        kind = batch_kind(self.path)
        if kind is None:
            raise self._unusable(
                f"not a batch file: expected a name ending in {', '.join(BATCH_SUFFIXES)}"
            )
        self.kind = kind
        try:
            self.size = self.path.stat().st_size
            self._file: IO[bytes] = self.path.open("rb")
        except OSError as exc:
            raise self._unusable(f"cannot read: {exc.strerror or exc}") from None
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
            yield _row(number, data)

    # --- CSV ---

    def _start_csv(self) -> None:
        self._flags = _LineFlags()
        self._reader = csv.reader(_decoded(self._lines(), self._flags))
        try:
            header = next(self._reader)
        except StopIteration:
            raise self._unusable("empty file: no header row", "(header)") from None
        except csv.Error as exc:
            raise self._unusable(f"cannot read the header: {exc}", "(header)") from None
        if problem := self._flags.take():
            raise self._unusable(f"the header is {problem}", "(header)")
        self._columns = self._check_header(header)

    def _csv(self) -> Iterator[Row]:
        reader, flags, columns = self._reader, self._flags, self._columns
        number = 1
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                flags.take()
                yield _bad(number, "(row)", f"not valid CSV: {exc}")
                continue
            if problem := flags.take():
                yield _bad(number, "(row)", problem)
                continue
            if not any(cell.strip() for cell in cells):
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
        known = [*case_fields(), *FREE_TEXT_FIELDS]
        for name in columns:
            if name not in known:
                hint = did_you_mean(name, known)
                raise self._unusable(f"column {name!r} is not a case field{hint}", "(header)")
        duplicates = sorted({name for name in columns if columns.count(name) > 1})
        if duplicates:
            raise self._unusable(f"repeated columns: {', '.join(duplicates)}", "(header)")
        if "site" not in columns:
            raise self._unusable("no 'site' column: every case needs a site", "(header)")
        return columns


class _LineFlags:
    """Problems the line decoder found in the lines csv has read since the last take()."""

    def __init__(self) -> None:
        self.problem: str | None = None

    def take(self) -> str | None:
        problem, self.problem = self.problem, None
        return problem


def _decoded(lines: Iterator[tuple[bytes, bool]], flags: _LineFlags) -> Iterator[str]:
    # csv reads one line at a time through this, so a flag raised here belongs to the record
    # csv returns next; decoding errors become that row's problem instead of ending the file.
    for raw, too_long in lines:
        if too_long:
            flags.problem = f"longer than {MAX_ROW_BYTES} bytes"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            flags.problem = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
            text = raw.decode("utf-8", "replace")
        yield text + "\n"


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


def write_batch(
    rows: Iterable[Row],
    out_dir: Path,
    *,
    produce: Callable[[Case], str],
    extension: str,
    on_row: Callable[[Row, Path | None], None] = lambda row, path: None,
) -> BatchSummary:
    """Write `produce(case)` for every good row into `out_dir`, one file per row.

    A row whose case cannot be evaluated or rendered counts as failed, like an invalid row;
    `on_row` hears of every row with the path written, or None and the row's problems.
    Raises `NetaidError` only if a file cannot be written (the batch cannot go on).
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
            continue
        path = out_dir / output_name(row.number, row.case.title, extension)
        try:
            path.write_text(content, encoding="utf-8")
        except OSError as exc:
            raise NetaidError(f"cannot write {path}: {exc.strerror or exc}") from None
        summary.written += 1
        on_row(row, path)
    return summary
