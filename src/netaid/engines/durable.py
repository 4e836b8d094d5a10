"""The durable-rules backend: the only module of netaid that imports durable-rules.

Everything that knows durable-rules' internals is here and nowhere else: the compact fact a
case becomes, the translation of conditions into durable-rules' JSON expressions, the model of
the alpha network durable-rules builds, the match-stack bound and the planning of rulesets
under it. None of it is public API: the rest of netaid sees an `Engine`.

durable-rules 2.0.28 has sharp edges; docs/engine.md lists each one, the decision here that
defends against it and the test that proves the defence. In short:

- No `durable.engine.Host`: its two timer threads re-run pending actions concurrently with
  the caller. We drive the C module directly on rulesets we own, with no Python actions at
  all: the names of the rules that fired are read off the action queue.
- One fact may fill at most 64 entries of the C engine's match stack (error 303, after which
  the state is corrupt). `match_stack_need` computes, on the alpha network exactly as
  durable-rules builds it from our JSON, the most entries any valid case can fill; rules are
  grouped so that no ruleset can need more than `MAX_MATCH_PATHS`.
- Facts are asserted and then retracted under one fixed session id, so nothing of one case
  is left for the next and memory stays flat.
- Any failure of the C engine discards every ruleset and builds them afresh before the
  error (an `EngineError`) reaches the caller. One lock serialises evaluation, since the C
  engine is not thread-safe and never releases the GIL anyway.
- The C extension does not import on Python 3.13+; the module itself does, and
  `DurableEngine(...)` then raises `EngineError` (`netaid.engines` picks the Python backend
  there by default).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import string
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

from netaid._conditions import All, Always, AnyOf, Condition, Leaf, Not, not_a_condition
from netaid.case import Case, attribute_values, case_fields
from netaid.engines._base import Engine
from netaid.errors import EngineError, EngineLimitError
from netaid.rulebook import Rule, Rulebook

__all__ = ["DurableEngine", "available"]

#: durable-rules' C engine walks the alpha nodes a fact matches depth-first, on a fixed stack
#: of 64 entries (`MAX_STACK_SIZE` in events.c); pushing a 65th raises error 303.
MATCH_STACK_SIZE = 64

#: The budget every ruleset is kept within, a few entries below `MATCH_STACK_SIZE`. It bounds
#: two measures: the conservative one of `plan_rulesets` (tests of every rule counted without
#: any sharing) and the exact worst case of `match_stack_need`.
MAX_MATCH_PATHS = 60

# Capacities of one ruleset in durable-rules 2.0.28 (rules.h, rete.h), with headroom.
_MAX_RULES = 2_048  # 4,096 rules per ruleset
_MAX_TESTS_UNDER_NODE = 256  # NEXT_BUCKET_LENGTH 512: child tests of one alpha node
_MAX_FORWARDS_FROM_NODE = 64  # NEXT_LIST_LENGTH 128: `$or` joins hanging off one node
_MAX_RULES_AT_NODE = 128  # BETA_LIST_LENGTH 256: rules ending at one alpha node
_MAX_CONNECTIVES = 15  # MAX_SEQUENCE_EXPRESSIONS 32: two entries per `$and`/`$or` of a rule
_MAX_FACT_PROPERTIES = 250  # MAX_OBJECT_PROPERTIES 255, with `sid` and `id`

# durable-rules finds properties by 32-bit FNV-1a hash, and calls `$or` joins "$forward".
_HASH_ID = 926444256
_HASH_SID = 3593476751
_HASH_FORWARD = 739185624

_GUARD_KEY = "_"
_GUARD_VALUE = "c"
_SID = "0"


# --- conditions as durable-rules expressions ---


def set_member_key(field: str, member: str) -> str:
    """The flat fact key durable-rules sees for one member of a set field."""
    return f"{field}__{member}"


def to_durable(condition: Condition) -> dict[str, Any] | None:
    """The condition as a durable-rules expression, negations pushed down to the leaves.

    durable-rules has no general negation, and `$in` does not exist, so `not` is pushed
    inward (De Morgan) and `one_of` becomes an `$or` of equalities. Returns None for Always.
    """
    if isinstance(condition, Always):
        return None
    return _durable(condition, negated=False)


def _durable(condition: Condition, *, negated: bool) -> dict[str, Any]:
    match condition:
        case Not(child=child):
            return _durable(child, negated=not negated)
        case All(children=children) | AnyOf(children=children):
            conjunctive = isinstance(condition, All) != negated
            parts = [_durable(c, negated=negated) for c in children]
            if len(parts) == 1:
                return parts[0]
            return {"$and" if conjunctive else "$or": parts}
        case Leaf():
            return _durable_leaf(condition, negated=negated)
        case Always():
            raise EngineError("a condition that always holds has no durable-rules expression")
        case _:
            not_a_condition(condition)


def _durable_leaf(leaf: Leaf, *, negated: bool) -> dict[str, Any]:
    match leaf.op:
        case "contains":
            return {set_member_key(leaf.field, leaf.values[0]): "no" if negated else "yes"}
        case "is_known":
            return {leaf.field: "unknown"} if negated else {"$neq": {leaf.field: "unknown"}}
        case "equals" | "one_of":
            tests = [{"$neq": {leaf.field: v}} if negated else {leaf.field: v} for v in leaf.values]
            if len(tests) == 1:
                return tests[0]
            return {"$and" if negated else "$or": tests}
        case _:
            not_a_condition(leaf.op)


def match_paths(condition: Condition) -> int:
    """An upper bound on the alpha nodes durable-rules builds for this condition.

    durable-rules expands `$or` into one chain of tests per alternative (disjunctive normal
    form). Counting every test of every chain, plus the guard test heading each chain, bounds
    the number of nodes one fact can match, whatever sharing the engine manages.
    """
    terms, tests = _dnf_size(condition, negated=False)
    return terms + tests


def _dnf_size(condition: Condition, *, negated: bool) -> tuple[int, int]:
    """(number of DNF terms, total tests across the terms)."""
    match condition:
        case Always():
            return 1, 0
        case Not(child=child):
            return _dnf_size(child, negated=not negated)
        case Leaf(op="one_of", values=values):
            return (len(values), len(values)) if not negated else (1, len(values))
        case Leaf():
            return 1, 1
        case All(children=children) | AnyOf(children=children):
            sizes = [_dnf_size(c, negated=negated) for c in children]
            if isinstance(condition, All) != negated:
                terms, tests = 1, 0
                for child_terms, child_tests in sizes:
                    tests = tests * child_terms + child_tests * terms
                    terms *= child_terms
                return terms, tests
            return sum(t for t, _ in sizes), sum(s for _, s in sizes)
        case _:
            not_a_condition(condition)


def plan_rulesets(rules: Iterable[Rule], budget: int = MAX_MATCH_PATHS) -> list[list[Rule]]:
    """Pack rules into rulesets under the conservative bound (first fit, largest first).

    A rule costs `match_paths`: every test of its disjunctive normal form plus one guard per
    term, as if durable-rules shared nothing. A ruleset whose costs sum to at most `budget`
    cannot fill more than `budget` entries of the match stack. `DurableEngine` starts from this
    plan and merges its rulesets further where `match_stack_need` proves it safe.
    """
    bins: list[tuple[int, list[Rule]]] = []
    for rule in sorted(rules, key=lambda r: (-match_paths(r.condition), r.id)):
        cost = match_paths(rule.condition)
        if cost > budget:
            raise EngineLimitError(
                f"rule {rule.id!r} ({rule.file}) expands to {cost} engine match paths; "
                f"at most {budget} fit in one ruleset. Split it into smaller rules."
            )
        for i, (used, members) in enumerate(bins):
            if used + cost <= budget:
                members.append(rule)
                bins[i] = (used + cost, members)
                break
        else:
            bins.append((cost, [rule]))
    return [members for _, members in bins]


# --- the fact: how durable-rules sees a case ---


def _fnv1a_32(text: str) -> int:
    """durable-rules' property-name hash (`fnv1Hash32` in state.c)."""
    value = 0x811C9DC5
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def _short_name(index: int) -> str:
    """a, b, ..., Z, aa, ab, ...: the shortest distinct property names, in a fixed order."""
    letters = string.ascii_letters
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, len(letters))
        name = letters[rest] + name
    return name


