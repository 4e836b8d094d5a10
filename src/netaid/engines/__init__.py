"""Rule engines: which rules of a rulebook fire for a case, and why.

Two backends implement the `Engine` interface:

- `durable`: durable-rules 2.0.28, the engine netaid is built on, driven through its C
  module (`netaid.engines.durable`, the only module that imports durable-rules). Its C
  extension does not import on Python 3.13 and later.
- `python`: each rulebook compiled into one plain Python function
  (`netaid.engines.python`); runs on every Python.

This module is the one place that chooses between them. Every entry point (`discuss`,
`discuss_many`, `netaid.check.check_rulebook`, the command line) takes an engine the same
way, as an `EngineChoice`:

- None: the default engine, `durable` where it imports and `python` elsewhere; the
  environment variable `NETAID_ENGINE` (durable or python) overrides it;
- a name, "durable" or "python";
- a factory, any callable taking a `Rulebook` and returning an `Engine` (the engine classes
  are factories);
- an `Engine` itself, used as it is.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Literal, TypeAlias, get_args

from netaid.engines._base import Engine, Evaluation
from netaid.errors import EngineError
from netaid.rulebook import Rulebook

__all__ = [
    "ENGINE_NAMES",
    "Engine",
    "EngineChoice",
    "EngineFactory",
    "EngineName",
    "Evaluation",
    "available_engines",
    "default_engine_name",
    "engine_factory",
    "make_engine",
]

EngineName: TypeAlias = Literal["durable", "python"]
#: Every backend's name, the default first where it is available.
ENGINE_NAMES: tuple[EngineName, ...] = get_args(EngineName)
EngineFactory: TypeAlias = Callable[[Rulebook], Engine]
EngineChoice: TypeAlias = "Engine | EngineName | str | EngineFactory | None"

#: The environment variable that overrides the default engine.
ENGINE_VARIABLE = "NETAID_ENGINE"

_durable_imports: bool | None = None
_lock = threading.Lock()


def _durable_available() -> bool:
    # Asked once per process: importing the C extension either works or it does not.
    global _durable_imports
    with _lock:
        if _durable_imports is None:
            from netaid.engines import durable

            _durable_imports = durable.available()
        return _durable_imports


def available_engines() -> tuple[EngineName, ...]:
    """The backends that can run on this Python, the default first."""
    return tuple(n for n in ENGINE_NAMES if n != "durable" or _durable_available())


def _checked_name(name: str, origin: str) -> EngineName:
    for known in ENGINE_NAMES:
        if name == known:
            return known
    raise EngineError(f"{origin}: unknown engine {name!r} (engines: {', '.join(ENGINE_NAMES)})")


def default_engine_name() -> EngineName:
    """`NETAID_ENGINE` if set, else durable-rules where it imports, else the Python engine."""
    chosen = os.environ.get(ENGINE_VARIABLE, "").strip()
    if chosen:
        return _checked_name(chosen, ENGINE_VARIABLE)
    return "durable" if _durable_available() else "python"


def engine_factory(name: str | None = None) -> EngineFactory:
    """The class of the named backend (the default one for None). Raises `EngineError` for
    an unknown name or a backend that cannot run on this Python."""
    checked = default_engine_name() if name is None else _checked_name(name, "engine")
    if checked == "durable":
        from netaid.engines.durable import DurableEngine, _c_module

        _c_module()  # fail here, with the reason, rather than on first use
        return DurableEngine
    from netaid.engines.python import PythonEngine

    return PythonEngine


def make_engine(rulebook: Rulebook, engine: EngineChoice = None) -> Engine:
    """An engine for the rulebook, as chosen (see the module docstring). An `Engine` given
    is returned as it is, and must have been built for this rulebook."""
    if isinstance(engine, Engine):
        if engine.rulebook is not rulebook:
            raise EngineError("the engine given was built for another rulebook")
        return engine
    if engine is None or isinstance(engine, str):
        return engine_factory(engine)(rulebook)
    built = engine(rulebook)
    if not isinstance(built, Engine):
        raise EngineError(f"the engine factory returned {type(built).__name__}, not an Engine")
    return built
