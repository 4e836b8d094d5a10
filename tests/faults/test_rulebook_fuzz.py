"""Malformed rule files: whatever is wrong with them, loading gives a RulebookError that names
the file, never another exception, and never a rulebook with rules missing.

Valid files (the mini rulebook) are mutated reproducibly: values of the wrong type, missing
and unknown keys, broken YAML, bytes that are not text, huge and deeply nested files.
"""

from __future__ import annotations

import copy
import random
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from netaid import Rulebook, RulebookError, load_rulebook
from tests.conftest import MINI_RULES, REPO

RULES = "rules.yaml"
SOURCES = "sources.yaml"
ORIGINAL = {name: (MINI_RULES / name).read_bytes() for name in (RULES, SOURCES)}
WRONG_VALUES: list[Any] = [
    0,
    -1,
    3.5,
    True,
    None,
    [],
    {},
    "",
    " ",
    "text",
    ["a", 1],
    {"x": 1},
    {"equals": {"site": "mars"}},
    "x" * 5_000,
    [[[]]],
]


def _load(folder: Path, files: dict[str, bytes]) -> Rulebook:
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return load_rulebook(folder)


def _check(folder: Path, mutated: str, content: bytes) -> str:
    """Load the mini rulebook with one file replaced; "ok" or "error". Fails the test if the
    outcome breaks the contract."""
    files = {**ORIGINAL, mutated: content}
    error: RulebookError | None = None
    try:
        book = _load(folder, files)
    except RulebookError as exc:
        error = exc
    if error is not None:
        named = {p.file for p in error.problems}
        # A broken sources file may surface as unknown sources in the rule file.
        allowed = {mutated} if mutated == RULES else {SOURCES, RULES}
        assert named, str(error)
        assert named <= allowed, (named, str(error))
        assert mutated in str(error) or mutated == SOURCES
        return "error"
    # Loaded: then every rule the files define is there (read as the loader reads YAML).
    data = yaml.load(files[RULES].decode("utf-8"), Loader=yaml.CSafeLoader)
    assert len(book) == len(data["rules"])
    assert len(book) > 0
    return "ok"


# --- mutations of the parsed data ---


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*path, i))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _wrong_type(rng: random.Random, data: Any) -> Any:
    path = rng.choice([p for p in _paths(data) if p])
    _parent(data, path)[path[-1]] = copy.deepcopy(rng.choice(WRONG_VALUES))
    return data


def _drop_key(rng: random.Random, data: Any) -> Any:
    paths = [p for p in _paths(data) if p and isinstance(p[-1], str)]
    path = rng.choice(paths)
    del _parent(data, path)[path[-1]]
    return data


def _unknown_key(rng: random.Random, data: Any) -> Any:
    mappings = [p for p in _paths(data) if isinstance(_get(data, p), dict)]
    target = _get(data, rng.choice(mappings))
    target[rng.choice(["colour", "Id", "when ", "sources", "kind_", "$and", "0"])] = "x"
    return data


def _rename_key(rng: random.Random, data: Any) -> Any:
    paths = [p for p in _paths(data) if p and isinstance(p[-1], str)]
    path = rng.choice(paths)
    parent = _parent(data, path)
    parent[path[-1].upper() + "s"] = parent.pop(path[-1])
    return data


def _duplicate_entry(rng: random.Random, data: Any) -> Any:
    lists = [p for p in _paths(data) if isinstance(_get(data, p), list) and _get(data, p)]
    target = _get(data, rng.choice(lists))
    target.append(copy.deepcopy(rng.choice(target)))
    return data


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


DATA_MUTATIONS: list[Callable[[random.Random, Any], Any]] = [
    _wrong_type,
    _drop_key,
    _unknown_key,
    _rename_key,
    _duplicate_entry,
]


@pytest.mark.parametrize("mutated", [RULES, SOURCES])
@pytest.mark.parametrize("mutation", DATA_MUTATIONS, ids=lambda m: m.__name__)
def test_mutated_contents_give_a_rulebook_error_naming_the_file(
    tmp_path: Path, mutated: str, mutation: Callable[[random.Random, Any], Any]
) -> None:
    rng = random.Random(f"{mutated}-{mutation.__name__}")
    outcomes = []
    for attempt in range(40):
        data = mutation(rng, yaml.safe_load(ORIGINAL[mutated].decode("utf-8")))
        content = yaml.safe_dump(data, allow_unicode=True, sort_keys=rng.random() < 0.5)
        outcomes.append(_check(tmp_path / str(attempt), mutated, content.encode("utf-8")))
    assert "error" in outcomes


# --- mutations of the text ---

NASTY = [
    b"\x00",
    b"\xff\xfe",
    b"\t",
    b":",
    b"- ",
    b"{",
    b"]",
    b"&a ",
    b"*a ",
    b"!!python/object/apply:os.system ['true'] ",
    b"!!binary ",
    b"%YAML 9.9\n",
    b"---\n",
    b"\xe2\x80",
    b'"',
    b"'",
    b"\n  ",
    b"? ",
    b"<<: ",
]


