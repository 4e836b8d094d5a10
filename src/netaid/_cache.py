"""An on-disk cache of parsed rule files.

Parsing YAML is most of the time `netaid discuss` spends loading its rulebook, and the rule
files rarely change between runs. So the data each rule file parses to is kept, keyed by a
hash of the file's bytes and of the versions of netaid and PyYAML: an edited file, a new
netaid or a new PyYAML never meets a stale entry. Only what a file *parses to* is cached;
checking it against the rule format happens on every load, exactly as without the cache.

Where: `$NETAID_CACHE_DIR`, else `$XDG_CACHE_HOME/netaid`, else `~/.cache/netaid`. Setting
`NETAID_CACHE_DIR` to an empty string turns the cache off. Case files are never cached: they
describe patients, and netaid writes nothing about them anywhere it was not asked to.

The cache is an optimisation and never a source of errors: an entry that cannot be read,
written or trusted is ignored and the file is parsed as usual. Entries are pickles read by an
unpickler that can build nothing but the plain values YAML produces, so a tampered entry is
a miss, not code run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from netaid._version import __version__

__all__ = ["MAX_ENTRIES", "cache_dir", "cached_parse"]

#: Entries kept; beyond this the least recently written are removed. A rulebook is a dozen.
MAX_ENTRIES = 256

_SUFFIX = ".pickle"
# What a safe YAML load can produce besides pickle's own built-in types.
_ALLOWED = {
    ("datetime", "date"): dt.date,
    ("datetime", "datetime"): dt.datetime,
    ("datetime", "timedelta"): dt.timedelta,
    ("datetime", "timezone"): dt.timezone,
    ("builtins", "set"): set,
}


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    configured = os.environ.get("NETAID_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "netaid"


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[module, name]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not a YAML value") from None


def cached_parse(raw: bytes, parse: Callable[[bytes], Any]) -> Any:
    """`parse(raw)`, from the cache when this exact content was parsed before."""
    folder = cache_dir()
    if folder is None:
        return parse(raw)
    key = hashlib.sha256(f"{__version__}\0{yaml.__version__}\0".encode() + raw).hexdigest()
    entry = folder / f"{key}{_SUFFIX}"
    try:
        return _PlainUnpickler(io.BytesIO(entry.read_bytes())).load()
    except Exception:  # missing, unreadable, truncated or tampered: parse instead
        pass
    data = parse(raw)
    _store(folder, entry, data)
    return data


def _store(folder: Path, entry: Path, data: Any) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as file:
            pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)
        # Written whole, then renamed: a concurrent reader sees the old entry or the new one.
        os.replace(temporary, entry)
    except (OSError, pickle.PicklingError, RecursionError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return
    with contextlib.suppress(OSError):  # another process may be pruning too
        _prune(folder)


def _prune(folder: Path) -> None:
    entries = list(folder.glob(f"*{_SUFFIX}"))
    if len(entries) <= MAX_ENTRIES:
        return
    by_age = sorted(entries, key=lambda p: p.stat().st_mtime)
    for old in by_age[: len(entries) - MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            old.unlink()