class _FactSchema:
    """The compact JSON fact of a case: one short property per scalar field and per member
    of a set field, one-letter values, and a guard property every rule tests.

    Short names and values matter: durable-rules parses the fact once per assert and copies
    it into the message of every rule that fires.
    """

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}  # scalar field or set_member_key(field, member) -> key
        self.codes: dict[str, dict[str, str]] = {}  # same -> case_values spelling -> code
        self.domains: dict[str, tuple[str, ...]] = {_GUARD_KEY: (_GUARD_VALUE,)}
        names = (_short_name(i) for i in itertools.count())
        scalars: list[tuple[str, dict[object, str]]] = []
        sets: list[tuple[str, list[tuple[str, str, str]]]] = []
        for name, spec in case_fields().items():
            if spec.kind == "set":
                members = []
                for member in spec.values:
                    atom, key = set_member_key(name, member), next(names)
                    self.keys[atom] = key
                    self.codes[atom] = {"yes": "y", "no": "n"}
                    self.domains[key] = ("y", "n")
                    members.append((member, f',"{key}":"y"', f',"{key}":"n"'))
                sets.append((name, members))
                continue
            key = next(names)
            codes = {value: _short_name(i) for i, value in enumerate(spec.values)}
            self.keys[name], self.codes[name] = key, codes
            self.domains[key] = tuple(codes.values())
            # Raw attribute values as `case_values` reads them: enum members (or None for
            # unknown), True/False/None for yes/no fields.
            raw: dict[object, str] = {}
            if spec.kind in ("flag", "tristate"):
                spelled: dict[object, str] = {True: "true", False: "false", None: "unknown"}
                raw = {k: v for k, v in spelled.items() if v in codes}
            else:
                raw = {value: value for value in spec.values}
                raw[None] = "unknown"
            scalars.append((name, {k: f',"{key}":"{codes[v]}"' for k, v in raw.items()}))
        self._check_names()
        self._head = f'{{"sid":"{_SID}","{_GUARD_KEY}":"{_GUARD_VALUE}"'
        self._scalar_getter = operator.attrgetter(*(name for name, _ in scalars))
        self._scalar_tables = tuple(table for _, table in scalars)
        self._set_getter = operator.attrgetter(*(name for name, _ in sets))
        self._set_tables = tuple(members for _, members in sets)
        self._set_domains = tuple(frozenset(attribute_values(name).values()) for name, _ in sets)

    def _check_names(self) -> None:
        keys = [_GUARD_KEY, *self.keys.values()]
        if len(keys) > _MAX_FACT_PROPERTIES:
            raise EngineLimitError(
                f"a case is {len(keys)} engine properties; durable-rules allows "
                f"{_MAX_FACT_PROPERTIES}"
            )
        hashes = [_fnv1a_32(key) for key in keys]
        reserved = {_HASH_ID, _HASH_SID, _HASH_FORWARD}
        if len(set(hashes)) != len(hashes) or reserved & set(hashes):
            raise EngineError("engine property names collide in durable-rules' hash")

    def encode(self, case: Case) -> str:
        """The case as the JSON fact durable-rules is given."""
        parts = [self._head]
        try:
            for table, value in zip(self._scalar_tables, self._scalar_getter(case), strict=True):
                parts.append(table[value])
        except (KeyError, TypeError) as exc:
            raise EngineError(f"the case holds a value the engine does not know: {exc}") from None
        for members, present, domain in zip(
            self._set_tables, self._set_getter(case), self._set_domains, strict=True
        ):
            if not (isinstance(present, frozenset) and present <= domain):
                raise EngineError(f"the case holds a value the engine does not know: {present!r}")
            for member, yes, no in members:
                parts.append(yes if member in present else no)
        parts.append("}")
        return "".join(parts)

    def expression(self, condition: Any) -> dict[str, Any]:
        """A `to_durable` expression in this schema's names, `$and`/`$or` runs flattened."""
        ((key, value),) = condition.items()
        if key in ("$and", "$or"):
            parts: list[dict[str, Any]] = []
            for child in value:
                translated = self.expression(child)
                parts.extend(translated.get(key, [translated]))
            return {key: parts}
        if key == "$neq":
            ((atom, wanted),) = value.items()
            return {"$neq": {self.keys[atom]: self.codes[atom][wanted]}}
        if key.startswith("$"):
            raise EngineError(f"the engine does not translate the operator {key!r}")
        return {self.keys[key]: self.codes[key][value]}


