"""The AND/OR search that builds the class space, and the questions answered on its tree
(counts, covering cases, finding a class, maxima) by combining independent parts."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from netaid.errors import CheckError

# --- compiled conditions, evaluated on partial assignments (Kleene logic) ---

# A node is (op, payload): ("leaf", (atom index, truth per block)), ("all", children),
# ("any", children), ("not", child), ("true", None). Tuples keep evaluation cheap.
_Node: TypeAlias = tuple[str, Any]


def _eval3(node: _Node, assign: Sequence[int]) -> bool | None:
    """True, False, or None when the atoms assigned so far do not decide it yet."""
    op, payload = node
    if op == "leaf":
        index, truth = payload
        block = assign[index]
        return None if block < 0 else bool(truth[block])
    if op in ("all", "any"):
        decisive = op == "any"  # one true member decides `any`, one false member `all`
        undecided = False
        for child in payload:
            value = _eval3(child, assign)
            if value is decisive:
                return decisive
            if value is None:
                undecided = True
        return None if undecided else not decisive
    if op == "not":
        value = _eval3(payload, assign)
        return None if value is None else not value
    if op == "true":
        return True
    raise CheckError(f"not a compiled condition node: {op!r}")


# --- the class space ---

#: A class, as the atoms it restricts (atom index -> block index); atoms it leaves out may
#: take any value, and its representative case gives them their defaults.
Assignment: TypeAlias = dict[int, int]


@dataclass(frozen=True, eq=False)
class _Branch:
    """One block of the atom an `_Or` branches on: the tests it decides true, then the rest."""

    block: int
    fired: frozenset[str]
    child: _And


@dataclass(frozen=True, eq=False)
class _Or:
    """Branch on the blocks of one atom. `scope`: the tests decided in this subtree."""

    atom: int
    scope: frozenset[str]
    branches: tuple[_Branch, ...]


@dataclass(frozen=True, eq=False)
class _And:
    """Independent parts: a class picks one class of every part."""

    parts: tuple[_Or, ...]
    scope: frozenset[str]


@dataclass(frozen=True)
class _Test:
    name: str
    node: _Node
    atoms: frozenset[int]


class _Search:
    """The AND/OR search that builds the class space (module docstring, 4 and 5)."""

    def __init__(
        self,
        blocks: tuple[tuple[tuple[str, ...], ...], ...],
        bad: Mapping[tuple[int, int], frozenset[tuple[int, int]]],
    ) -> None:
        self.blocks = blocks
        self.bad = bad
        self.coupled: dict[int, set[int]] = {}
        for (i, _block), pairs in bad.items():
            for j, _other in pairs:
                self.coupled.setdefault(i, set()).add(j)
        self.assign = [-1] * len(blocks)
        self.memo: dict[tuple[Any, ...], _Or] = {}

    def root(self, tests: list[_Test]) -> _Branch:
        fired: list[str] = []
        undecided: list[_Test] = []
        for test in tests:
            value = _eval3(test.node, self.assign)
            if value is None:
                undecided.append(test)
            elif value:
                fired.append(test.name)
        return _Branch(-1, frozenset(fired), self.split(undecided))

    def split(self, undecided: list[_Test]) -> _And:
        """Group the undecided tests into parts that share no unassigned atom and no
        validity coupling, and search each part on its own."""
        open_atoms = {i for t in undecided for i in t.atoms if self.assign[i] < 0}
        parent = {i: i for i in open_atoms}

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for test in undecided:
            mine = [i for i in test.atoms if self.assign[i] < 0]
            for j in mine[1:]:
                parent[find(j)] = find(mine[0])
        for i in open_atoms:
            for j in self.coupled.get(i, ()):
                if j in open_atoms:
                    parent[find(j)] = find(i)
        groups: dict[int, list[_Test]] = {}
        for test in undecided:
            first = next(i for i in test.atoms if self.assign[i] < 0)
            groups.setdefault(find(first), []).append(test)
        parts = tuple(self.branch(groups[g]) for g in sorted(groups))
        return _And(parts, frozenset(t.name for t in undecided))

    def branch(self, tests: list[_Test]) -> _Or:
        key = self._key(tests)
        cached = self.memo.get(key)
        if cached is not None:
            return cached
        atom = self._pick(tests)
        branches: list[_Branch] = []
        for b in range(len(self.blocks[atom])):
            if not self._compatible(atom, b):
                continue
            self.assign[atom] = b
            fired: list[str] = []
            still: list[_Test] = []
            for test in tests:
                value = _eval3(test.node, self.assign) if atom in test.atoms else None
                if value is None:
                    still.append(test)
                elif value:
                    fired.append(test.name)
            branches.append(_Branch(b, frozenset(fired), self.split(still)))
        self.assign[atom] = -1
        node = _Or(atom, frozenset(t.name for t in tests), tuple(branches))
        self.memo[key] = node
        return node

    def _key(self, tests: list[_Test]) -> tuple[Any, ...]:
        # A part's subtree depends on its tests, on the assigned atoms they read, and on the
        # assigned atoms its open atoms are coupled to: nothing else.
        names = tuple(sorted(t.name for t in tests))
        atoms = {i for t in tests for i in t.atoms}
        for i in list(atoms):
            if self.assign[i] < 0:
                atoms |= self.coupled.get(i, set())
        context = tuple(sorted((i, self.assign[i]) for i in atoms if self.assign[i] >= 0))
        return (names, context)

    def _pick(self, tests: list[_Test]) -> int:
        # Branch first on the atom with the most neighbours (atoms read with it, or coupled
        # to it): fixing it splits the part into the most independent pieces.
        neighbours: dict[int, set[int]] = {}
        reads: Counter[int] = Counter()
        for test in tests:
            mine = [i for i in test.atoms if self.assign[i] < 0]
            reads.update(mine)
            for i in mine:
                neighbours.setdefault(i, set()).update(mine)
        for i in neighbours:
            neighbours[i] |= {j for j in self.coupled.get(i, ()) if j in neighbours}
        return min(neighbours, key=lambda i: (-len(neighbours[i]), -reads[i], i))

    def _compatible(self, atom: int, block: int) -> bool:
        against = self.bad.get((atom, block))
        return not against or not any(self.assign[j] == c for j, c in against)


def _count(branch: _Branch, avoid: frozenset[str]) -> int:
    memo: dict[int, int] = {}

    def count_branch(b: _Branch) -> int:
        if b.fired & avoid:
            return 0
        return count_and(b.child)

    def count_and(node: _And) -> int:
        key = id(node)
        if key not in memo:
            memo[key] = math.prod(sum(count_branch(b) for b in p.branches) for p in node.parts)
        return memo[key]

    return count_branch(branch)


def _cover_branch(
    branch: _Branch, memo: dict[int, list[tuple[Assignment, frozenset[str]]]]
) -> list[tuple[Assignment, frozenset[str]]]:
    key = id(branch.child)
    if key not in memo:
        combined: list[tuple[Assignment, frozenset[str]]] = [({}, frozenset())]
        for part in branch.child.parts:
            options = [
                ({part.atom: b.block, **a}, f)
                for b in part.branches
                for a, f in _cover_branch(b, memo)
            ]
            width = max(len(combined), len(options))
            combined = [
                (
                    {**combined[i % len(combined)][0], **options[i % len(options)][0]},
                    combined[i % len(combined)][1] | options[i % len(options)][1],
                )
                for i in range(width)
            ]
        memo[key] = combined
    return [(a, f | branch.fired) for a, f in memo[key]]


def _find_branch(branch: _Branch, need: frozenset[str], avoid: frozenset[str]) -> Assignment | None:
    if branch.fired & avoid:
        return None
    need = need - branch.fired
    found: Assignment = {}
    for part in branch.child.parts:
        part_need, part_avoid = need & part.scope, avoid & part.scope
        for candidate in part.branches:
            sub = _find_branch(candidate, part_need, part_avoid)
            if sub is not None:
                found[part.atom] = candidate.block
                found.update(sub)
                break
        else:
            return None
        need -= part_need
    # A test still needed here was decided false on the way down.
    return None if need else found


def _max_and(
    node: _And, wanted: frozenset[str], memo: dict[int, tuple[int, Assignment]], base: int
) -> tuple[int, Assignment]:
    key = id(node)
    if key not in memo:
        total, assignment = 0, {}
        for part in node.parts:
            best: tuple[int, Assignment] | None = None
            for b in part.branches:
                below, sub = _max_and(b.child, wanted, memo, 0)
                score = below + len(b.fired & wanted)
                if best is None or score > best[0]:
                    best = (score, {part.atom: b.block, **sub})
            assert best is not None
            total += best[0]
            assignment.update(best[1])
        memo[key] = (total, assignment)
    total, assignment = memo[key]
    return total + base, assignment


def _classes_and(node: _And, avoid: frozenset[str]) -> Iterator[Assignment]:
    """Every class below `node` where none of `avoid` holds, lazily."""

    def part_classes(part: _Or) -> Iterator[Assignment]:
        for b in part.branches:
            if b.fired & avoid:
                continue
            for sub in _classes_and(b.child, avoid):
                yield {part.atom: b.block, **sub}

    def combine(parts: tuple[_Or, ...]) -> Iterator[Assignment]:
        if not parts:
            yield {}
            return
        for first in part_classes(parts[0]):
            for rest in combine(parts[1:]):
                yield {**first, **rest}

    yield from combine(node.parts)
