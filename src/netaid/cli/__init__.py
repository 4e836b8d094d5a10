"""The `netaid` command. Bad input prints what is wrong and exits 2, never a traceback.

Each subcommand lives in its own module with `register(subparsers)` and `run(args)`; this
module only assembles them and turns errors into exit statuses (listed in EPILOG).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Sequence
from types import ModuleType

from netaid import __version__
from netaid.cli import (
    _check,
    _diff,
    _discuss,
    _explain,
    _lint,
    _review,
    _schema,
    _serve,
    _vignettes,
)
from netaid.cli._common import (
    EXIT_FINDINGS,
    EXIT_INTERNAL,
    EXIT_IOERR,
    EXIT_OK,
    EXIT_USAGE,
    OutputError,
    Parser,
    UsageError,
    discard_out,
    flush_out,
    say,
    stderr,
)
from netaid.errors import NetaidError, WriteError

__all__ = ["main"]

COMMANDS: dict[str, ModuleType] = {
    "discuss": _discuss,
    "explain": _explain,
    "schema": _schema,
    "lint": _lint,
    "vignettes": _vignettes,
    "check": _check,
    "review": _review,
    "diff": _diff,
    "serve": _serve,
}

EPILOG = (
    "exit status: 0 done; 1 the command ran and found problems (lint, check) or a batch row "
    f"failed; {EXIT_USAGE} bad input (a faulty case, flag, file or rulebook); "
    f"{EXIT_INTERNAL} a bug in netaid (NETAID_DEBUG=1 shows the traceback); {EXIT_IOERR} the "
    "output could not be written (standard output, an output file, or standard error when the "
    "command would otherwise have exited 0 or 1: e.g. a full disk); 130 and 143 interrupted "
    "(SIGINT, SIGTERM)."
)


class _Version(argparse.Action):
    """--version: netaid's version and the engine it uses here (decided only when asked: it
    imports the durable-rules extension to see whether it works)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS)

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from netaid.engines import available_engines, default_engine_name

        text = (
            f"netaid {__version__} (engine: {default_engine_name()}; available: "
            f"{', '.join(available_engines())}; Python {platform.python_version()})\n"
        )
        parser._print_message(text, sys.stdout)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="netaid",
        description=(
            "Discussion points that patient-education documents associate with a "
            "neuroendocrine tumour profile. Educational only — not medical advice."
        ),
        epilog=EPILOG,
    )
    parser.add_argument("--version", action=_Version, help="show the version and engine, and exit")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in COMMANDS.values():
        module.register(subparsers)
    for subparser in subparsers.choices.values():
        subparser.epilog = EPILOG
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        status: int = COMMANDS[args.command].run(args)
        # Flushed here, so that a failed write is reported; at interpreter shutdown it could
        # only be "Exception ignored" and exit status 120.
        flush_out()
        if stderr.lost and status in (EXIT_OK, EXIT_FINDINGS):
            # Messages (bad rows, files written) were lost: not the normal run it looks like.
            return EXIT_IOERR
        return status
    except (OutputError, WriteError) as exc:
        say(f"netaid: error: {exc}")
        discard_out()
        return EXIT_IOERR
    except (UsageError, NetaidError) as exc:
        say(f"netaid: error: {exc}")
        return EXIT_USAGE
    except BrokenPipeError:
        discard_out()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in netaid: say so plainly, traceback only on request
        if os.environ.get("NETAID_DEBUG"):
            raise
        say(
            f"netaid: internal error: {type(exc).__name__}: {exc} "
            "(set NETAID_DEBUG=1 for details; please report it)"
        )
        return EXIT_INTERNAL
