from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from netaid._api import default_engine, discuss
from netaid._files import write_atomic
from netaid.batch import BatchReader, Row, batch_kind, slug, write_batch
from netaid.case import NO_MEMBERS, Case, case_fields, case_from_text, text_value
from netaid.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    UsageError,
    say,
    stderr,
    whole_number,
    write_out,
)
from netaid.cli._fhir import add_fhir_flags, load_case_or_bundle
from netaid.engines import ENGINE_NAMES, Engine, make_engine
from netaid.errors import CaseError, FieldProblem, WriteError
from netaid.render import AUDIENCES, EXTENSIONS, FORMATS, render
from netaid.rulebook import load_rulebook

# Set fields take one member per flag, repeated: --syndrome insulinoma --syndrome vipoma.
SET_FLAGS = {"metastases": "metastasis", "syndromes": "syndrome", "inherited": "inherited"}


def add_case_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per Case field, generated from the model so the two never drift apart.

    Every value can be given, absent ones too: a set flag takes `none` for the empty set
    (`--syndrome none`), a yes/no flag has a `--no-` twin (`--no-carcinoid-heart-disease`),
    and every scalar takes `unknown`.
    """
    group = parser.add_argument_group("case fields (these override a case file's values)")
    for name, spec in case_fields().items():
        flag = "--" + SET_FLAGS.get(name, name).replace("_", "-")
        if spec.kind == "set":
            group.add_argument(
                flag,
                dest=name,
                action="append",
                metavar="VALUE",
                help=f"one of {', '.join(spec.values)}; repeatable; {NO_MEMBERS}: no members",
            )
        elif spec.kind == "flag":
            # Yes and no are one choice: giving both is refused, not settled by order.
            pair = group.add_mutually_exclusive_group()
            pair.add_argument(
                flag, dest=name, action="store_const", const=True, default=None, help="yes"
            )
            pair.add_argument(
                "--no-" + flag.removeprefix("--"),
                dest=name,
                action="store_const",
                const=False,
                default=None,
                help="no",
            )
        elif spec.kind == "tristate":
            group.add_argument(flag, dest=name, metavar="yes|no|unknown")
        else:
            group.add_argument(flag, dest=name, metavar="VALUE", help=", ".join(spec.values))
    group.add_argument("--title", dest="title", metavar="TEXT")


def case_flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The case fields given as flags, ready for Case validation."""
    data: dict[str, Any] = {}
    for name in (*case_fields(), "title"):
        value = getattr(args, name, None)
        if value is None:
            continue
        # "unknown" for cell_type, symptomatic, resectable is None: it overrides a case
        # file's value, as --grade unknown does.
        data[name] = text_value(name, value)
    return data


# --- what every command that writes handouts shares (discuss, vignettes) ---


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_output_flags(parser: argparse.ArgumentParser, *, default_format: str) -> None:
    parser.add_argument("--format", default=default_format, choices=list(FORMATS))
    parser.add_argument(
        "--audience",
        default="tutor",
        choices=AUDIENCES,
        help="tutor: the full discussion with its reasoning (default); "
        "student: the case and questions to work through, without the answers",
    )
    parser.add_argument(
        "--as-of",
        dest="as_of",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="the date printed on the output, which decides the sources flagged as past "
        "their stated review date (default: today)",
    )
    parser.add_argument(
        "--rules", type=Path, help="rulebook folder (default: the shipped rulebook)"
    )
    add_engine_flag(parser)


def add_engine_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=ENGINE_NAMES,
        help="the rule engine: durable (durable-rules; the default where it runs, Python "
        "3.11 and 3.12) or python (every Python); NETAID_ENGINE sets the default",
    )


@contextlib.contextmanager
def engine_for(args: argparse.Namespace) -> Iterator[Engine]:
    """The shipped rulebook's shared engine, or one built for --rules and closed afterwards."""
    if args.rules is None:
        yield default_engine(args.engine)
        return
    with make_engine(load_rulebook(args.rules), args.engine) as engine:
        yield engine


