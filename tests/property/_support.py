"""What the property tests share: Hypothesis settings, and an evaluator of rule files that
owes nothing to netaid.

The evaluator reads the YAML files itself and follows docs/rule-authoring.md, not netaid's
code: it is the second opinion the engine is compared with (a differential oracle). It is
kept deliberately plain, so that a reader can check it against the documentation at a glance.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings

from netaid import Case

# Profiles: "dev" for a quick local run, "ci" reproducible (the same examples every run),
# "thorough" for a long hunt. Chosen by NETAID_HYPOTHESIS_PROFILE, else "ci" under CI.
settings.register_profile(
    "netaid-dev",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "netaid-ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "netaid-thorough",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = os.environ.get("NETAID_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
#: Apply to each property test: `@PROPERTY` under `@given(...)`. Applied per test rather than
#: loaded globally, so that other folders' Hypothesis tests keep their own settings.
PROPERTY = settings(settings.get_profile(f"netaid-{PROFILE}"))

#: A fixed "today" so that discussions do not change with the calendar.
TODAY = dt.date(2025, 1, 1)


#: The files of a rulebook folder that are not rule files.
NOT_RULES = ("sources.yaml", "terms.yaml")


def raw_terms(folder: Path) -> dict[str, dict[str, Any] | None]:
    """The terms of a rulebook folder, as written: name -> its `when:` block."""
    path = folder / "terms.yaml"
    if not path.is_file():
        return {}
    return {t["name"]: t["when"] for t in yaml.safe_load(path.read_text("utf-8"))["terms"]}


def raw_rules(folder: Path) -> dict[str, dict[str, Any]]:
    """Every rule of a rulebook folder, as written: id -> the rule's mapping, with every
    `{term: NAME}` replaced by the term's `when:` block, as the documentation says."""
    terms = raw_terms(folder)
    rules: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name in NOT_RULES:
            continue
        for rule in yaml.safe_load(path.read_text("utf-8"))["rules"]:
            rules[rule["id"]] = {**rule, "when": expand_terms(rule.get("when"), terms)}
    return rules


def expand_terms(when: Any, terms: dict[str, Any]) -> Any:
    """A `when:` block with every term written out (terms may use terms)."""
    if not isinstance(when, dict):
        return when
    ((op, arg),) = when.items()
    if op == "term":
        return expand_terms(terms[arg], terms)
    if op in ("all", "any"):
        return {op: [expand_terms(c, terms) for c in arg]}
    if op == "not":
        return {op: expand_terms(arg, terms)}
    return when


def case_data(case: Case) -> dict[str, Any]:
    """The case as plain JSON data: sets are lists, unknown yes/no fields are null."""
    return case.model_dump(mode="json")


def _word(value: Any) -> str:
    # The documentation: yes/no fields are written true/false; null means unknown.
    if value is None:
        return "unknown"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def holds(when: dict[str, Any] | None, data: dict[str, Any]) -> bool:
    """Is a `when:` block true of a case? A rule without one applies to every case."""
    if when is None:
        return True
    ((op, arg),) = when.items()
    if op == "all":
        return all(holds(c, data) for c in arg)
    if op == "any":
        return any(holds(c, data) for c in arg)
    if op == "not":
        return not holds(arg, data)
    if op == "is_known":
        return _word(data[arg]) != "unknown"
    ((field, value),) = arg.items()
    if op == "equals":
        return _word(data[field]) == _word(value)
    if op == "one_of":
        return _word(data[field]) in {_word(v) for v in value}
    if op == "contains":
        return value in data[field]
    if op == "contains_any":
        return any(v in data[field] for v in value)
    raise AssertionError(f"not a condition: {when}")


def fields_read(when: dict[str, Any] | None) -> set[str]:
    """The case fields a `when:` block reads."""
    if when is None:
        return set()
    ((op, arg),) = when.items()
    if op in ("all", "any"):
        return set().union(*(fields_read(c) for c in arg))
    if op == "not":
        return fields_read(arg)
    if op == "is_known":
        return {arg}
    return set(arg)


def fired(rules: dict[str, dict[str, Any]], case: Case) -> frozenset[str]:
    data = case_data(case)
    return frozenset(rule_id for rule_id, rule in rules.items() if holds(rule.get("when"), data))
