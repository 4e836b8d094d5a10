"""What the unknown facts of a case would change, were they known.

A case's unknown fields (a scalar or yes/no field given as unknown) are where the documents
might say more. For each unknown field and each value it could take (keeping the case valid),
the rules whose truth would flip are found by evaluating the conditions again with that one
field set. Only the rules that read the field can flip, and a rule's answer depends only on
the values of the fields it reads, so each (rule, values read) is worked out once per
rulebook and remembered: the same few combinations recur case after case.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import TypeAlias

from netaid._conditions import holds, leaves
from netaid.case import CaseValues, case_fields, incompatibilities
from netaid.rulebook import Rulebook

__all__ = ["Flip", "flips", "unknown_fields"]

#: (field, value it would take, rule ids it would add, rule ids it would remove)
Flip: TypeAlias = tuple[str, str, tuple[str, ...], tuple[str, ...]]

# Per rule and values read: the (field, value) settings of its unknown fields that flip it.
_RuleFlips: TypeAlias = tuple[tuple[str, str], ...]
_MEMO_SIZE = 50_000


class _Memo:
    """What one rulebook's rules need to answer quickly."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.reads = {
            r.id: tuple(sorted({leaf.field for leaf in leaves(r.condition)}))
            for r in rulebook.rules
        }
        self.conditions = {r.id: r.condition for r in rulebook.rules}
        # For each field, the rules that read it, in rulebook order.
        self.readers: dict[str, tuple[str, ...]] = {
            name: tuple(r.id for r in rulebook.rules if name in self.reads[r.id])
            for name in case_fields()
        }
        self.position = {r.id: n for n, r in enumerate(rulebook.rules)}
        # Settings (field, value) in model order, for a stable output order.
        self.setting_order = {
            (name, value): n
            for n, (name, value) in enumerate(
                (name, value) for name, spec in case_fields().items() for value in spec.values
            )
        }
        self.known: dict[tuple[str, tuple[object, ...]], _RuleFlips] = {}


_memos: dict[int, tuple[weakref.ref[Rulebook], _Memo]] = {}
_memos_lock = threading.Lock()


def _memo_of(rulebook: Rulebook) -> _Memo:
    """The memo of this rulebook, forgotten with it."""
    # By identity (a rulebook does not hash: it holds mappings); the weak reference both
    # frees the memo with the rulebook and tells a reused id from the rulebook it was.
    key = id(rulebook)
    found = _memos.get(key)
    if found is not None and found[0]() is rulebook:
        return found[1]
    with _memos_lock:
        found = _memos.get(key)
        if found is not None and found[0]() is rulebook:
            return found[1]
        memo = _Memo(rulebook)

        def forget(ref: weakref.ref[Rulebook]) -> None:
            if _memos.get(key, (None,))[0] is ref:
                _memos.pop(key, None)

        _memos[key] = (weakref.ref(rulebook, forget), memo)
        return memo


def unknown_fields(values: Mapping[str, object]) -> tuple[str, ...]:
    """The fields of a case (in the `case_values` view) that are unknown and could be known."""
    return tuple(
        name
        for name, spec in case_fields().items()
        if spec.kind in ("scalar", "tristate") and values.get(name) == "unknown"
    )


def _rule_flips(memo: _Memo, rule_id: str, values: CaseValues) -> _RuleFlips:
    reads = memo.reads[rule_id]
    key = (rule_id, tuple([values[name] for name in reads]))
    found = memo.known.get(key)
    if found is not None:
        return found
    condition = memo.conditions[rule_id]
    now = holds(condition, values)
    flipped: list[tuple[str, str]] = []
    for name in reads:
        if values[name] != "unknown" or case_fields()[name].kind not in ("scalar", "tristate"):
            continue
        trial = dict(values)
        for value in case_fields()[name].values:
            if value == "unknown":
                continue
            trial[name] = value
            if holds(condition, trial) != now:
                flipped.append((name, value))
    result = tuple(flipped)
    if len(memo.known) < _MEMO_SIZE:
        memo.known[key] = result
    return result


def flips(rulebook: Rulebook, values: CaseValues, fired: frozenset[str]) -> tuple[Flip, ...]:
    """For each unknown field of the case and each value that would keep it valid, the rules
    that value would add and remove; only the values that change something, in field order
    and then value order."""
    unknown = unknown_fields(values)
    if not unknown:
        return ()
    memo = _memo_of(rulebook)
    # Only a rule that reads an unknown field can flip when that field becomes known.
    candidates = {rule_id for name in unknown for rule_id in memo.readers[name]}
    changes: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for rule_id in sorted(candidates, key=memo.position.__getitem__):
        for setting in _rule_flips(memo, rule_id, values):
            adds, removes = changes.setdefault(setting, ([], []))
            (removes if rule_id in fired else adds).append(rule_id)
    result: list[Flip] = []
    for setting in sorted(changes, key=memo.setting_order.__getitem__):
        name, value = setting
        # A value the rest of the case rules out (stage localized beside liver metastases)
        # is no possible answer: it is left out.
        if incompatibilities({**values, name: value}):
            continue
        adds, removes = changes[setting]
        result.append((name, value, tuple(sorted(adds)), tuple(sorted(removes))))
    return tuple(result)
