"""`netaid check`: what a rulebook does over the whole space of valid cases, not a sample.

The case space is far too large to enumerate (sets of metastases, syndromes and inherited
conditions alone give 2**17 combinations), so the check enumerates *classes*: sets of valid
cases that every rule treats alike. Everything it reports is exact over the space.

How the class space is built, and why it is complete
----------------------------------------------------

1. **Atoms.** A rule condition tests scalar fields and single members of set fields (the
   engine, too, sees each member as its own yes/no fact). So the unit of the space is an
   *atom*: a scalar field, or one member of a set field that some condition names. A member no
   condition names is left out: it changes no rule, and leaving it out of a case (the
   default) never makes a valid case invalid (see 3).

2. **Blocks.** The values of an atom are grouped into blocks of values that no leaf of any
   condition tells apart *and* that are incompatible (`netaid.case.incompatibilities`) with
   exactly the same values of every other atom. Any value of a block can stand in for any
   other: every rule gives the same answer, and validity does not change. This is "the values
   the conditions distinguish plus one representative of the rest", refined by validity
   (stage `regional` and `metastatic` may look alike to the rules, yet only one of them
   allows liver metastases).

3. **Validity.** The check relies on two properties of the case model, proven exhaustively by
   `tests/unit/test_check.py` over every combination of the fields it reads: a case is valid
   exactly when each pair of its atoms is compatible, and no default value (unknown, no,
   none) is part of an incompatible pair, so resetting fields to their defaults keeps a case
   valid. The check still runs `incompatibilities` itself on every case it builds and stops
   with a CheckError rather than mis-count if the case model ever breaks this.

4. **Independent parts.** Two groups of rules that share no atom, and whose atoms no
   incompatibility couples, can be decided separately: the space they see is the product of
   their own spaces, and any class of one combines with any class of the other into a valid
   case (pairwise validity, 3).

5. **Classes, by AND/OR search.** The search picks the atom with the most neighbours (atoms
   read with it, or coupled to it), branches on its blocks (skipping blocks incompatible
   with what is already fixed), records the rules each branch decides, and splits the rules
   still undecided into independent parts again, each searched on its own. It stops where
   every rule is decided. Identical sub-searches (the same rules, the same fixed atoms they
   depend on) are shared. A *class* takes one branch at every choice it reaches: it is the
   set of cases that agree with it on the atoms it branched on, and every rule is constant
   on it. A valid case follows exactly one branch at every choice (the block of its own
   value), so it lies in exactly one class; and the class's representative (block
   representatives, defaults for the atoms it never branched on) is itself a valid case on
   which every rule fires exactly as on the original.

   The number of classes multiplies across parts (560 million for the shipped rulebook),
   but the search enumerates only its leaves (about a thousand), and every question the
   check asks (does a rule ever fire, do two fire together, the most rules firing at once,
   how many classes lack a treatment) is answered exactly by combining parts: sums and
   maxima over branches, products and sums over parts. `ClassSpace.covering` gives a few
   hundred cases that between them contain every leaf; the check runs them all through the
   engine.

Hence every valid case is equivalent, for every rule at once, to the representative of its
class, and the classes partition the valid cases. `tests/unit/test_check.py` checks this
against brute force; the property suite checks it against random cases and an independent
evaluator of the rule files.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any, TypeAlias

from pydantic import TypeAdapter, ValidationError

from netaid._conditions import (
    OPERATORS,
    All,
    Always,
    AnyOf,
    Condition,
    ConditionModel,
    Leaf,
    Not,
    compile_condition,
    leaf_truth,
    leaves,
    not_a_condition,
)
from netaid.case import Case, case_fields, incompatibilities
from netaid.engines import Engine, EngineChoice, available_engines, make_engine
from netaid.errors import CheckError, ConditionError, EngineError, EngineLimitError
from netaid.rulebook import Kind, Rule, Rulebook, Term

__all__ = [
    "ENGINE_MATCH_LIMIT",
    "Assignment",
    "Atom",
    "CheckError",
    "CheckReport",
    "ClassSpace",
    "Conflict",
    "ExampleResult",
    "Gap",
    "Redundancy",
    "RulesetLoad",
    "case_from_values",
    "check_rulebook",
    "parse_condition",
    "view_of",
]

#: durable-rules' C engine fails (error 303, state corrupt) when one fact fills more than 64
#: entries of its match stack; see docs/engine.md.
ENGINE_MATCH_LIMIT = 64
#: The budget the durable backend keeps each ruleset within, below the limit.
_STACK_BUDGET = 60

Values: TypeAlias = dict[str, "str | frozenset[str]"]

_YES, _NO = "yes", "no"


#: Search nodes the class space may take. Every node is kept until the check ends (about
#: 7 KB each with what hangs off it), so this bounds memory to about 700 MB; the shipped
#: rulebook needs about 6,000, a tenth of the budget with room to grow.
MAX_SEARCH_NODES = 100_000


# --- atoms and their blocks ---


@dataclass(frozen=True, order=True)
class Atom:
    """One thing a condition can test: a scalar field, or one member of a set field."""

    field: str
    member: str | None = None

    @property
    def domain(self) -> tuple[str, ...]:
        if self.member is not None:
            return (_NO, _YES)
        return case_fields()[self.field].values

    @property
    def default(self) -> str:
        if self.member is not None:
            return _NO
        return "false" if case_fields()[self.field].kind == "flag" else "unknown"

    def __str__(self) -> str:
        return self.field if self.member is None else f"{self.field}:{self.member}"


def _leaf_atom(leaf: Leaf) -> Atom:
    # An operator on one member of a set field reads that member's yes/no atom.
    return Atom(leaf.field, leaf.values[0] if OPERATORS[leaf.op].member else None)


def _leaf_true(leaf: Leaf, value: str) -> bool:
    """The truth of a leaf for one value of its atom (the operator's own `leaf_truth`)."""
    if OPERATORS[leaf.op].member:
        return leaf_truth(leaf, frozenset(leaf.values[:1]) if value == _YES else frozenset())
    return leaf_truth(leaf, value)


def _default_view() -> Values:
    return {
        name: frozenset() if spec.kind == "set" else Atom(name).default
        for name, spec in case_fields().items()
    }


def view_of(assignment: Mapping[Atom, str]) -> Values:
    """The `case_values` view of a case: the given atom values, defaults elsewhere."""
    values = _default_view()
    members: dict[str, set[str]] = {}
    for atom, value in assignment.items():
        if atom.member is None:
            values[atom.field] = value
        elif value == _YES:
            members.setdefault(atom.field, set()).add(atom.member)
    for name, present in members.items():
        values[name] = frozenset(present)
    return values


def case_from_values(values: Mapping[str, str | frozenset[str]]) -> Case:
    """The Case whose `case_values` view this is (the inverse of `netaid.case.case_values`)."""
    data: dict[str, object] = {}
    for name, spec in case_fields().items():
        value = values.get(name)
        if value is None:
            continue
        if isinstance(value, frozenset):
            data[name] = sorted(value)
        elif spec.kind in ("flag", "tristate"):
            data[name] = None if value == "unknown" else value == "true"
        elif value == "unknown" and name == "cell_type":
            data[name] = None  # cell_type has no "unknown" member: None is how it says so
        else:
            data[name] = value
    return Case.model_validate(data)


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


class ClassSpace:
    """The valid case space of a rulebook as classes: every rule is constant on each class.

    Build with `ClassSpace.build(rulebook)`. `probes` adds named conditions that are not
    rules, so that questions such as "does a rule of this category ever fire without liver
    metastases?" can be asked with `find` over the same exact space.

    Cases are given and returned in the `netaid.case.case_values` view.
    """

    def __init__(
        self,
        atoms: tuple[Atom, ...],
        blocks: tuple[tuple[tuple[str, ...], ...], ...],
        tests: Mapping[str, _Test],
        bad: Mapping[tuple[int, int], frozenset[tuple[int, int]]],
        root: _Branch,
        parts: int,
    ) -> None:
        self.atoms = atoms
        self.blocks = blocks
        self.names = tuple(tests)
        self.parts = parts
        self._tests = dict(tests)
        self._bad = dict(bad)
        self._root = root
        self._index = {atom: i for i, atom in enumerate(atoms)}
        self._covering: list[tuple[Assignment, frozenset[str]]] | None = None
        self._totals: dict[int, int] = {}  # classes below each node: see `_count`
        self._smallest: dict[Any, tuple[int, _Picks] | None] = {}  # see `smallest`
        self._count_memo: dict[Any, int] = {}  # see `count`

    # -- construction --

    @classmethod
    def build(cls, rulebook: Rulebook, probes: Mapping[str, Condition] | None = None) -> ClassSpace:
        conditions: dict[str, Condition] = {r.id: r.condition for r in rulebook.rules}
        for name, condition in (probes or {}).items():
            if name in conditions:
                raise ValueError(f"probe {name!r} has the id of a rule")
            conditions[name] = condition
        return cls.from_conditions(conditions)

    @classmethod
    def from_conditions(cls, conditions: Mapping[str, Condition]) -> ClassSpace:
        """The class space of any named conditions (rules, probes, or a subset of them)."""
        leaf_list = [leaf for c in conditions.values() for leaf in leaves(c)]
        atoms = tuple(sorted({_leaf_atom(leaf) for leaf in leaf_list}))
        index = {atom: i for i, atom in enumerate(atoms)}
        incompatible = _incompatible_pairs(atoms)
        blocks = tuple(
            _blocks(atom, [x for x in leaf_list if _leaf_atom(x) == atom], incompatible)
            for atom in atoms
        )
        block_of = [{v: b for b, block in enumerate(bs) for v in block} for bs in blocks]
        bad = _bad_block_pairs(atoms, block_of, incompatible)

        def compile_node(condition: Condition) -> _Node:
            match condition:
                case Leaf():
                    i = index[_leaf_atom(condition)]
                    truth = tuple(_leaf_true(condition, block[0]) for block in blocks[i])
                    return ("leaf", (i, truth))
                case All(children=children):
                    return ("all", tuple(compile_node(c) for c in children))
                case AnyOf(children=children):
                    return ("any", tuple(compile_node(c) for c in children))
                case Not(child=child):
                    return ("not", compile_node(child))
                case Always():
                    return ("true", None)
                case _:
                    not_a_condition(condition)

        tests = {
            name: _Test(
                name,
                compile_node(condition),
                frozenset(index[_leaf_atom(x)] for x in leaves(condition)),
            )
            for name, condition in conditions.items()
        }
        search = _Search(blocks, bad)
        root = search.root(list(tests.values()))
        return cls(atoms, blocks, tests, bad, root, len(root.child.parts))

    # -- counts --

    @property
    def class_count(self) -> int:
        """The number of classes: each a set of valid cases on which every rule is constant."""
        return _count(self._root, frozenset())

    def count_without(self, names: Iterable[str]) -> int:
        """The number of classes where none of these rules (or probes) holds."""
        return _count(self._root, frozenset(names), self._totals)

    def count(self, all_of: Iterable[str] = (), none_of: Iterable[str] = ()) -> int:
        """The number of classes where every rule or probe of `all_of` holds and none of
        `none_of` does."""
        need, avoid = frozenset(all_of), frozenset(none_of)
        for name in need | avoid:
            if name not in self._tests:
                raise KeyError(name)
        return _count_where(self._root, need, avoid, self._count_memo, self._totals)

    @property
    def leaf_count(self) -> int:
        """Leaves of the search tree: the partial classes actually enumerated."""
        seen: dict[int, int] = {}

        def leaves_of(node: _And) -> int:
            key = id(node)
            if key not in seen:
                if not node.parts:
                    seen[key] = 1
                else:
                    seen[key] = sum(
                        leaves_of(branch.child) for part in node.parts for branch in part.branches
                    )
            return seen[key]

        return leaves_of(self._root.child)

    # -- cases --

    def values(self, assignment: Mapping[int, int]) -> Values:
        """The representative case of a class: block representatives, defaults elsewhere."""
        return view_of({self.atoms[i]: self.blocks[i][b][0] for i, b in assignment.items()})

    def case(self, assignment: Mapping[int, int]) -> Case:
        return case_from_values(self.values(assignment))

    def covering(self) -> list[tuple[Assignment, frozenset[str]]]:
        """Classes that between them contain every leaf of the search: each with the rules
        (and probes) that hold on it. Independent parts are zipped, the shorter ones cycled."""
        if self._covering is None:
            memo: dict[int, list[tuple[Assignment, frozenset[str]]]] = {}
            self._covering = _cover_branch(self._root, memo)
        return list(self._covering)

    def fired(self, values: Mapping[str, str | frozenset[str]]) -> frozenset[str]:
        """The rules (and probes) that hold for a case, read off the class it belongs to."""
        assign = [self._block_of(atom, values) for atom in self.atoms]
        fired: set[str] = set()
        branch = self._root
        stack = [branch]
        while stack:
            branch = stack.pop()
            fired |= branch.fired
            for part in branch.child.parts:
                for candidate in part.branches:
                    if candidate.block == assign[part.atom]:
                        stack.append(candidate)
                        break
                else:
                    raise CheckError(f"no class holds {self.atoms[part.atom]}={values}")
        return frozenset(fired)

    def locate(self, values: Mapping[str, str | frozenset[str]]) -> Assignment:
        """The class a case belongs to, as the atoms the search branched on."""
        assign = [self._block_of(atom, values) for atom in self.atoms]
        found: Assignment = {}
        stack = [self._root]
        while stack:
            branch = stack.pop()
            for part in branch.child.parts:
                found[part.atom] = assign[part.atom]
                stack.extend(b for b in part.branches if b.block == assign[part.atom])
        return found

    def _block_of(self, atom: Atom, values: Mapping[str, str | frozenset[str]]) -> int:
        raw = values[atom.field]
        if atom.member is not None:
            assert isinstance(raw, frozenset)
            value = _YES if atom.member in raw else _NO
        else:
            assert isinstance(raw, str)
            value = raw
        for b, block in enumerate(self.blocks[self._index[atom]]):
            if value in block:
                return b
        raise CheckError(f"{atom}={value} is in no block")

    # -- questions --

    def find(self, all_of: Iterable[str] = (), none_of: Iterable[str] = ()) -> Assignment | None:
        """A class where every rule or probe of `all_of` holds and none of `none_of` does,
        or None when no valid case is like that."""
        need, avoid = frozenset(all_of), frozenset(none_of)
        for name in need | avoid:
            if name not in self._tests:
                raise KeyError(name)
        return _find_branch(self._root, need, avoid)

    def smallest(
        self, all_of: Iterable[str] = (), none_of: Iterable[str] = ()
    ) -> Assignment | None:
        """Like `find`, but the class whose representative case sets the fewest atoms away
        from their defaults (the smallest example), or None when no valid case is like that."""
        need, avoid = frozenset(all_of), frozenset(none_of)
        for name in need | avoid:
            if name not in self._tests:
                raise KeyError(name)
        found = _smallest_branch(self._root, need, avoid, self._smallest)
        return None if found is None else _assignment(found[1])

    def fired_anywhere(self) -> frozenset[str]:
        """The rules (and probes) that hold for at least one valid case."""
        fired: set[str] = set()
        seen: set[int] = set()
        stack = [self._root]
        while stack:
            branch = stack.pop()
            fired |= branch.fired
            if id(branch.child) in seen:
                continue
            seen.add(id(branch.child))
            for part in branch.child.parts:
                stack.extend(part.branches)
        return frozenset(fired)

    def max_together(self, names: Iterable[str]) -> tuple[int, Assignment]:
        """The most of these rules that hold together in one valid case, and a class where
        they do."""
        wanted = frozenset(names)
        memo: dict[int, tuple[int, Assignment]] = {}
        return _max_and(self._root.child, wanted, memo, len(self._root.fired & wanted))

    def examples_without(self, names: Iterable[str], limit: int) -> list[Assignment]:
        """Up to `limit` classes where none of these rules (or probes) holds."""
        avoid = frozenset(names)
        found: list[Assignment] = []
        if self._root.fired & avoid:
            return found
        for assignment in _classes_and(self._root.child, avoid):
            found.append(assignment)
            if len(found) >= limit:
                break
        return found

    # -- words --

    def describe(self, assignment: Mapping[int, int]) -> str:
        """A class in words: the values it restricts fields to; other fields may be anything."""
        scalars: list[str] = []
        present: dict[str, list[str]] = {}
        absent: dict[str, list[str]] = {}
        for i, b in sorted(assignment.items()):
            atom = self.atoms[i]
            if atom.member is None:
                scalars.append(f"{atom.field}: {self.block_label(i, b)}")
            else:
                into = present if self.blocks[i][b][0] == _YES else absent
                into.setdefault(atom.field, []).append(atom.member)
        for name in sorted(present.keys() | absent.keys()):
            has, hasnt = present.get(name, []), absent.get(name, [])
            if has and hasnt:
                scalars.append(f"{name} include {', '.join(has)} but not {', '.join(hasnt)}")
            elif has:
                scalars.append(f"{name} include {', '.join(has)}")
            elif len(hasnt) == 1:
                scalars.append(f"{name} do not include {hasnt[0]}")
            else:
                scalars.append(f"{name} include none of {', '.join(hasnt)}")
        return "; ".join(scalars) or "any case"

    def block_label(self, atom: int, block: int) -> str:
        values = self.blocks[atom][block]
        if len(values) <= 3:
            return " | ".join(values)
        return f"{values[0]} (or {len(values) - 1} other values alike)"

    # -- per rule, for the coverage of field values --

    def rule_atoms(self, name: str) -> tuple[int, ...]:
        return tuple(sorted(self._tests[name].atoms))

    def holds(self, name: str, assignment: Mapping[int, int]) -> bool | None:
        assign = [-1] * len(self.atoms)
        for i, b in assignment.items():
            assign[i] = b
        return _eval3(self._tests[name].node, assign)

    def compatible(self, assignment: Mapping[int, int]) -> bool:
        """Are these blocks pairwise compatible (and so, by the case model, valid together)?"""
        items = sorted(assignment.items())
        for n, (i, b) in enumerate(items):
            bad = self._bad.get((i, b))
            if bad and any((j, c) in bad for j, c in items[n + 1 :]):
                return False
        return True


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
        self.nodes = 0

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
        self.nodes += 1
        if self.nodes > MAX_SEARCH_NODES:
            # Bounds time and memory: a random 200-rule book once passed 4.5 GB here.
            shown = ", ".join(sorted(t.name for t in tests)[:5])
            more = f" and {len(tests) - 5} more" if len(tests) > 5 else ""
            raise CheckError(
                f"the class space is too large to check: the search passed {MAX_SEARCH_NODES:,}"
                f" nodes in the part reading rules {shown}{more} (see Limits in "
                "docs/rule-authoring.md); rules coupling many fields with any/not multiply it"
            )
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


def _count(branch: _Branch, avoid: frozenset[str], totals: dict[int, int] | None = None) -> int:
    """Classes below `branch` where none of `avoid` holds. `totals` (all classes below a
    node, by node id) may be shared between calls on one space: a node whose scope holds
    none of `avoid` counts all its classes, so only the nodes deciding `avoid` are walked."""
    memo: dict[int, int] = {}

    def count_branch(b: _Branch) -> int:
        if b.fired & avoid:
            return 0
        return count_and(b.child)

    def count_and(node: _And) -> int:
        key = id(node)
        if totals is not None and avoid and not node.scope & avoid:
            return _total(node, totals)
        if key not in memo:
            memo[key] = math.prod(sum(count_branch(b) for b in p.branches) for p in node.parts)
        return memo[key]

    return count_branch(branch)


def _count_where(
    branch: _Branch,
    need: frozenset[str],
    avoid: frozenset[str],
    memo: dict[Any, int],
    totals: dict[int, int],
) -> int:
    """Classes below `branch` where all of `need` hold and none of `avoid` does. Like
    `_smallest_branch`, keyed by what matters below only, so one memo serves every call."""
    if branch.fired & avoid:
        return 0
    node = branch.child
    need, avoid = need - branch.fired, avoid & node.scope
    if need - node.scope:
        return 0  # a test still needed was decided false on the way down
    if not need and not avoid:
        return _total(node, totals)
    key = (id(node), need, avoid)
    if key not in memo:
        product = 1
        for part in node.parts:
            part_need, part_avoid = need & part.scope, avoid & part.scope
            product *= sum(
                _count_where(b, part_need, part_avoid, memo, totals) for b in part.branches
            )
            if not product:
                break
        memo[key] = product
    return memo[key]


def _total(node: _And, totals: dict[int, int]) -> int:
    """All classes below a node, remembered in `totals` by node id."""
    key = id(node)
    if key not in totals:
        totals[key] = math.prod(
            sum(_total(b.child, totals) for b in part.branches) for part in node.parts
        )
    return totals[key]


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


#: The choices of the smallest class below a node, shared rather than copied: for each part,
#: (atom, block, the choices below that branch).
_Picks: TypeAlias = tuple[tuple[int, int, "_Picks"], ...]


def _smallest_branch(
    branch: _Branch,
    need: frozenset[str],
    avoid: frozenset[str],
    memo: dict[Any, tuple[int, _Picks] | None],
) -> tuple[int, _Picks] | None:
    """`_find_branch` minimising the non-default blocks (block 0 holds the default): the
    parts are independent, so the smallest class takes the smallest class of each part."""
    if branch.fired & avoid:
        return None
    scope = branch.child.scope
    need, avoid = need - branch.fired, avoid & scope
    if need - scope:
        return None  # a test still needed was decided false on the way down
    # Keyed by what matters below only, so that one memo serves every call on a space.
    key = (id(branch.child), need, avoid)
    if key in memo:
        return memo[key]
    cost, picks = 0, []
    result: tuple[int, _Picks] | None = None
    for part in branch.child.parts:
        part_need, part_avoid = need & part.scope, avoid & part.scope
        best: tuple[int, int, _Picks] | None = None
        for candidate in part.branches:
            sub = _smallest_branch(candidate, part_need, part_avoid, memo)
            if sub is None:
                continue
            score = sub[0] + (candidate.block != 0)
            if best is None or score < best[0]:
                best = (score, candidate.block, sub[1])
        if best is None:
            break
        cost += best[0]
        picks.append((part.atom, best[1], best[2]))
        need -= part_need
    else:
        # A test still needed here was decided false on the way down.
        result = None if need else (cost, tuple(picks))
    memo[key] = result
    return result


def _assignment(picks: _Picks) -> Assignment:
    found: Assignment = {}
    stack = [picks]
    while stack:
        for atom, block, below in stack.pop():
            found[atom] = block
            stack.append(below)
    return found


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


def _incompatible_pairs(atoms: tuple[Atom, ...]) -> set[tuple[Atom, str, Atom, str]]:
    """Every pair of atom values (a=v, b=w) that no valid case can hold together.

    Values invalid on their own make the check fail loudly: the case model has none, and the
    blocks below could not represent them.
    """
    for atom in atoms:
        for value in atom.domain:
            problems = incompatibilities(view_of({atom: value}))
            if problems:
                raise CheckError(f"{atom}={value} is invalid on its own: {problems[0].message}")
    pairs: set[tuple[Atom, str, Atom, str]] = set()
    for i, a in enumerate(atoms):
        for b in atoms[i + 1 :]:
            for v, w in product(a.domain, b.domain):
                if incompatibilities(view_of({a: v, b: w})):
                    pairs.add((a, v, b, w))
                    pairs.add((b, w, a, v))
    return pairs


def _blocks(
    atom: Atom, atom_leaves: list[Leaf], incompatible: set[tuple[Atom, str, Atom, str]]
) -> tuple[tuple[str, ...], ...]:
    """The atom's values grouped by what rules and validity can tell apart.

    The block of the default value comes first (a class that leaves an atom free stands for
    its default); within a block, the default or else the first value in model order leads.
    """
    groups: dict[tuple[tuple[bool, ...], frozenset[tuple[Atom, str]]], list[str]] = {}
    for value in atom.domain:
        signature = (
            tuple(_leaf_true(leaf, value) for leaf in atom_leaves),
            frozenset((b, w) for (a, v, b, w) in incompatible if a == atom and v == value),
        )
        groups.setdefault(signature, []).append(value)
    ordered = []
    for values in groups.values():
        if atom.default in values:
            values.remove(atom.default)
            values.insert(0, atom.default)
        ordered.append(tuple(values))
    ordered.sort(key=lambda block: (atom.default not in block, atom.domain.index(block[0])))
    return tuple(ordered)


def _bad_block_pairs(
    atoms: tuple[Atom, ...],
    block_of: list[dict[str, int]],
    incompatible: set[tuple[Atom, str, Atom, str]],
) -> dict[tuple[int, int], frozenset[tuple[int, int]]]:
    index = {atom: i for i, atom in enumerate(atoms)}
    bad: dict[tuple[int, int], set[tuple[int, int]]] = {}
    for a, v, b, w in incompatible:
        i, j = index[a], index[b]
        bad.setdefault((i, block_of[i][v]), set()).add((j, block_of[j][w]))
    return {key: frozenset(value) for key, value in bad.items()}


def parse_condition(when: object, terms: Mapping[str, Term] | None = None) -> Condition:
    """Compile a condition written as in a rule's `when:` block (a mapping, e.g. from YAML).

    `terms` (a rulebook's `Rulebook.terms`) are the terms it may use as `{term: NAME}`.
    Raises `ConditionError` naming the faulty place.
    """
    try:
        model = TypeAdapter(ConditionModel).validate_python(when)
    except ValidationError as exc:
        error = exc.errors()[0]
        skipped = ("tagged-union", "function-")
        place = ".".join(str(p) for p in error["loc"] if not str(p).startswith(skipped))
        raise ConditionError(f"when.{place}" if place else "when", error["msg"]) from None
    known = {name: term.condition for name, term in (terms or {}).items()}
    return compile_condition(model, "when", known)


# --- the check ---


@dataclass(frozen=True)
class Redundancy:
    rule: str
    covered_by: str


@dataclass(frozen=True)
class Conflict:
    rule: str
    excludes: str
    case: dict[str, Any]


@dataclass(frozen=True)
class RulesetLoad:
    """How much of one engine ruleset a single case can light up.

    Rules with the same condition are one durable-rules rule (`Engine.layout`), so
    `durable_rules` and `max_firing` count those, as durable-rules' limits do. `stack_need`
    is the most match-stack entries any valid case can fill (`Engine.stack_need`).
    """

    index: int
    rules: int
    durable_rules: int
    max_firing: int
    stack_need: int
    case: dict[str, Any]


@dataclass(frozen=True)
class ExampleResult:
    rule: str
    index: int
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not (self.missing or self.unexpected)


@dataclass(frozen=True)
class Gap:
    """Classes with no treatment point and no note."""

    classes: int
    examples: tuple[str, ...]
    case: dict[str, Any] | None


#: Notes that flag a profile the documents make implausible: coherence notes, and the flags on
#: grade and differentiation that the documents read differently.
COHERENCE_PREFIXES = ("note.coherence.", "note.flag.")


@dataclass(frozen=True)
class Coherence:
    """One coherence relation: the classes whose profile its note flags, and a smallest case."""

    rule: str
    title: str
    classes: int
    case: dict[str, Any] | None


@dataclass(frozen=True)
class CheckReport:
    rulebook_version: str
    rules: int
    classes: int
    leaves: int
    parts: int
    covering_cases: int
    seconds: float
    blocks: dict[str, list[str]]
    dead: tuple[str, ...]
    redundant: tuple[Redundancy, ...]
    conflicts: tuple[Conflict, ...]
    incomplete: Gap
    incomplete_ignoring_unconditional: Gap
    unconditional: tuple[str, ...]
    rulesets: tuple[RulesetLoad, ...]
    match_limit: int
    limit_problems: tuple[str, ...]
    engine_problems: tuple[str, ...]
    coverage: dict[str, dict[str, tuple[str, ...]]]
    examples: tuple[ExampleResult, ...]
    #: The engine backends the covering set and the examples were run through.
    engines: tuple[str, ...] = ()
    coherence: tuple[Coherence, ...] = ()
    #: Classes no coherence relation flags: the profiles vignettes draw from by default.
    coherent_classes: int = 0

    @property
    def failing_examples(self) -> tuple[ExampleResult, ...]:
        return tuple(e for e in self.examples if not e.passed)

    @property
    def defaults(self) -> dict[str, str]:
        """Each field's default, the baseline of `coverage` ("" for sets: no member)."""
        return {
            name: "" if spec.kind == "set" else Atom(name).default
            for name, spec in case_fields().items()
        }

    @property
    def max_firing(self) -> int:
        return max((r.max_firing for r in self.rulesets), default=0)

    @property
    def failed(self) -> bool:
        """Dead rules, conflicts, failing examples, a breached engine limit, or the engine
        disagreeing with the rules' conditions."""
        return bool(
            self.dead
            or self.conflicts
            or self.failing_examples
            or self.limit_problems
            or self.engine_problems
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rulebook_version": self.rulebook_version,
            "rules": self.rules,
            "classes": self.classes,
            "search_leaves": self.leaves,
            "independent_parts": self.parts,
            "covering_cases": self.covering_cases,
            "seconds": round(self.seconds, 3),
            "passed": not self.failed,
            "blocks": self.blocks,
            "dead": list(self.dead),
            "redundant": [vars(r) for r in self.redundant],
            "conflicts": [vars(c) for c in self.conflicts],
            "incomplete": vars(self.incomplete) | {"examples": list(self.incomplete.examples)},
            "incomplete_ignoring_unconditional": vars(self.incomplete_ignoring_unconditional)
            | {"examples": list(self.incomplete_ignoring_unconditional.examples)},
            "unconditional": list(self.unconditional),
            "engine": {
                "engines": list(self.engines),
                "match_limit": self.match_limit,
                "stack_budget": _STACK_BUDGET,
                "max_firing": self.max_firing,
                "rulesets": [vars(r) for r in self.rulesets],
                "problems": list(self.limit_problems),
                "disagreements": list(self.engine_problems),
            },
            "coherence": {
                "relations": [vars(c) for c in self.coherence],
                "coherent_classes": self.coherent_classes,
            },
            "coverage": {
                name: {value: list(ids) for value, ids in values.items()}
                for name, values in self.coverage.items()
            },
            "examples": [
                vars(e) | {"passed": e.passed, **{k: list(getattr(e, k)) for k in _EX_LISTS}}
                for e in self.examples
            ],
        }


_EX_LISTS = ("missing", "unexpected")


def check_rulebook(
    rulebook: Rulebook, *, match_limit: int = ENGINE_MATCH_LIMIT, engine: EngineChoice = None
) -> CheckReport:
    """Examine a rulebook over its whole class space (see the module docstring).

    The covering set and the rules' examples go through every engine backend available
    here, or only through `engine` when one is chosen (a name, a factory or an Engine).
    """
    started = time.perf_counter()
    space = ClassSpace.build(rulebook)
    covering = space.covering()
    for assignment, _ in covering:
        problems = incompatibilities(space.values(assignment))
        if problems:
            raise CheckError(f"an enumerated class is not a valid case: {problems[0].message}")
    rule_ids = [r.id for r in rulebook.rules]
    fired = space.fired_anywhere()
    dead = tuple(r for r in rule_ids if r not in fired)

    limit_problems: list[str] = []
    engine_problems: list[str] = []
    loads: tuple[RulesetLoad, ...] = ()
    examples: tuple[ExampleResult, ...] = ()
    tested: list[str] = []
    choices: list[EngineChoice] = list(available_engines()) if engine is None else [engine]
    for choice in choices:
        try:
            backend = make_engine(rulebook, choice)
        except EngineLimitError as exc:
            limit_problems.append(str(exc))
            continue
        tested.append(backend.name)
        owned = backend is not choice  # only an engine built here is closed here
        try:
            if backend.layout:
                loads = _ruleset_loads(space, backend, match_limit, limit_problems)
            prefix = f"{backend.name}: " if len(choices) > 1 else ""
            engine_problems += [prefix + p for p in _differential(space, covering, backend)]
            ran = tuple(_run_examples(rulebook, backend))
            examples = examples or ran
            if ran != examples:
                engine_problems.append(f"{backend.name}: the rules' examples give other results")
        finally:
            if owned:
                backend.close()
    if not tested:
        # Every backend refused the rulebook: the examples still run, in plain Python.
        from netaid.engines.python import PythonEngine

        with PythonEngine(rulebook) as fallback:
            examples = tuple(_run_examples(rulebook, fallback))

    treatment_or_note = [r.id for r in rulebook.rules if r.kind in (Kind.TREATMENT, Kind.NOTE)]
    unconditional = tuple(
        r for r in treatment_or_note if isinstance(rulebook.rule(r).condition, Always)
    )
    return CheckReport(
        rulebook_version=f"{rulebook.version}+{rulebook.fingerprint}",
        rules=len(rulebook.rules),
        classes=space.class_count,
        leaves=space.leaf_count,
        parts=space.parts,
        covering_cases=len(covering),
        seconds=time.perf_counter() - started,
        blocks={
            str(atom): [space.block_label(i, b) for b in range(len(space.blocks[i]))]
            for i, atom in enumerate(space.atoms)
        },
        dead=dead,
        redundant=tuple(_redundant(space, rulebook.rules, set(dead))),
        conflicts=tuple(_conflicts(space, rulebook.rules)),
        incomplete=_gap(space, rulebook, treatment_or_note),
        incomplete_ignoring_unconditional=_gap(
            space, rulebook, [r for r in treatment_or_note if r not in unconditional]
        ),
        unconditional=unconditional,
        rulesets=loads,
        match_limit=match_limit,
        limit_problems=tuple(limit_problems),
        engine_problems=tuple(engine_problems),
        coverage=_coverage(space, rulebook),
        examples=examples,
        engines=tuple(tested),
        coherence=tuple(_coherence(space, rulebook)),
        coherent_classes=space.count_without(
            r.id for r in rulebook.rules if r.id.startswith(COHERENCE_PREFIXES)
        ),
    )


def _coherence(space: ClassSpace, rulebook: Rulebook) -> Iterator[Coherence]:
    """Each coherence relation over the whole class space: how many classes it flags."""
    for rule in rulebook.rules:
        if not rule.id.startswith(COHERENCE_PREFIXES):
            continue
        flagged = space.class_count - space.count_without([rule.id])
        found = space.find(all_of=[rule.id])
        case = _dump(space.case(found)) if found is not None else None
        yield Coherence(rule.id, rule.title, flagged, case)


def _dump(case: Case) -> dict[str, Any]:
    return case.model_dump(mode="json", exclude_defaults=True)


def _redundant(space: ClassSpace, rules: Sequence[Rule], dead: set[str]) -> Iterator[Redundancy]:
    groups: dict[tuple[Any, ...], list[Rule]] = {}
    for rule in rules:
        key = (rule.kind, rule.category, tuple(sorted(rule.therapies)), rule.title, rule.text)
        groups.setdefault(key, []).append(rule)
    order = {r.id: n for n, r in enumerate(rules)}
    for group in groups.values():
        for rule in group:
            if rule.id in dead:
                continue
            for other in group:
                if other.id == rule.id or space.find([rule.id], [other.id]) is not None:
                    continue
                mutual = space.find([other.id], [rule.id]) is None
                # Of two rules saying the same under the same condition, keep the first.
                if not mutual or order[rule.id] > order[other.id]:
                    yield Redundancy(rule.id, other.id)
                    break


def _conflicts(space: ClassSpace, rules: Sequence[Rule]) -> Iterator[Conflict]:
    seen: set[frozenset[str]] = set()
    for rule in rules:
        for other in rule.excludes:
            pair = frozenset((rule.id, other))
            if pair in seen:
                continue
            seen.add(pair)
            found = space.find([rule.id, other])
            if found is not None:
                yield Conflict(rule.id, other, _dump(space.case(found)))


def _gap(space: ClassSpace, rulebook: Rulebook, names: Sequence[str]) -> Gap:
    count = space.count_without(names)
    # Described over a space of these rules alone, so that each gap names only the fields
    # that decide them, not every field some other rule reads.
    own = ClassSpace.from_conditions({n: rulebook.rule(n).condition for n in names})
    examples = own.examples_without(names, limit=10)
    case = _dump(own.case(examples[0])) if examples and count else None
    return Gap(count, tuple(own.describe(e) for e in examples) if count else (), case)


def _ruleset_loads(
    space: ClassSpace, engine: Engine, match_limit: int, problems: list[str]
) -> tuple[RulesetLoad, ...]:
    loads = []
    for n, shared in enumerate(engine.layout):
        # One rule stands for each durable-rules rule: those sharing it fire with it.
        firsts = [ids[0] for ids in shared]
        most, assignment = space.max_together(firsts)
        stack_need = engine.stack_need(firsts)
        case = space.case(assignment)
        rules = sum(len(ids) for ids in shared)
        loads.append(RulesetLoad(n, rules, len(firsts), most, stack_need, _dump(case)))
        if most > match_limit:
            problems.append(
                f"ruleset {n}: {most} durable-rules rules fire together for one case; the "
                f"engine's limit is {match_limit}"
            )
        if stack_need > match_limit:
            problems.append(
                f"ruleset {n}: one case can fill {stack_need} entries of the match stack; "
                f"the engine's limit is {match_limit}"
            )
        # The case that loads this ruleset most, through the real engine: it must not fail
        # and must agree with the class space.
        expected = space.fired(space.values(assignment)) & frozenset(space.names)
        try:
            actual = engine.fired_ids(case)
        except EngineError as exc:
            problems.append(f"ruleset {n}: the engine failed on its heaviest case: {exc}")
            continue
        if actual != expected:
            problems.append(
                f"ruleset {n}: on its heaviest case the engine fired "
                f"{sorted(actual ^ expected)} differently from the rules' conditions"
            )
    return tuple(loads)


def _differential(
    space: ClassSpace, covering: Sequence[tuple[Assignment, frozenset[str]]], engine: Engine
) -> tuple[str, ...]:
    """Every covering case through the engine, against what the rules' conditions say."""
    problems: list[str] = []
    rules = frozenset(space.names)
    for assignment, fired in covering:
        case = space.case(assignment)
        try:
            actual = engine.fired_ids(case)
        except EngineError as exc:
            problems.append(f"the engine failed on {_dump(case)}: {exc}")
        else:
            if actual != fired & rules:
                diff = sorted(actual ^ (fired & rules))
                problems.append(f"the engine disagrees on {diff} for {_dump(case)}")
        if len(problems) >= 10:
            break
    return tuple(problems)


def _run_examples(rulebook: Rulebook, engine: Engine) -> Iterator[ExampleResult]:
    # The loader has already refused examples naming rules that do not exist.
    for rule in rulebook.rules:
        for n, example in enumerate(rule.examples):
            fired = engine.fired_ids(Case.model_validate(example.case))
            yield ExampleResult(
                rule=rule.id,
                index=n,
                missing=tuple(p for p in example.produces if p not in fired),
                unexpected=tuple(p for p in example.not_produces if p in fired),
            )


def _coverage(space: ClassSpace, rulebook: Rulebook) -> dict[str, dict[str, tuple[str, ...]]]:
    """For each field value, the rules whose firing it changes, compared with the field's
    default (unknown, no, none): some valid case fires the rule with one and not the other.

    Rule by rule, over the blocks of the rule's own atoms: every other atom keeps its default,
    which never makes a case invalid, and cannot change the rule.
    """
    changed: dict[tuple[int, int], set[str]] = {}
    for rule in rulebook.rules:
        atoms = space.rule_atoms(rule.id)
        for a in atoms:
            others = [i for i in atoms if i != a]
            for combo in product(*(range(len(space.blocks[i])) for i in others)):
                context = dict(zip(others, combo, strict=True))
                if not space.compatible(context):
                    continue
                base = space.holds(rule.id, {**context, a: 0})
                for b in range(1, len(space.blocks[a])):
                    trial = {**context, a: b}
                    if space.compatible(trial) and space.holds(rule.id, trial) != base:
                        changed.setdefault((a, b), set()).add(rule.id)
    index = {atom: i for i, atom in enumerate(space.atoms)}
    order = {r.id: n for n, r in enumerate(rulebook.rules)}
    coverage: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, spec in case_fields().items():
        per_value: dict[str, tuple[str, ...]] = {}
        for value in spec.values:
            atom = Atom(name, value) if spec.kind == "set" else Atom(name)
            i = index.get(atom)
            ids: set[str] = set()
            if i is not None:
                probe = _YES if spec.kind == "set" else value
                b = next(n for n, block in enumerate(space.blocks[i]) if probe in block)
                ids = changed.get((i, b), set())
            per_value[value] = tuple(sorted(ids, key=order.__getitem__))
        coverage[name] = per_value
    return coverage