_SCHEMA: _FactSchema | None = None


def _schema() -> _FactSchema:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = _FactSchema()
    return _SCHEMA


def _rule_test(rule: Rule) -> dict[str, Any]:
    """The durable-rules test of one rule: the guard, then the condition."""
    schema = _schema()
    guard = {_GUARD_KEY: _GUARD_VALUE}
    expression = to_durable(rule.condition)
    if expression is None:
        return guard
    translated = schema.expression(expression)
    return {"$and": [guard, *translated["$and"]] if "$and" in translated else [guard, translated]}


# --- the alpha network, as durable-rules builds it (rete.c: createAlpha, findAlpha) ---


class _Alpha:
    """One alpha node: its child tests (shared between rules, as `findAlpha` shares them),
    the `$or` joins it leads to, and how many rules end on it."""

    __slots__ = ("forwards", "rules", "tests")

    def __init__(self) -> None:
        self.tests: dict[tuple[str, str, str], _Alpha] = {}
        self.forwards: list[_Alpha] = []
        self.rules = 0


def _alpha_network(tests: Iterable[Mapping[str, Any]]) -> _Alpha:
    root = _Alpha()
    for test in tests:
        _add_expression(test, root).rules += 1
    return root


def _add_expression(expression: Mapping[str, Any], parent: _Alpha) -> _Alpha:
    """Add one expression below `parent` as createAlpha does; return the node it ends on."""
    ((key, value),) = expression.items()
    if key == "$and":
        # A chain: each test below the previous one.
        node = parent
        for child in value:
            node = _add_expression(child, node)
        return node
    if key == "$or":
        # A fresh, never shared join node; every alternative is built below `parent` and
        # its last node links to the join, which the rest of the rule then hangs from.
        join = _Alpha()
        for child in value:
            _add_expression(child, parent).forwards.append(join)
        return join
    if key == "$neq":
        ((name, wanted),) = value.items()
        test = (name, "$neq", wanted)
    elif key.startswith("$"):
        raise EngineError(f"match_stack_need does not model the operator {key!r}")
    else:
        test = (key, "$eq", value)
    existing = parent.tests.get(test)
    if existing is not None:
        return existing
    node = parent.tests[test] = _Alpha()
    return node


