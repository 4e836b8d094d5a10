"""The satisfiability search that proves every rule's condition can be true (`witness`):
right against brute force, bounded on conditions that defeated trying every combination."""

from __future__ import annotations

import sys
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

import netaid._conditions
from netaid import RulebookError, load_rulebook
from netaid._conditions import (
    ConditionError,
    ConditionModel,
    compile_condition,
    distinguishing_values,
    holds,
    witness,
)
from netaid.case import case_fields, incompatibilities
from tests.conftest import MINI_RULES

FIELDS = case_fields()
SETS = {name: spec.values for name, spec in FIELDS.items() if spec.kind == "set"}
DEFAULTS: dict[str, Any] = {
    name: frozenset() if spec.kind == "set" else "false" if spec.kind == "flag" else "unknown"
    for name, spec in FIELDS.items()
}


def condition(when: dict[str, Any]) -> netaid._conditions.Condition:
    return compile_condition(TypeAdapter(ConditionModel).validate_python(when))


def brute_force(cond: netaid._conditions.Condition) -> bool:
    """The search witness replaced: every combination of the distinguishing values."""
    options = distinguishing_values((cond,))
    for combination in product(*options.values()):
        values = {**DEFAULTS, **dict(zip(options, combination, strict=True))}
        if holds(cond, values) and not incompatibilities(values):
            return True
    return False


# A small language of conditions over the fields the case model's rules couple.
_leaf = st.one_of(
    st.sampled_from(["localized", "regional", "metastatic"]).map(
        lambda v: {"equals": {"stage": v}}
    ),
    st.sampled_from(["liver", "lymph_nodes", "bone"]).map(
        lambda m: {"contains": {"metastases": m}}
    ),
    st.sampled_from(["insulinoma", "vipoma"]).map(lambda m: {"contains": {"syndromes": m}}),
    st.just({"equals": {"functional_status": "non_functioning"}}),
    st.just({"is_known": "stage"}),
    st.just({"one_of": {"differentiation": ["well", "unknown"]}}),
    st.just({"is_known": "cell_type"}),
)
_conditions = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).map(lambda c: {"all": c}),
        st.lists(inner, min_size=1, max_size=4).map(lambda c: {"any": c}),
        inner.map(lambda c: {"not": c}),
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(_conditions)
def test_the_search_agrees_with_brute_force(when: dict[str, Any]) -> None:
    # A guard: the search must find exactly what trying every combination found.
    cond = condition(when)
    found = witness(cond)
    assert (found is not None) == brute_force(cond)
    if found is not None:
        assert holds(cond, found)
        assert not incompatibilities(found)


def test_what_the_search_relies_on_holds_of_the_case_model() -> None:
    # A guard: a field at its default is in no incompatibility, and adding a set member never
    # mends one, over every pair of fields, each with every value (sets: every one-member set).
    def values_of(name: str) -> list[Any]:
        spec = FIELDS[name]
        if spec.kind == "set":
            return [frozenset(), *(frozenset({m}) for m in spec.values), frozenset(spec.values)]
        return list(spec.values)

    for a, b in product(FIELDS, FIELDS):
        for va, vb in product(values_of(a), values_of(b)):
            values = {**DEFAULTS, a: va, b: vb}
            for problem in incompatibilities(values):
                assert all(values[f] != DEFAULTS[f] for f in problem.fields), (problem, values)
                if isinstance(va, frozenset):
                    assert incompatibilities({**values, a: frozenset(FIELDS[a].values)})


def test_a_condition_naming_every_member_and_site_is_quick_to_refute() -> None:
    # 2^17 subsets times the sites made trying every combination take 40 s. Counted, not
    # timed: the Python calls the search makes (it was millions).
    parts: list[dict[str, Any]] = [
        {"contains": {name: member}} for name, members in SETS.items() for member in members
    ]
    parts += [{"equals": {"site": site}} for site in FIELDS["site"].values]
    parts.append({"one_of": {"grade": ["G1", "G2"]}})  # another field: hours before
    cond = condition({"all": parts})
    calls = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1
            if calls > 200_000:
                raise RuntimeError("the search makes more than 200,000 calls")

    sys.setprofile(profile)
    try:
        found = witness(cond)
    finally:
        sys.setprofile(None)
    assert found is None
    assert calls < 200_000


def test_an_irrelevant_branch_is_not_searched() -> None:
    # Once `any` is true, the members it reads do not matter: only site is left to try.
    members = [{"contains": {n: m}} for n, ms in SETS.items() for m in ms]
    cond = condition(
        {"all": [{"any": members}, {"equals": {"site": "lung"}}, {"equals": {"site": "colon"}}]}
    )
    assert witness(cond, budget=200) is None


def _rule_file(tmp_path: Path, when: dict[str, Any]) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "sources.yaml").write_text((MINI_RULES / "sources.yaml").read_text("utf-8"))
    rule = {
        "id": "context.hard",
        "kind": "context",
        "title": "Hard",
        "text": "A hard condition.",
        "when": when,
        "citations": [
            {
                "source": "macmillan",
                "section": "Staging and grading of neuroendocrine tumours (NETs)",
                "quote": "Knowing the stage and grade helps your doctors plan the best treatment.",
            }
        ],
    }
    (folder / "rules.yaml").write_text(yaml.safe_dump({"rules": [rule]}))
    return folder


def test_past_its_budget_the_search_is_an_error_naming_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(netaid._conditions, "WITNESS_BUDGET", 5)
    members = [{"contains": {"syndromes": m}} for m in SETS["syndromes"]]
    folder = _rule_file(tmp_path, {"all": [{"not": {"any": members}}, {"is_known": "grade"}]})
    with pytest.raises(RulebookError) as caught:
        load_rulebook(folder)
    message = str(caught.value)
    assert "rules.yaml: rule 'context.hard': when: too complex to prove it can be true" in message
    assert "5 partial cases" in message


def test_the_budget_is_an_argument_too() -> None:
    members = [{"contains": {"syndromes": m}} for m in SETS["syndromes"]]
    cond = condition({"all": [{"not": {"any": members}}, {"is_known": "grade"}]})
    assert witness(cond) is not None
    with pytest.raises(ConditionError, match="too complex"):
        witness(cond, budget=3)
