"""What every subcommand shares: exit statuses, writing standard output and standard error,
and an argument parser that does not exit."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from netaid._untrusted import printable

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from netaid.rulebook import Rulebook

EXIT_OK = 0
EXIT_FINDINGS = 1  # the command ran and found problems (lint, check), or a batch row failed
EXIT_USAGE = 2  # bad input: a faulty case, flag, file or rulebook
EXIT_INTERNAL = 70  # a bug in netaid (sysexits EX_SOFTWARE)
EXIT_IOERR = 74  # output could not be written, e.g. a full disk (sysexits EX_IOERR)
EXIT_SIGINT = 130  # interrupted (128 + SIGINT), as shells report it
EXIT_SIGTERM = 143  # terminated (128 + SIGTERM)

#: The most lines one message on standard error shows.
MAX_MESSAGE_LINES = 40


class UsageError(Exception):
    """Bad command-line input that argparse itself did not catch."""


class OutputError(Exception):
    """Standard output could not be written. The message is the one-line error to print."""


def write_out(text: str) -> None:
    """Write `text` to standard output and flush it, so that a failure to write is reported
    here, as `OutputError`, rather than lost or raised at interpreter shutdown."""
    if sys.stdout is None:  # started with standard output closed (`>&-`)
        raise OutputError("cannot write output: standard output is closed")
    with _reporting_write_errors():
        sys.stdout.write(text)
    flush_out()


def flush_out() -> None:
    """Flush standard output, raising `OutputError` if that fails."""
    if sys.stdout is None:
        return
    with _reporting_write_errors():
        sys.stdout.flush()


@contextmanager
def _reporting_write_errors() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise  # the reader went away (`netaid ... | head`): not an error, see main()
    except OSError as exc:
        raise OutputError(f"cannot write output: {exc.strerror or exc}") from None


def discard_out() -> None:
    """Point the standard output file descriptor at os.devnull.

    After a failed write, what is left in Python's buffer would fail again when the
    interpreter flushes it at exit, printing "Exception ignored" and changing the exit status
    to 120; sent to os.devnull, it goes quietly.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a file descriptor (a test's capture): nothing flushes it at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class _Stderr:
    """Standard error for messages: made printable, capped, and never raising.

    A message that cannot be shown (stderr closed or full) must not stop the work: a batch
    goes on writing its rows. `lost` records it, so the exit status can say so (74).
    """

    def __init__(self) -> None:
        self.lost = False

    def write(self, text: str) -> None:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):  # full, closed, or None
            self.lost = True

    def flush(self) -> None:
        pass  # every write flushes

    def isatty(self) -> bool:
        try:
            return sys.stderr.isatty()
        except (OSError, ValueError, AttributeError):
            return False


stderr = _Stderr()


def say(message: str) -> None:
    """Print one message on standard error: untrusted text in it cannot drive the terminal,
    and a huge one is cut."""
    lines = printable(message).split("\n")
    if len(lines) > MAX_MESSAGE_LINES:
        more = len(lines) - MAX_MESSAGE_LINES
        lines = [*lines[:MAX_MESSAGE_LINES], f"  ... and {more:,} more lines"]
    stderr.write("\n".join(lines) + "\n")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print and exit by itself; we report it like every other bad input.
        stderr.write(self.format_usage())
        raise UsageError(message)

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        # --help and --version: argparse ignores a failed write; we report it.
        if message and file is sys.stdout:
            write_out(message)
        else:
            super()._print_message(message, file)


def load_rulebook_from(folder: Path | None, what: str) -> Rulebook:
    """Load a rulebook folder named on the command line; a rulebook that does not load is bad
    input that names the folder (`what` says which argument gave it) and every problem."""
    from netaid.errors import RulebookError
    from netaid.rulebook import default_rules_dir, load_rulebook

    try:
        return load_rulebook(folder)
    except RulebookError as exc:
        shown = folder if folder is not None else default_rules_dir()
        raise UsageError(f"{what} {str(shown)!r}: {exc}") from None


def write_out_or_file(text: str, path: Path | None) -> None:
    """`text` to standard output, or to the file given with --out (bad input if unwritable)."""
    if path is None:
        write_out(text)
        return
    try:
        # newline="": the text's own line ends (a CSV's \r\n), untranslated.
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"--out: cannot write {str(path)!r}: {exc.strerror}") from None


def whole_number(text: str, what: str = "a whole number") -> int:
    """A flag's value read as an integer; each flag checks its own bounds after this."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
