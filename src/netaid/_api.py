"""The one-line API: `netaid.discuss(case)`."""

from __future__ import annotations

import datetime as dt
import operator
import threading
import weakref
from collections.abc import Mapping
from typing import TypeAlias

from netaid._untrusted import shown
from netaid.case import Case, case_from_mapping, validated
from netaid.discussion import Discussion, build_discussion
from netaid.engines import Engine, EngineChoice, default_engine_name, make_engine
from netaid.rulebook import load_rulebook

#: Discussions kept per engine for repeated profiles. One discussion of the shipped rulebook
#: holds about 0.3 MB, so the cache of one engine stays under about 40 MB.
CACHE_SIZE = 128

_default_engines: dict[str, Engine] = {}
_default_lock = threading.Lock()


def default_engine(name: str | None = None) -> Engine:
    """The engine of the named backend (the default one for None) for the shipped rulebook,
    built once per process on first use."""
    chosen = name or default_engine_name()
    with _default_lock:
        engine = _default_engines.get(chosen)
        if engine is None:
            engine = _default_engines[chosen] = make_engine(load_rulebook(), chosen)
        return engine


def engine_for(engine: EngineChoice) -> Engine:
    """The engine an `EngineChoice` stands for, for the shipped rulebook unless an Engine is
    given: a name or None gives the shared default engine of that backend."""
    if isinstance(engine, Engine):
        return engine
    if engine is None or isinstance(engine, str):
        return default_engine(engine)
    return make_engine(load_rulebook(), engine)


# A case's cache key: its type and field values (what `Case.__eq__` compares) and the day.
# Plain tuples hash and compare much faster than the model itself.
_Key: TypeAlias = tuple[type[Case], tuple[object, ...], dt.date]
_field_values = operator.attrgetter(*Case.model_fields)


class _DiscussionCache:
    """The discussions of one engine for the last `size` distinct (case, day) pairs.

    A discussion depends on the engine's rulebook, the case and the day (which sources are
    past their review date), and on nothing else: cases are frozen and compared field by
    field, rulebooks are immutable, and a discussion is frozen once built, so one can be
    handed out again for an equal case on the same day. The oldest entry is dropped first
    (a hit costs one dictionary lookup).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[_Key, Discussion] = {}
        self._lock = threading.Lock()

    def get(self, key: _Key) -> Discussion | None:
        return self._entries.get(key)

    def put(self, key: _Key, discussion: Discussion) -> None:
        with self._lock:
            self._entries[key] = discussion
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]

    def __len__(self) -> int:
        return len(self._entries)


_caches: weakref.WeakKeyDictionary[Engine, _DiscussionCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache_for(engine: Engine) -> _DiscussionCache:
    cache = _caches.get(engine)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(engine, _DiscussionCache(CACHE_SIZE))
    return cache


def clear_cache() -> None:
    """Forget every cached discussion (of every engine)."""
    with _caches_lock:
        _caches.clear()


def discuss(
    case: Case | Mapping[str, object],
    *,
    engine: EngineChoice = None,
    today: dt.date | None = None,
    cache: bool = True,
) -> Discussion:
    """The discussion points the documents associate with a case.

    `case` may be a `Case` or a mapping of its fields (then a `CaseError` names any faulty
    field; a `Case` made without validation, by `model_copy(update=...)` or
    `model_construct`, is validated here too). `engine` is an `Engine`, or a backend's name
    ("durable", "python") or None for the shared engine of the shipped rulebook (see
    `netaid.engines`); a factory builds a fresh engine for the shipped rulebook on every
    call, so pass an Engine to reuse one. `today`, a `datetime.date`, decides which sources
    are flagged as past their stated review date.
    With `cache` (the default), the discussions of the last `CACHE_SIZE` distinct cases
    evaluated on the same day by the same engine are kept and handed out again.
    """
    if not isinstance(case, Case):
        case = case_from_mapping(case)
    engine = engine_for(engine)
    day = check_day(today)
    if not cache:
        case = validated(case)
        return build_discussion(case, engine.rulebook, engine.evaluate(case), today=day)
    store = _cache_for(engine)
    # An unchecked case (model_copy) is checked before it is evaluated or handed back; one
    # equal to a cached case is answered by that case's discussion.
    try:
        key = (type(case), _field_values(case), day)
        found = store.get(key)
    except (AttributeError, TypeError):  # unchecked: a field missing, or a value unhashable
        case = validated(case)
        key = (type(case), _field_values(case), day)
        found = store.get(key)
    if found is None:
        case = validated(case)
        found = build_discussion(case, engine.rulebook, engine.evaluate(case), today=day)
        store.put(key, found)
    if found.case is case or found.case.model_fields_set == case.model_fields_set:
        return found
    # An equal case that set other fields explicitly: the discussion carries it as given.
    return found.model_copy(update={"case": validated(case)})


def check_day(today: object) -> dt.date:
    """`today`, or the date today if None; a `TypeError` for anything but a date."""
    if type(today) is dt.date:  # the usual case, first: this is on every call's path
        return today
    if today is None:
        return dt.date.today()
    if not isinstance(today, dt.date) or isinstance(today, dt.datetime):
        # A datetime is a date too, but cannot be compared with the review dates.
        raise TypeError(f"today must be a datetime.date, got {type(today).__name__} {shown(today)}")
    return today
