"""The class space of a rulebook: atoms and their blocks, validity, and `ClassSpace` (see
the package docstring of `netaid.check` for why it is complete)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import product
from typing import TypeAlias

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
from netaid.check._search import (
    Assignment,
    _And,
    _Branch,
    _classes_and,
    _count,
    _cover_branch,
    _eval3,
    _find_branch,
    _max_and,
    _Node,
    _Search,
    _Test,
)
from netaid.errors import CheckError, ConditionError
from netaid.rulebook import Rulebook, Term

Values: TypeAlias = dict[str, "str | frozenset[str]"]

_YES, _NO = "yes", "no"


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
        return _count(self._root, frozenset(names))

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
    """
    try:
        model = TypeAdapter(ConditionModel).validate_python(when)
    except ValidationError as exc:
        error = exc.errors()[0]
        place = ".".join(
            str(p) for p in error["loc"] if not str(p).startswith(("tagged-union", "function-"))
        )
        raise ConditionError(f"when.{place}" if place else "when", error["msg"]) from None
    known = {name: term.condition for name, term in (terms or {}).items()}
    return compile_condition(model, "when", known)
