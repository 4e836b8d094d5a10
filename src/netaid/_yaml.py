"""Reading untrusted YAML (rule files, case files) with limits, and JSON without repeated keys.

PyYAML's safe loader still has three failure modes that matter for a library which must answer
bad input with its own error: very deep nesting makes its C composer overflow the stack (a
segfault) and its Python composer raise RecursionError; aliases let a few hundred bytes expand
into millions of nodes; and a repeated key silently keeps the last value. The event stream is
checked first, cheaply, so the composer only ever sees documents within the limits.

Python's json module also keeps the last of a repeated key without a word; `load_json` refuses
it, as `load_yaml` does, so that a case means the same whichever format it is written in.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

__all__ = ["MAX_DEPTH", "DuplicateKeyError", "YamlLimitError", "load_json", "load_yaml"]

#: Deeper than any rule or case needs, far below where the composers break.
MAX_DEPTH = 64

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlLimitError(yaml.YAMLError):
    """The document is beyond what netaid reads: too deep, or uses aliases."""


class _StrictLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe loader that refuses duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in mapping
        except TypeError:  # an unhashable key (a list used as a key): say so, as YAML would
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                "found an unhashable key",
                key_node.start_mark,
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_events(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            raise YamlLimitError(f"aliases (*name) are not supported, at {event.start_mark}")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlLimitError(
                    f"nested deeper than {MAX_DEPTH} levels, at {event.start_mark}"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely; every failure is a `yaml.YAMLError`."""
    _check_events(text)
    return yaml.load(text, Loader=_StrictLoader)


class DuplicateKeyError(ValueError):
    """A JSON object gives the same key twice."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"found duplicate key {key!r}")


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return mapping


def load_json(text: str) -> Any:
    """Parse JSON like `json.loads`, but raise `DuplicateKeyError` for an object that repeats a
    key (at any depth) instead of keeping its last value."""
    return json.loads(text, object_pairs_hook=_json_object)