def _pushes(node: _Alpha, domains: Mapping[str, Sequence[str]]) -> int:
    """The most children of `node` one fact can match: the stack entries popping it adds.

    Joins are always pushed (their "$forward" property is never in a fact). Tests are grouped
    by property: a fact has one value per property, so the tests of one property that can
    match together are those true of a single value of its domain.
    """
    by_property: dict[str, list[tuple[str, str]]] = {}
    for name, op, wanted in node.tests:
        by_property.setdefault(name, []).append((op, wanted))
    count = len(node.forwards)
    for name, tests in by_property.items():
        if name not in domains:
            raise EngineError(f"match_stack_need: no domain for the property {name!r}")
        count += max(
            sum((value == wanted) == (op == "$eq") for op, wanted in tests)
            for value in domains[name]
        )
    return count


def _capacity_problem(root: _Alpha) -> str | None:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if len(node.tests) > _MAX_TESTS_UNDER_NODE:
            return f"{len(node.tests)} tests under one node"
        if len(node.forwards) > _MAX_FORWARDS_FROM_NODE:
            return f"{len(node.forwards)} alternatives joining from one node"
        if node.rules > _MAX_RULES_AT_NODE:
            return f"{node.rules} rules ending on one node"
        stack.extend(node.tests.values())
        stack.extend(node.forwards)
    return None


def _stack_need(root: _Alpha, domains: Mapping[str, Sequence[str]]) -> int:
    """The most entries handleAlpha's stack can hold for any fact over `domains`.

    handleAlpha pops a node, then pushes every child the fact matches. When a node X is
    popped, the stack holds, for every node A on the path from the root to X, the children of
    A pushed but not yet popped: at most pushes(A) - 1 of them. So the stack never holds more
    than the largest sum, over a path root = A0 ... An, of (pushes(Ai) - 1) for i < n plus
    pushes(An). Each pushes() is maximised over all facts independently and every path is
    counted (including every way into a join), so the result bounds every fact, whatever
    order durable-rules pushes siblings in; tests/unit/test_engine.py shows it is reached.
    """
    memo: dict[int, int] = {}

    def need(node: _Alpha) -> int:
        known = memo.get(id(node))
        if known is not None:
            return known
        pushes = _pushes(node, domains)
        best = pushes
        for child in itertools.chain(node.tests.values(), node.forwards):
            best = max(best, pushes - 1 + need(child))
        memo[id(node)] = best
        return best

    return need(root)


