"""`netaid.discuss_many`: many cases, across processes, in input order, in bounded memory.

durable-rules' C engine holds the GIL, so threads cannot evaluate in parallel: the work goes
to worker processes, each of which builds its own engine once. Workers are started with
"spawn", so they inherit no C engine state, lock or thread from the caller.

Memory stays bounded for inputs of any length: the input is read lazily, a chunk at a time,
and at most `window` chunks are in flight; a result is handed out as soon as it and every
result before it are ready.

A discussion is a few hundred small frozen objects, and rebuilding them from a pickle costs
the parent about as much as building them did the worker. Most of them are points and notes
that recur from case to case, so each worker sends every distinct point or note once and
then only refers to it; the parent keeps what each worker sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias, cast

from netaid._api import check_day, default_engine, discuss
from netaid.case import Case
from netaid.discussion import Discussion, IfKnown, Note, Point
from netaid.engines import Engine, EngineChoice, EngineFactory, engine_factory, make_engine
from netaid.errors import (
    CaseError,
    EngineError,
    FieldProblem,
    NetaidError,
    RenderError,
    RulebookError,
    RuleProblem,
)
from netaid.rulebook import Rulebook, load_rulebook

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

__all__ = ["discuss_many"]

CaseInput: TypeAlias = Case | Mapping[str, object]

#: Points and notes one worker sends by reference at most (and the parent keeps per worker).
_MAX_SHARED = 50_000


def discuss_many(
    cases: Iterable[CaseInput],
    *,
    processes: int | None = None,
    rulebook: Rulebook | None = None,
    today: dt.date | None = None,
    chunk_size: int = 32,
    window: int | None = None,
    engine: EngineChoice = None,
) -> Iterator[Discussion]:
    """The discussion of every case, in input order, evaluated across `processes` processes.

    `cases` may be any iterable, even an endless one: it is read lazily, and at most `window`
    chunks of `chunk_size` cases (by default four chunks per process) are read ahead of the
    result being handed out. `processes=1` evaluates in this process, without workers;
    `None` means one per CPU. `rulebook` defaults to the shipped one, `today` to the date
    when `discuss_many` is called (the same for every case). `engine` is chosen as for
    `discuss` (see `netaid.engines`); worker processes each build their own engine of the
    same backend (of an `Engine` given, its class and rulebook).

    Errors are raised, never yielded: the iterator hands out every discussion before the
    first case that fails, then raises that case's error, a `NetaidError` whose message
    starts with the case's position ("case 7: ..."; `CaseError.origin` is "case 7"), and
    stops. A worker that dies raises `EngineError`. Stopping early (break, close) stops the
    workers.
    """
    if processes is None:
        processes = os.cpu_count() or 1
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    window = window if window is not None else 4 * processes
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    day = check_day(today)
    if isinstance(engine, Engine):
        if rulebook is not None and rulebook is not engine.rulebook:
            raise ValueError("the engine given was built for another rulebook than the one given")
        rulebook = engine.rulebook
    if processes == 1:
        return _in_process(cases, rulebook, day, engine)
    # Chosen here, once: every worker then builds the same backend (and an unknown or
    # unavailable one fails now, not in each worker).
    factory = type(engine) if isinstance(engine, Engine) else _factory(engine)
    return _across_processes(
        cases, processes, rulebook or load_rulebook(), day, chunk_size, window, factory
    )


def _factory(engine: EngineChoice) -> EngineFactory:
    if engine is None or isinstance(engine, str):
        return engine_factory(engine)
    assert not isinstance(engine, Engine)
    return engine


def _in_process(
    cases: Iterable[CaseInput], rulebook: Rulebook | None, day: dt.date, choice: EngineChoice
) -> Iterator[Discussion]:
    # An engine of our own only when a rulebook or a factory asks for one; it is closed here.
    owned = not isinstance(choice, Engine) and (rulebook is not None or callable(choice))
    if isinstance(choice, Engine):
        engine = choice
    elif owned:
        engine = make_engine(rulebook or load_rulebook(), choice)
    else:
        assert choice is None or isinstance(choice, str)
        engine = default_engine(choice)
    try:
        for number, case in enumerate(cases, start=1):
            try:
                discussion = discuss(case, engine=engine, today=day)
            except NetaidError as exc:
                raise _Failure.of(number, exc).error() from exc
            yield discussion
    finally:
        if owned:
            engine.close()


#: The exit status of a worker that found itself re-running an unguarded script.
_UNGUARDED_EXIT = 86

_UNGUARDED_MESSAGE = (
    "discuss_many(processes>1) was called while a worker process was starting: the script "
    "that calls it runs again in every worker (they are started with 'spawn'), so it must "
    'call discuss_many only under `if __name__ == "__main__":`'
)


def _across_processes(
    cases: Iterable[CaseInput],
    processes: int,
    rulebook: Rulebook,
    day: dt.date,
    chunk_size: int,
    window: int,
    factory: EngineFactory,
) -> Iterator[Discussion]:
    # Imported here: they cost every `netaid` command start-up time otherwise.
    import multiprocessing
    import pickle
    import sys
    import tempfile
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # This is a worker being started, re-running the caller's script, which calls
        # discuss_many at import. multiprocessing would raise here too, but the parent could
        # not tell why its worker died: this exit status tells it.
        print(f"netaid: {_UNGUARDED_MESSAGE}", file=sys.stderr)
        raise SystemExit(_UNGUARDED_EXIT)

    # The rulebook goes to the workers in a file: handed over as an argument it is pickled
    # into the pipe that starts each worker, and a worker that dies while starting leaves
    # the parent blocked for ever writing more than the pipe holds (CPython's spawn).
    with tempfile.NamedTemporaryFile(prefix="netaid-rulebook-", delete=False) as file:
        pickle.dump((rulebook, day, factory), file, protocol=pickle.HIGHEST_PROTOCOL)
    executor = ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(file.name,),
    )
    received = _Receiver(rulebook)
    pending: deque[tuple[int, Future[_Payload] | _Local | _Raise]] = deque()
    numbered = enumerate(cases, start=1)
    local: list[Engine] = []
    ended = False

    def sent(chunk: list[tuple[int, CaseInput]]) -> tuple[int, Future[_Payload] | _Local]:
        try:
            payload = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            # A value that cannot cross to a worker (a lambda, a lock, a local class): this
            # chunk is evaluated here, so each case gets exactly what processes=1 gives it.
            return chunk[0][0], _Local(chunk)
        return chunk[0][0], executor.submit(_work, payload)

    def submit(count: int) -> None:
        nonlocal ended
        for _ in range(count):
            if ended:
                return
            chunk: list[tuple[int, CaseInput]] = []
            try:
                chunk.extend(itertools.islice(numbered, chunk_size))
            except Exception as exc:
                # The input itself failed: the cases read before it are handed out first, as
                # with processes=1, then its error is raised.
                ended = True
                if chunk:
                    pending.append(sent(chunk))
                pending.append((chunk[-1][0] + 1 if chunk else 0, _Raise(exc)))
                return
            if not chunk:
                ended = True
                return
            pending.append(sent(chunk))

    def here(chunk: list[tuple[int, CaseInput]]) -> list[Discussion | _Failure]:
        if not local:
            local.append(make_engine(rulebook, factory))
        return _evaluate(chunk, local[0], day)

    try:
        submit(window)
        while pending:
            first, item = pending.popleft()
            if isinstance(item, _Raise):
                raise item.error
            try:
                if isinstance(item, _Local):
                    results = here(item.chunk)
                else:
                    results = received.load(item.result())
                submit(1)  # keep the window full while results are handed out
            except BrokenProcessPool as exc:
                if _unguarded(executor):
                    raise RuntimeError(_UNGUARDED_MESSAGE) from None
                raise EngineError(
                    f"case {first} and after: a worker process died while evaluating them"
                ) from exc
            for result in results:
                if isinstance(result, _Failure):
                    raise result.error()
                yield result
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        for engine in local:
            engine.close()
        with contextlib.suppress(OSError):
            os.unlink(file.name)


def _unguarded(executor: ProcessPoolExecutor) -> bool:
    """Did a worker exit because it found itself re-running an unguarded script?"""
    # The pool knows its worker died, but may not have reaped it yet: join it to read its
    # exit status (it has exited, so this does not wait).
    workers = list((executor._processes or {}).values())
    for worker in workers:
        worker.join(timeout=5)
    return any(worker.exitcode == _UNGUARDED_EXIT for worker in workers)


@dataclass(frozen=True)
class _Local:
    """A chunk evaluated in this process (it could not be pickled)."""

    chunk: list[tuple[int, CaseInput]]


@dataclass(frozen=True)
class _Raise:
    """The error the input raised, in its place."""

    error: Exception


# --- errors across the process boundary ---


@dataclass(frozen=True)
class _Failure:
    """A netaid error of one case, in a form that pickles (exceptions with their own
    constructor arguments do not)."""

    number: int
    kind: str
    message: str
    field_problems: tuple[FieldProblem, ...] = ()
    rule_problems: tuple[RuleProblem, ...] = ()

    @classmethod
    def of(cls, number: int, exc: NetaidError) -> _Failure:
        if isinstance(exc, CaseError):
            return cls(number, "case", str(exc), field_problems=exc.problems)
        if isinstance(exc, RulebookError):
            return cls(number, "rulebook", str(exc), rule_problems=exc.problems)
        kind = (
            "engine"
            if isinstance(exc, EngineError)
            else "render"
            if isinstance(exc, RenderError)
            else "other"
        )
        return cls(number, kind, str(exc))

    def error(self) -> NetaidError:
        where = f"case {self.number}"
        if self.kind == "case":
            return CaseError(self.field_problems, origin=where)
        if self.kind == "rulebook":
            return RulebookError(self.rule_problems)
        error_type = {"engine": EngineError, "render": RenderError}.get(self.kind, NetaidError)
        return error_type(f"{where}: {self.message}")


# --- the worker side ---

_Payload: TypeAlias = tuple[int, bytes, bytes]

_engine: Engine | None = None
_day: dt.date | None = None
_sender: _Sender | None = None


# A discussion crosses the process boundary as its case, its points, notes and what-if entries
# (each a number the worker sent in full once before, or in full where the worker's table is
# full), its day, its rulebook version and its engine. Pickling whole discussions cost more
# than evaluating them.
_Shared: TypeAlias = "Point | Note | IfKnown"
_Part: TypeAlias = "int | _Shared"
_Sent: TypeAlias = (
    "tuple[Case, tuple[_Part, ...], tuple[_Part, ...], dt.date, str, str, tuple[_Part, ...]]"
    " | _Failure"
)


class _Sender:
    """Sends each distinct point, note or what-if entry object in full only once."""

    def __init__(self) -> None:
        # By identity, not equality: hashing a point hashes all its fields, and discussions
        # built by one worker share their point objects (`netaid.discussion` builds each
        # point once). Each object is kept, so its id cannot be reused for another.
        self.shared: dict[int, tuple[int, _Shared]] = {}

    def dumps(self, results: list[Discussion | _Failure]) -> _Payload:
        import pickle

        new: list[tuple[int, _Shared]] = []

        def part(obj: _Shared) -> _Part:
            known = self.shared.get(id(obj))
            if known is not None:
                return known[0]
            if len(self.shared) >= _MAX_SHARED:
                return obj
            ref = len(self.shared)
            self.shared[id(obj)] = (ref, obj)
            new.append((ref, obj))
            return ref

        sent: list[_Sent] = [
            result
            if isinstance(result, _Failure)
            else (
                result.case,
                tuple(part(p) for p in result.points),
                tuple(part(n) for n in result.notes),
                result.as_of,
                result.rulebook_version,
                result.engine,
                tuple(part(e) for e in result.if_known),
            )
            for result in results
        ]
        protocol = pickle.HIGHEST_PROTOCOL
        return os.getpid(), pickle.dumps(new, protocol), pickle.dumps(sent, protocol)


class _Receiver:
    """Rebuilds discussions, resolving the numbers each worker sent objects under, and
    attaching the rulebook they were built from (for `Discussion.why_not`)."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self.shared: dict[int, dict[int, _Shared]] = {}

    def load(self, payload: _Payload) -> list[Discussion | _Failure]:
        import pickle

        pid, new, body = payload
        known = self.shared.setdefault(pid, {})
        known.update(pickle.loads(new))
        sent: list[_Sent] = pickle.loads(body)

        def resolve(parts: tuple[_Part, ...]) -> tuple[_Shared, ...]:
            return tuple(known[p] if isinstance(p, int) else p for p in parts)

        results: list[Discussion | _Failure] = []
        for item in sent:
            if isinstance(item, _Failure):
                results.append(item)
                continue
            case, points, notes, as_of, version, engine, if_known = item
            # Every part was validated when the worker built it: construct, do not re-check.
            discussion = Discussion.model_construct(
                case=case,
                points=cast("tuple[Point, ...]", resolve(points)),
                notes=cast("tuple[Note, ...]", resolve(notes)),
                rulebook_version=version,
                as_of=as_of,
                engine=engine,
                if_known=cast("tuple[IfKnown, ...]", resolve(if_known)),
            )
            discussion._rulebook = self.rulebook
            results.append(discussion)
        return results


def _start_worker(path: str) -> None:
    import pickle

    global _engine, _day, _sender
    with open(path, "rb") as file:
        rulebook, day, factory = pickle.load(file)
    _engine, _day, _sender = make_engine(rulebook, factory), day, _Sender()


def _work(payload: bytes) -> _Payload:
    import pickle

    assert _engine is not None
    assert _day is not None
    assert _sender is not None
    return _sender.dumps(_evaluate(pickle.loads(payload), _engine, _day))


def _evaluate(
    chunk: list[tuple[int, CaseInput]], engine: Engine, day: dt.date
) -> list[Discussion | _Failure]:
    results: list[Discussion | _Failure] = []
    for number, case in chunk:
        try:
            results.append(discuss(case, engine=engine, today=day))
        except NetaidError as exc:
            results.append(_Failure.of(number, exc))
            break  # nothing after the first failure is handed out
    return results