def out_dir(path: Path) -> Path:
    """--out DIR, created if missing."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot use {str(path)!r} as a folder: {exc.strerror}") from None
    return path


def write_file(path: Path, text: str) -> None:
    """Write a file whole (through a temporary file renamed into place) or not at all."""
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise WriteError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def write_new_file(folder: Path, stem: str, extension: str, text: str) -> Path:
    """Write `stem.extension` in `folder`, never replacing an existing file: two cases whose
    names make the same stem (`Case A.yaml`, `case_a.yaml`) get `stem-2`, ... The path written."""
    for number in range(1, 10_000):
        name = stem if number == 1 else f"{stem}-{number}"
        path = folder / f"{name}.{extension}"
        try:
            write_atomic(path, text, replace=False)
        except FileExistsError:
            continue
        except OSError as exc:
            raise WriteError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
        return path
    raise WriteError(f"cannot write {stem}.{extension} in {str(folder)!r}: every name is taken")


# --- netaid discuss ---


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "discuss",
        help="discuss one case (a file, - for stdin, or flags), or a batch of cases",
        description="Discuss one case, or every case of a batch file (.jsonl: one case "
        "object per line; .csv: one case per row, columns named after case fields, set "
        "fields as ;-separated members, blank cells omitted). A batch writes one file per "
        "case into --out DIR, reports each bad row on stderr and skips it: the exit status "
        "is 0 if every row was written, 1 if any row failed, 2 if the input is unusable. "
        "Interrupted (Ctrl-C, SIGTERM), a batch finishes the row at hand and says where it "
        "stopped; --skip or --resume goes on from there. A single case never replaces a file "
        "in --out: a name already taken gets a number. "
        "Every scalar field takes unknown, as a flag or a CSV cell: for --cell-type, "
        "--symptomatic and --resectable it means not given.",
    )
    p.add_argument(
        "case_file", nargs="?", help="YAML or JSON case file, - for stdin, or a .jsonl/.csv batch"
    )
    add_output_flags(p, default_format="text")
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write into this folder (created if missing) instead of standard output; "
        "required for a batch",
    )
    resume = p.add_mutually_exclusive_group()
    resume.add_argument(
        "--skip",
        type=_row_count,
        default=0,
        metavar="N",
        help="batch: pass over rows numbered up to N (as messages number them)",
    )
    resume.add_argument(
        "--resume",
        action="store_true",
        help="batch: go on after the highest row already written in --out",
    )
    add_fhir_flags(p)
    add_case_flags(p)


def _row_count(text: str) -> int:
    count = whole_number(text)
    if count < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {count}")
    return count


def case_from_args(args: argparse.Namespace) -> Case:
    data: dict[str, Any] = {}
    if args.case_file:
        # A FHIR Bundle (.json with a resourceType) is read with netaid.fhir.
        case = load_case_or_bundle(args.case_file, show_mapping=args.show_mapping)
        data = case.model_dump(exclude_defaults=True)
    data.update(case_flag_values(args))
    if not args.case_file and "site" not in data:
        raise CaseError([FieldProblem("site", "give a case file, or at least --site")])
    return case_from_text(data, origin=args.case_file)


def run(args: argparse.Namespace) -> int:
    if args.case_file and args.case_file != "-" and batch_kind(args.case_file):
        return run_batch(args)
    if args.skip or args.resume:
        raise UsageError("--skip and --resume go on with a batch file (.jsonl, .csv)")
    case = case_from_args(args)
    with engine_for(args) as engine:
        discussion = discuss(case, engine=engine, today=args.as_of)
    output = render(discussion, args.format, audience=args.audience)
    if args.out is None:
        write_out(output)
        return EXIT_OK
    stem = Path(args.case_file).stem if args.case_file not in (None, "-") else ""
    name = slug(stem) or slug(case.title or "") or "case"
    path = write_new_file(out_dir(args.out), name, EXTENSIONS[args.format], output)
    say(f"netaid: wrote {path}")
    return EXIT_OK


def run_batch(args: argparse.Namespace) -> int:
    if case_flag_values(args):
        raise UsageError("case flags describe one case; they cannot be used with a batch file")
    if args.out is None:
        raise UsageError("a batch file needs --out DIR: one file is written per case")
    today = args.as_of or dt.date.today()  # one date for the whole batch, even past midnight
    extension = EXTENSIONS[args.format]
    skip = args.skip
    if args.resume:
        skip = last_row_written(args.out, extension)
        say(f"netaid: --resume: going on after row {skip}")
    with BatchReader(args.case_file, skip=skip) as reader, engine_for(args) as engine:
        folder = out_dir(args.out)
        progress = Progress(stderr, reader.size)
        failed = 0

        def on_row(row: Row, path: Path | None) -> None:
            nonlocal failed
            if path is None:
                failed += 1
                for problem in row.problems:
                    progress.message(f"{args.case_file}: row {row.number}: {problem}")
            progress.update(row.number, failed, reader.position)

        def produce(case: Case) -> str:
            discussion = discuss(case, engine=engine, today=today)
            return render(discussion, args.format, audience=args.audience)

        with _signals_stop() as stop:
            try:
                summary = write_batch(
                    reader,
                    folder,
                    produce=produce,
                    extension=extension,
                    on_row=on_row,
                    digits=reader.digits,
                    stop=stop.requested,
                )
            finally:
                progress.finish()
    total = summary.written + summary.failed
    verdict = f"; {summary.failed} failed" if summary.failed else ""
    skipped = f"; {reader.skipped} skipped" if reader.skipped else ""
    counts = f"{summary.written} of {total} rows written to {folder}{verdict}{skipped}"
    if summary.stopped:
        last = summary.last
        say(
            f"netaid: interrupted after row {last}: {counts}; rerun with --skip {last} "
            "(or --resume) to go on"
        )
        return EXIT_SIGTERM if stop.signal == signal.SIGTERM else EXIT_SIGINT
    if total + reader.skipped == 0:
        raise UsageError(f"{args.case_file}: no cases in the file")
    say(f"netaid: {counts}")
    return EXIT_FINDINGS if summary.failed else EXIT_OK


_ROW_FILE = re.compile(r"row-(\d+)(?:-[a-z0-9-]*)?\.([a-z]+)")


def last_row_written(folder: Path, extension: str) -> int:
    """The highest row number of the batch output files in `folder` (0 if none).

    Every file there is whole (each is renamed into place once written), so the batch can go
    on from the row after it.
    """
    try:
        names = [p.name for p in folder.iterdir()]
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise UsageError(f"--resume: cannot read {str(folder)!r}: {exc.strerror}") from None
    numbers = [
        int(match.group(1))
        for name in names
        if (match := _ROW_FILE.fullmatch(name)) and match.group(2) == extension
    ]
    return max(numbers, default=0)


class _StopRequest:
    def __init__(self) -> None:
        self.signal: int | None = None

    def requested(self) -> bool:
        return self.signal is not None


@contextlib.contextmanager
def _signals_stop() -> Iterator[_StopRequest]:
    """While a batch runs, SIGINT and SIGTERM ask it to stop after the row at hand, so that no
    file is left half-written and the summary can say where it stopped. A second signal
    interrupts at once."""
    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals are only delivered to the main thread: nothing to catch
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.signal is not None:
            raise KeyboardInterrupt
        stop.signal = signum

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Stream(Protocol):
    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...

    def isatty(self) -> bool: ...


class Progress:
    """A progress line on stderr that only long runs show.

    On a terminal: a bar redrawn in place once a run has taken `delay` seconds. Elsewhere
    (logs, pipes): a plain line every `log_every` seconds. Messages (bad rows) are printed
    on their own lines, the bar redrawn after them.
    """

    _WIDTH = 24

    def __init__(
        self,
        stream: _Stream,
        total_bytes: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        delay: float = 1.0,
        log_every: float = 15.0,
    ) -> None:
        self.stream = stream
        self.total = total_bytes
        self.clock = clock
        self.live = stream.isatty()
        self.started = clock()
        self.next_draw = self.started + (delay if self.live else log_every)
        self.interval = 0.1 if self.live else log_every
        self.drawn = False

    def line(self, rows: int, failed: int, position: int) -> str:
        counts = f"row {rows}, {failed} failed"
        if self.total <= 0:
            return f"netaid: {counts}"
        fraction = min(position / self.total, 1.0)
        filled = round(fraction * self._WIDTH)
        bar = "#" * filled + "-" * (self._WIDTH - filled)
        return f"netaid: [{bar}] {fraction:4.0%} {counts}"

    def update(self, rows: int, failed: int, position: int) -> None:
        now = self.clock()
        if now < self.next_draw:
            return
        self.next_draw = now + self.interval
        text = self.line(rows, failed, position)
        if self.live:
            self.stream.write("\r\x1b[K" + text)
            self.drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        was_drawn = self.drawn
        self._clear()
        self.stream.write(text + "\n")
        self.stream.flush()
        if was_drawn:
            self.next_draw = self.clock()  # the bar was showing: bring it back at the next row

    def finish(self) -> None:
        self._clear()

    def _clear(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.drawn = False