def match_stack_need(rules: Iterable[Rule]) -> int:
    """The most entries of durable-rules' match stack (64) any valid case can fill when these
    rules share one ruleset, computed on the alpha network durable-rules builds for them."""
    return _stack_need(_alpha_network(_rule_test(r) for r in rules), _schema().domains)


def _canonical_key(test: Mapping[str, Any]) -> str:
    """Equal for tests that differ only in the order of `$and`/`$or` members."""

    def canonical(node: Mapping[str, Any]) -> Any:
        ((key, value),) = node.items()
        if key in ("$and", "$or"):
            return {key: sorted((canonical(c) for c in value), key=json.dumps)}
        return dict(node)

    return json.dumps(canonical(test), sort_keys=True)


def _connectives(test: Mapping[str, Any]) -> int:
    ((key, value),) = test.items()
    if key in ("$and", "$or"):
        return 1 + sum(_connectives(child) for child in value)
    return 0


def _merge_rulesets(groups: Sequence[Sequence[Rule]], budget: int) -> list[list[Rule]]:
    """Merge whole rulesets of a plan while the merged ruleset provably stays in budget."""
    domains = _schema().domains

    def fits(rules: Sequence[Rule]) -> bool:
        network = _alpha_network(_rule_test(r) for r in rules)
        return (
            len(rules) <= _MAX_RULES
            and _capacity_problem(network) is None
            and _stack_need(network, domains) <= budget
        )

    everything = [rule for group in groups for rule in group]
    if len(groups) > 1 and fits(everything):
        return [everything]
    merged: list[list[Rule]] = []
    for group in sorted(groups, key=len, reverse=True):
        for target in merged:
            if fits([*target, *group]):
                target.extend(group)
                break
        else:
            merged.append(list(group))
    return merged


# --- the durable-rules engine ---


def _c_module() -> ModuleType:
    """durable-rules' C extension, or EngineError saying why it cannot be used here."""
    try:
        import durable_rules_engine
    except ImportError as exc:
        # Not installed (it is only required below Python 3.13), or installed where its C
        # extension cannot load (3.13+ removed an API it calls).
        raise EngineError(
            f"the durable-rules engine is not available on this Python ({exc}); "
            "use the Python engine (engine='python', --engine python)"
        ) from None
    module: ModuleType = durable_rules_engine
    return module


def available() -> bool:
    """Does durable-rules' C extension import here?"""
    try:
        _c_module()
    except EngineError:
        return False
    return True


