"""An on-disk cache of parsed rule files.

Parsing YAML is most of the time `netaid discuss` spends loading its rulebook (the shipped
one: about 200 ms parsed, 50 ms from the cache), and the rule files rarely change between
runs. So the data each rule file parses to is kept, keyed by a hash of the file's bytes and
of the versions of netaid and PyYAML: an edited file, a new netaid or a new PyYAML never
meets a stale entry. Only what a file *parses to* is cached; checking it against the rule
format happens on every load, exactly as without the cache.

Where: `$NETAID_CACHE_DIR`, else `$XDG_CACHE_HOME/netaid`, else `~/.cache/netaid`. Setting
`NETAID_CACHE_DIR` to an empty string turns the cache off. Case files are never cached: they
describe patients, and netaid writes nothing about them anywhere it was not asked to.

The cache is an optimisation and never a source of errors, nor of content the rule files do
not hold:

- Entries are JSON (the plain values YAML produces, dates and the like tagged): reading one
  builds data, never runs code, as a pickle could.
- Each entry holds the SHA-256 of the file it was parsed from, checked on every read: an
  entry is served only for the bytes it was made from.
- The folder is private: created owner-only (0700), and used only if it is a real folder
  (not a symlink) of the user that no one else can write to; each entry must be a regular
  file of that user. Whoever could still plant an entry could as well edit the rule files.

An entry that fails any of this is ignored and the file is parsed as usual.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from netaid._files import read_limited, write_atomic
from netaid._version import __version__

__all__ = ["MAX_ENTRIES", "cache_dir", "cached_parse"]

#: Entries kept; beyond this the least recently written are removed. A rulebook is a dozen.
MAX_ENTRIES = 256
#: The largest entry read (a rule file is at most 2 MB; its JSON is about as large).
MAX_ENTRY_BYTES = 8 * 1024 * 1024

_SUFFIX = ".json"
_FORMAT = 1


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    configured = os.environ.get("NETAID_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "netaid"


def cached_parse(raw: bytes, parse: Callable[[bytes], Any]) -> Any:
    """`parse(raw)`, from the cache when this exact content was parsed before."""
    folder = cache_dir()
    if folder is None or not hasattr(os, "getuid"):
        return parse(raw)
    source = hashlib.sha256(raw).hexdigest()
    key = hashlib.sha256(f"{__version__}\0{yaml.__version__}\0{source}".encode()).hexdigest()
    entry = folder / f"{key}{_SUFFIX}"
    private = _private(folder)
    if private:
        found = _read(entry, source)
        if found is not None:
            return found[0]
    data = parse(raw)
    if private is not False:
        _store(folder, entry, source, data)
    return data


def _private(folder: Path) -> bool | None:
    """True if `folder` is a private folder of ours; None if it is missing (it may be made
    so); False if it cannot be trusted (then the cache is not used at all)."""
    try:
        info = folder.lstat()
    except FileNotFoundError:
        return None
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return False
    if info.st_mode & 0o022:
        return False  # others could have planted entries
    if info.st_mode & 0o077:
        # Ours and only we could write it (an earlier netaid made it with the umask's
        # permissions): its entries are ours. Made owner-only from now on.
        with contextlib.suppress(OSError):
            folder.chmod(0o700)
    return True


def _read(entry: Path, source: str) -> tuple[Any] | None:
    """(data,) from a trustworthy entry made from `source`, else None."""
    try:
        info = entry.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return None
        stored = json.loads(read_limited(entry, MAX_ENTRY_BYTES), object_hook=_decode)
    except (OSError, ValueError, RecursionError):  # missing, unreadable, truncated
        return None
    if (
        not isinstance(stored, list)
        or len(stored) != 3
        or stored[0] != _FORMAT
        or stored[1] != source
    ):
        return None
    return (stored[2],)


def _store(folder: Path, entry: Path, source: str, data: Any) -> None:
    try:
        text = json.dumps([_FORMAT, source, _encode(data)], ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # a value JSON cannot hold: not cached
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder):  # someone else's, or made open in the meantime
            return
        write_atomic(entry, text)
    except OSError:
        return
    with contextlib.suppress(OSError):  # another process may be pruning too
        _prune(folder)


# --- the values YAML produces, as JSON ---
#
# Lists and str-keyed mappings are JSON's own; every other value is a one-key object whose key
# starts with "$" (and a mapping with such a key, or with keys that are not strings, is
# tagged too), so decoding is unambiguous.


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"$map": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, set):
        return {"$set": [_encode(v) for v in value]}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):  # a mapping key YAML built from a sequence
        return {"$tuple": [_encode(v) for v in value]}
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) != 1:
        return obj
    ((tag, value),) = obj.items()
    match tag:
        case "$map":
            return {_hashable(k): v for k, v in value}
        case "$datetime":
            return dt.datetime.fromisoformat(value)
        case "$date":
            return dt.date.fromisoformat(value)
        case "$set":
            return {_hashable(v) for v in value}
        case "$bytes":
            return base64.b64decode(value)
        case "$tuple":
            return tuple(value)
    return obj


def _prune(folder: Path) -> None:
    entries = list(folder.glob(f"*{_SUFFIX}"))
    if len(entries) <= MAX_ENTRIES:
        return
    by_age = sorted(entries, key=lambda p: p.stat().st_mtime)
    for old in by_age[: len(entries) - MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            old.unlink()
