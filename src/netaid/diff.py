"""`netaid diff OLD NEW`: what a rulebook change does over the whole space of valid cases.

Both rulebooks' conditions go into one class space (`netaid.check.ClassSpace`), named
`old:ID` and `new:ID`: every class is a set of valid cases that every rule of both rulebooks
treats alike. For each point id, the classes where the old rule fires and the new one does
not are where the point disappears; the reverse, where it appears (an added rule appears
wherever it fires, a removed one disappears wherever it fired). The counts are exact over the
space, and each comes with the smallest example case (the fewest facts away from their
defaults) that the class space finds for it, which `netaid.discuss(case, rulebook=...)`
confirms.

Besides where points fire, the diff lists the rules added, removed, or changed in what they
say (title, text, citations, applies_when, ...), and the sources registered differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netaid._wording import describe_condition
from netaid.check import ClassSpace
from netaid.rulebook import Citation, Rule, Rulebook, Source

__all__ = ["Movement", "RuleChange", "RulebookDiff", "diff_rulebooks", "joint_space"]

OLD, NEW = "old:", "new:"


@dataclass(frozen=True)
class Movement:
    """A point that appears (or disappears) for some classes of valid cases."""

    rule: str
    #: "changed" (the rule is in both rulebooks), "added" or "removed".
    status: str
    classes: int
    #: The smallest valid case where it happens, as a case file would give it.
    case: dict[str, Any]


@dataclass(frozen=True)
class RuleChange:
    """A rule in both rulebooks, and which of its parts differ.

    When the condition differs, `was` and `now` give it in plain words."""

    rule: str
    parts: tuple[str, ...]
    was: str | None = None
    now: str | None = None


@dataclass(frozen=True)
class RulebookDiff:
    old: str
    new: str
    old_version: str
    new_version: str
    old_rules: int
    new_rules: int
    classes: int
    appear: tuple[Movement, ...]
    disappear: tuple[Movement, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[RuleChange, ...]
    sources: tuple[str, ...]

    @property
    def same(self) -> bool:
        """No point moves and no rule or source differs."""
        return not (
            self.appear
            or self.disappear
            or self.added
            or self.removed
            or self.changed
            or self.sources
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "old": {"rules": self.old, "version": self.old_version, "count": self.old_rules},
            "new": {"rules": self.new, "version": self.new_version, "count": self.new_rules},
            "classes": self.classes,
            "appear": [vars(m) for m in self.appear],
            "disappear": [vars(m) for m in self.disappear],
            "rules_added": list(self.added),
            "rules_removed": list(self.removed),
            "rules_changed": [
                {"rule": c.rule, "parts": list(c.parts)}
                | ({"condition_was": c.was, "condition_now": c.now} if c.was is not None else {})
                for c in self.changed
            ],
            "sources_changed": list(self.sources),
        }


def diff_rulebooks(
    old: Rulebook, new: Rulebook, *, old_name: str | None = None, new_name: str | None = None
) -> RulebookDiff:
    """The impact of changing `old` into `new`, over every class of valid cases."""
    space = joint_space(old, new)
    old_ids = {r.id for r in old.rules}
    new_ids = {r.id for r in new.rules}
    # Rulebook order: the new rulebook's, then the rules it removed.
    order = [r.id for r in new.rules] + [r.id for r in old.rules if r.id not in new_ids]

    appear: list[Movement] = []
    disappear: list[Movement] = []
    for rule_id in order:
        status = (
            "changed"
            if rule_id in old_ids and rule_id in new_ids
            else ("added" if rule_id in new_ids else "removed")
        )
        if status == "changed" and old.rule(rule_id).condition == new.rule(rule_id).condition:
            continue  # the same condition fires on the same classes: nothing to count
        before = [OLD + rule_id] if rule_id in old_ids else []
        after = [NEW + rule_id] if rule_id in new_ids else []
        if after:
            moved = _movement(space, rule_id, status, after, before)
            if moved is not None:
                appear.append(moved)
        if before:
            moved = _movement(space, rule_id, status, before, after)
            if moved is not None:
                disappear.append(moved)

    changed = tuple(
        _rule_change(old.rule(r.id), r, parts)
        for r in new.rules
        if r.id in old_ids and (parts := _changed_parts(old.rule(r.id), r))
    )
    return RulebookDiff(
        old=old_name or str(old.directory),
        new=new_name or str(new.directory),
        old_version=f"{old.version}+{old.fingerprint}",
        new_version=f"{new.version}+{new.fingerprint}",
        old_rules=len(old.rules),
        new_rules=len(new.rules),
        classes=space.class_count,
        appear=tuple(appear),
        disappear=tuple(disappear),
        added=tuple(r.id for r in new.rules if r.id not in old_ids),
        removed=tuple(r.id for r in old.rules if r.id not in new_ids),
        changed=changed,
        sources=_changed_sources(old, new),
    )


def joint_space(old: Rulebook, new: Rulebook) -> ClassSpace:
    """One class space over both rulebooks' conditions, named `old:ID` and `new:ID`."""
    conditions = {OLD + r.id: r.condition for r in old.rules}
    conditions.update({NEW + r.id: r.condition for r in new.rules})
    return ClassSpace.from_conditions(conditions)


def _movement(
    space: ClassSpace, rule_id: str, status: str, fires: list[str], not_fires: list[str]
) -> Movement | None:
    count = space.count(fires, not_fires)
    if not count:
        return None
    smallest = space.smallest(fires, not_fires)
    assert smallest is not None  # some class is like that: count says so
    case = space.case(smallest).model_dump(mode="json", exclude_defaults=True)
    return Movement(rule_id, status, count, case)


def _citation_key(citation: Citation) -> tuple[str, str, str, str | None]:
    # Compared by what the rule file says, not by the registered source's metadata (a new
    # review date would otherwise change every citation of that source).
    return (citation.source.id, citation.section, citation.quote, citation.says)


#: The parts of a rule a diff compares, in the order it lists them.
_PARTS = (
    "condition",
    "kind",
    "category",
    "therapies",
    "urgency",
    "title",
    "text",
    "citations",
    "applies_when",
    "contested",
    "excludes",
    "examples",
)


def _part(rule: Rule, name: str) -> object:
    if name == "citations":
        return tuple(_citation_key(c) for c in rule.citations)
    if name == "applies_when":
        tie = rule.applies_when
        if tie is None:
            return None
        return (tie.ties, tie.basis, tuple(_citation_key(c) for c in tie.citations))
    return getattr(rule, name)


def _changed_parts(old: Rule, new: Rule) -> tuple[str, ...]:
    return tuple(p for p in _PARTS if _part(old, p) != _part(new, p))


def _rule_change(old: Rule, new: Rule, parts: tuple[str, ...]) -> RuleChange:
    if "condition" not in parts:
        return RuleChange(new.id, parts)
    return RuleChange(
        new.id, parts, describe_condition(old.condition), describe_condition(new.condition)
    )


def _changed_sources(old: Rulebook, new: Rulebook) -> tuple[str, ...]:
    def described(source: Source | None) -> object:
        return None if source is None else vars(source)

    ids = list(new.sources) + [s for s in old.sources if s not in new.sources]
    found = []
    for source_id in ids:
        before, after = old.sources.get(source_id), new.sources.get(source_id)
        if described(before) == described(after):
            continue
        what = "added" if before is None else "removed" if after is None else "changed"
        found.append(f"{source_id} ({what})")
    if old.version != new.version:
        found.append(f"rulebook_version {old.version} -> {new.version}")
    return tuple(found)