class DurableEngine(Engine):
    """The durable-rules backend, driven through its C module on rulesets it owns."""

    name = "durable"
    _names = itertools.count()
    _engines = itertools.count()

    def __init__(self, rulebook: Rulebook) -> None:
        c_module = _c_module()
        super().__init__(rulebook)
        self._c = c_module
        self._lock = threading.Lock()
        self._schema = _schema()
        # Rules with the same condition are one durable-rules rule: it fires for all of them
        # (49 rules of the shipped rulebook have no condition at all).
        shared: dict[str, tuple[dict[str, Any], list[Rule]]] = {}
        for rule in rulebook.rules:
            test = _rule_test(rule)
            if _connectives(test) > _MAX_CONNECTIVES:
                raise EngineLimitError(
                    f"rule {rule.id!r} ({rule.file}) nests too many all/any groups for "
                    f"durable-rules (at most {_MAX_CONNECTIVES - 1}). Split it into smaller rules."
                )
            shared.setdefault(_canonical_key(test), (test, []))[1].append(rule)
        by_first = {rules[0].id: (test, rules) for test, rules in shared.values()}
        groups = _merge_rulesets(
            plan_rulesets(rules[0] for _, rules in shared.values()), MAX_MATCH_PATHS
        )
        # durable-rules knows each shared rule by a short name, unique to this engine (a
        # ruleset of another engine could never pass for ours); action messages carry it.
        serial = f"{next(self._engines):x}"
        self._rule_of: dict[str, tuple[str, ...]] = {}
        self._layout: list[tuple[tuple[str, ...], ...]] = []
        self._plan: list[list[Rule]] = []
        self._definitions: list[str] = []
        for group in groups:
            definition = {}
            members: list[Rule] = []
            for first in group:
                test, rules = by_first[first.id]
                name = f"{serial}.{len(self._rule_of):x}"
                self._rule_of[name] = tuple(r.id for r in rules)
                definition[name] = {"all": [{"m": test}]}
                members.extend(rules)
            self._layout.append(tuple(self._rule_of[name] for name in definition))
            self._plan.append(members)
            self._definitions.append(json.dumps(definition, separators=(",", ":")))
        self._handles: list[int] = []
        # Rulesets whose session has run an action: only their state can be deleted safely.
        self._acted: set[int] = set()
        self._build()
        # C rulesets are never freed by durable-rules itself.
        self._finalizer = weakref.finalize(
            self, _delete_rulesets, self._c, self._handles, self._acted
        )

    @property
    def plan(self) -> tuple[tuple[str, ...], ...]:
        """The rule ids of each C ruleset."""
        return tuple(tuple(r.id for r in group) for group in self._plan)

    @property
    def layout(self) -> tuple[tuple[tuple[str, ...], ...], ...]:
        """Per C ruleset, its durable-rules rules: the ids of the rules sharing each one's
        condition. durable-rules' limits count these, not netaid's rules."""
        return tuple(self._layout)

    def stack_need(self, rule_ids: Iterable[str]) -> int:
        return match_stack_need(self.rulebook.rule(i) for i in rule_ids)

    def _build(self) -> None:
        """Create every C ruleset, or none: `_handles` is only ever complete or empty."""
        handles: list[int] = []
        try:
            for definition in self._definitions:
                name = f"netaid_{next(self._names)}"
                handles.append(self._c.create_ruleset(name, definition))
        except Exception as exc:
            _delete_rulesets(self._c, handles, self._acted)
            raise EngineError(f"durable-rules refused the rulebook: {exc}") from exc
        self._handles.extend(handles)

    def close(self) -> None:
        with self._lock:
            self._finalizer()

    def fired_ids(self, case: Case) -> frozenset[str]:
        fact = self._schema.encode(case)
        with self._lock:
            if not self._finalizer.alive:
                raise EngineError("engine is closed")
            if not self._handles:  # an earlier rebuild failed: never evaluate on nothing
                self._build()
            try:
                fired: set[str] = set()
                for handle in self._handles:
                    self._run(handle, fact, fired.update)
                return frozenset(fired)
            except Exception as exc:
                # Whatever state the C engine is in, none of it is used again.
                _delete_rulesets(self._c, self._handles, self._acted)
                with contextlib.suppress(EngineError):
                    self._build()  # or on the next call
                if isinstance(exc, EngineError):
                    raise
                raise EngineError(f"durable-rules failed while evaluating the case: {exc}") from exc

    def _run(self, handle: int, fact: str, collect: Callable[[Iterable[str]], None]) -> None:
        c = self._c
        status, state = c.assert_fact(handle, fact)
        if status == 1:  # no rule of this ruleset matched; nothing was stored
            return
        if status != 0:
            raise EngineError(
                "durable-rules still holds a fact from an earlier case"
                if status == 2
                else f"durable-rules answered the fact with status {status}"
            )
        messages: list[str] = []
        try:
            add, next_action = messages.append, c.complete_and_start_action
            action = c.start_action_for_state(handle, state)
            message = action[1] if action else None
            while message:
                add(message)
                self._acted.add(handle)
                message = next_action(handle, state)
        finally:
            c.retract_fact(handle, fact)
        collect(self._rule_names(messages))

    def _rule_names(self, messages: Sequence[str]) -> list[str]:
        """The rule ids of action messages, each `{"<name>":{"m":{...the fact...}}}`."""
        rule_of = self._rule_of
        try:
            return [rule_id for m in messages for rule_id in rule_of[m[2 : m.find('"', 2)]]]
        except KeyError as exc:
            raise EngineError(f"durable-rules reported an unknown rule {exc.args[0]!r}") from None


def _delete_rulesets(c_module: Any, handles: list[int], acted: set[int]) -> None:
    while handles:
        handle = handles.pop()
        # delete_ruleset leaves the session's state (about 0.9 MB: its message, frame and
        # result pools) allocated. delete_state frees it, but frees the state's action
        # context too, which durable-rules leaves uninitialised until an action runs: only a
        # session that has run one can be deleted (its context is then reset to NULL).
        if handle in acted:
            acted.discard(handle)
            with contextlib.suppress(c_module.error):
                c_module.delete_state(handle, _SID)
        # A handle already gone (or never valid) has nothing left to free.
        with contextlib.suppress(c_module.error):
            c_module.delete_ruleset(handle)