def _text_mutation(rng: random.Random, text: bytes) -> bytes:
    kind = rng.randrange(5)
    at = rng.randrange(len(text) + 1)
    if kind == 0:
        return text[:at]
    if kind == 1:
        return text[:at] + rng.choice(NASTY) + text[at:]
    lines = text.split(b"\n")
    line = rng.randrange(len(lines))
    if kind == 2:
        del lines[line]
    elif kind == 3:
        lines[line] = b" " * rng.randint(1, 3) + lines[line]
    else:
        lines.insert(line, lines[rng.randrange(len(lines))])
    return b"\n".join(lines)


@pytest.mark.parametrize("mutated", [RULES, SOURCES])
def test_mutated_text_gives_a_rulebook_error_naming_the_file(tmp_path: Path, mutated: str) -> None:
    rng = random.Random(mutated)
    outcomes = [
        _check(tmp_path / str(attempt), mutated, _text_mutation(rng, ORIGINAL[mutated]))
        for attempt in range(250)
    ]
    assert outcomes.count("error") > 100


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"rules:",
        b"rules: []\nrules: []\n",
        b"- just\n- a list\n",
        b"42",
        b"\xef\xbb\xbf\x00\x00",
        b"rules: !!python/object/apply:os.system ['echo pwned']\n",
        b"a: &a [1]\nrules: *b\n",
        "rules:\n  - id: caf\u00e9\n".encode("utf-16"),
    ],
    ids=[
        "empty",
        "null-rules",
        "duplicate-key",
        "list",
        "scalar",
        "nul",
        "unsafe-tag",
        "undefined-alias",
        "utf16",
    ],
)
def test_files_that_are_not_rule_files(tmp_path: Path, content: bytes) -> None:
    assert _check(tmp_path, RULES, content) == "error"


def test_aliased_rules_are_each_reported(tmp_path: Path) -> None:
    # Aliases ("billion laughs") multiply a list by reference: 10**8 rules, 10 entries read.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    content = ("\n".join(lines) + "\nrules: *a7\n").encode()
    assert _check(tmp_path, RULES, content) == "error"


def test_a_huge_file_of_one_value(tmp_path: Path) -> None:
    assert _check(tmp_path, RULES, b"rules: " + b"x" * 20_000_000) == "error"


def test_a_huge_file_with_a_fault_at_the_end(tmp_path: Path) -> None:
    body = ORIGINAL[RULES] + b"# " + b"padding " * 2_500_000 + b"\n  - id: [broken\n"
    assert _check(tmp_path, RULES, body) == "error"


# --- pathological files, each in a child process: a crash there cannot end the test run ---

_CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {repo!r})
    sys.setrecursionlimit(1000)
    from netaid import RulebookError, load_rulebook
    try:
        load_rulebook({folder!r})
    except RulebookError as exc:
        print("RulebookError" if {name!r} in str(exc) else "RulebookError without the file")
    else:
        print("loaded")
    """
)


def _load_in_child(tmp_path: Path, content: bytes, timeout: float) -> str:
    folder = tmp_path / "book"
    _write(folder, {**ORIGINAL, RULES: content})
    child = _CHILD.format(repo=str(REPO), folder=str(folder), name=RULES)
    try:
        done = subprocess.run(
            [sys.executable, "-c", child], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"still loading after {timeout} s"
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or [""]
        return f"exit {done.returncode}: {last[0]}"
    return done.stdout.strip()


def _write(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)


@pytest.mark.parametrize("depth", [2_000, 200_000])
def test_deeply_nested_yaml(tmp_path: Path, depth: int) -> None:
    content = b"rules:\n  - " + b"[" * depth + b"]" * depth + b"\n"
    assert _load_in_child(tmp_path, content, timeout=60) == "RulebookError"


def test_a_deeply_nested_condition(tmp_path: Path) -> None:
    when = "{not: " * 2_000 + "{equals: {site: lung}}" + "}" * 2_000
    text = ORIGINAL[RULES].decode().replace("    when:\n", f"    when: {when}\n    x:\n", 1)
    assert _load_in_child(tmp_path, text.encode(), timeout=60) == "RulebookError"


def _laughs(level: int) -> str:
    """`any` of ten copies of the level below, by alias: 10**level leaves, defined inline."""
    if level == 0:
        return "&x0 {equals: {site: lung}}"
    copies = ", ".join([f"*x{level - 1}"] * 9)
    return f"&x{level} {{any: [{_laughs(level - 1)}, {copies}]}}"


def test_an_aliased_condition_does_not_multiply_work(tmp_path: Path) -> None:
    # A valid condition of 10**7 leaves, written in a few hundred bytes.
    text = ORIGINAL[RULES].decode().replace("    when:\n", f"    when: {_laughs(7)}\n    x:\n", 1)
    assert _load_in_child(tmp_path, text.encode(), timeout=30) == "RulebookError"


def test_a_huge_file_of_bad_rules_fails_fast(tmp_path: Path) -> None:
    content = b"rules:\n" + b"  - junk: [1, 2, 3]\n" * 500_000
    assert _load_in_child(tmp_path, content, timeout=30) == "RulebookError"
