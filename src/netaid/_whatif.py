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
        self.order = [r.id for r in rulebook.rules if self.reads[r.id]]
        self.known: dict[tuple[str, tuple[object, ...]], _RuleFlips] = {}


_memos: weakref.WeakKeyDictionary[Rulebook, _Memo] = weakref.WeakKeyDictionary()
_memos_lock = threading.Lock()


def _memo_of(rulebook: Rulebook) -> _Memo:
    memo = _memos.get(rulebook)
    if memo is None:
        with _memos_lock:
            memo = _memos.setdefault(rulebook, _Memo(rulebook))
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
    if not unknown_fields(values):
        return ()
    memo = _memo_of(rulebook)
    changes: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for rule_id in memo.order:
        for setting in _rule_flips(memo, rule_id, values):
            adds, removes = changes.setdefault(setting, ([], []))
            (removes if rule_id in fired else adds).append(rule_id)
    result: list[Flip] = []
    for name, spec in case_fields().items():
        for value in spec.values:
            change = changes.get((name, value))
            if change is None:
                continue
            # A value the rest of the case rules out (stage localized beside liver
            # metastases) is no possible answer: it is left out.
            if incompatibilities({**values, name: value}):
                continue
            result.append((name, value, tuple(sorted(change[0])), tuple(sorted(change[1]))))
    return tuple(result)
