"""`check_rulebook` and its report: dead, redundant and conflicting rules, gaps, engine
load and agreement, coverage and the rules' examples."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from netaid._conditions import (
    Always,
)
from netaid.case import case_fields, incompatibilities
from netaid.check._loads import (
    ENGINE_MATCH_LIMIT,
    STACK_BUDGET,
    ExampleResult,
    RulesetLoad,
    _differential,
    _dump,
    _ruleset_loads,
    _run_examples,
)
from netaid.check._space import _YES, Atom, ClassSpace
from netaid.engines import EngineChoice, available_engines, make_engine
from netaid.errors import CheckError, EngineLimitError
from netaid.rulebook import Kind, Rule, Rulebook

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
class Gap:
    """Classes with no treatment point and no note."""

    classes: int
    examples: tuple[str, ...]
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
                "stack_budget": STACK_BUDGET,
                "max_firing": self.max_firing,
                "rulesets": [vars(r) for r in self.rulesets],
                "problems": list(self.limit_problems),
                "disagreements": list(self.engine_problems),
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
        # Only an engine this function built is closed by it.
        owned = backend is not choice
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
    )


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
