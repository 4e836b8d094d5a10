"""Reading files with limits, and writing them whole or not at all.

Reading: a path netaid is given may name anything. A FIFO blocks a reader forever, a device
such as /dev/zero never ends, so every file is opened without blocking, checked to be a
regular file, and read no further than a limit.

Writing: a file is written to a temporary file in the same folder and renamed into place,
so that a full disk, a failed write or an interrupt leaves the earlier file (or none), never
a truncated one. The rename also replaces a symlink at the target rather than writing
through it. Files are not fsync'ed: that would guard against a power cut as well, at a cost
of milliseconds a file that a batch of thousands of handouts would feel.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

__all__ = ["NotRegularFileError", "TooLargeError", "read_limited", "write_atomic"]


class _ReadError(OSError):
    def __str__(self) -> str:
        return f"{self.strerror}: {self.filename}"


class NotRegularFileError(_ReadError):
    """The path names a FIFO, a device, a folder or a socket, not a regular file."""


class TooLargeError(_ReadError):
    """The file is larger than the reader's limit."""


def read_limited(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; `OSError` otherwise.

    The errors carry a `strerror` fit for a message: "not a regular file", "larger than
    1,048,576 bytes".
    """
    # O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFileError(0, "not a regular file", str(path))
        data = file.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(0, f"larger than {limit:,} bytes", str(path))
    return data


def write_atomic(path: Path, data: str | bytes, *, replace: bool = True) -> None:
    """Write `data` (text as UTF-8) to `path` whole, or leave `path` as it was.

    With `replace=False` an existing `path` is never replaced: `FileExistsError` instead.
    """
    content = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = _temporary(path)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        if replace:
            os.replace(temporary, path)
        else:
            # A hard link fails if the name exists, symlink or not: no check-then-write race.
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _temporary(path: Path) -> tuple[int, str]:
    # Not tempfile.mkstemp: its files are owner-only (0600), and a handout gets the
    # permissions the user's umask gives any new file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    while True:
        name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue
