"""What every subcommand shares: exit statuses and an argument parser that does not exit."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_OK = 0
EXIT_FINDINGS = 1  # the command ran and found problems (lint, check)
EXIT_USAGE = 2  # bad input: a faulty case, flag, file or rulebook
EXIT_INTERNAL = 70  # a bug in netaid


class UsageError(Exception):
    """Bad command-line input that argparse itself did not catch."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print and exit by itself; we report it like every other bad input.
        self.print_usage(sys.stderr)
        raise UsageError(message)
