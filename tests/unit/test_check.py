"""netaid.check: the class space is sound and complete, and every analysis finds what it must.

Small rulebooks written here make each finding happen on purpose; brute force over the
fields they read is the reference.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from netaid import PythonEngine, Rulebook, load_rulebook
from netaid._conditions import All, Leaf, holds, leaves
from netaid.case import Case, Incompatibility, case_fields, case_values, incompatibilities
from netaid.check import (
    Atom,
    CheckError,
    CheckReport,
    ClassSpace,
    case_from_values,
    check_rulebook,
    parse_condition,
    view_of,
)
from netaid.cli import main
from tests.conftest import ENGINES, MINI_RULES, needs_durable, random_cases

_CITATION = """\
citations:
  - source: macmillan
    section: Treatment for neuroendocrine tumours (NETs)
    quote: The main treatment is surgery to remove the tumour.
"""


def write_rulebook(folder: Path, rules: str) -> Path:
    """A rulebook folder: mini's sources and these rules."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(MINI_RULES / "sources.yaml", folder / "sources.yaml")
    (folder / "rules.yaml").write_text(f"rules:\n{rules}")
    return folder


def rule(rule_id: str, when: str, kind: str = "context", extra: str = "") -> str:
    """One rule in YAML; every rule cites the same real passage."""
    lines = [f"id: {rule_id}", f"kind: {kind}"]
    if kind == "treatment":
        lines.append("category: surgery")
    lines += ["title: A title", "text: A text."]
    if when:
        lines.append(f"when: {when}")
    body = "\n".join(lines) + "\n" + _CITATION + textwrap.dedent(extra).strip("\n")
    return "  - " + textwrap.indent(body.rstrip("\n"), "    ")[4:] + "\n"


def domain(name: str) -> list[Any]:
    """Every value of a field in the `case_values` view (every subset, for sets)."""
    spec = case_fields()[name]
    if spec.kind == "set":
        return [
            frozenset(c)
            for size in range(len(spec.values) + 1)
            for c in itertools.combinations(spec.values, size)
        ]
    return list(spec.values)


DEFAULTS = view_of({})


def brute_force(names: list[str]) -> Iterator[dict[str, Any]]:
    """Every valid case varying only these fields (the others at their defaults)."""
    for combo in itertools.product(*(domain(n) for n in names)):
        values = {**DEFAULTS, **dict(zip(names, combo, strict=True))}
        if not incompatibilities(values):
            yield values


def fired_by(rulebook: Rulebook, values: Mapping[str, Any]) -> set[str]:
    return {r.id for r in rulebook.rules if holds(r.condition, values)}


# --- the assumptions the class space rests on, proven over the whole case model ---


class _Recorder:
    """A case view that notes every field read from it (`incompatibilities` uses `.get`)."""

    __slots__ = ("data", "seen")

    def __init__(self, data: dict[str, Any], seen: set[str]) -> None:
        self.data, self.seen = data, seen

    def __getitem__(self, key: str) -> Any:
        self.seen.add(key)
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return self.data.get(key, default)


def _atoms(name: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, frozenset):
        return [(name, member) for member in value]
    return [(name, value)]


def _view(atoms: list[tuple[str, str]]) -> dict[str, Any]:
    values = dict(DEFAULTS)
    for name, value in atoms:
        is_set = case_fields()[name].kind == "set"
        values[name] = values[name] | {value} if is_set else value
    return values


def _prove_pairwise(read: set[str], seen: set[str]) -> int:
    """Check claims 2 and 3 (see below) over every combination of the fields in `read`,
    noting in `seen` every field `incompatibilities` reads meanwhile. Returns the count."""
    names = sorted(read, key=lambda n: -len(domain(n)))  # big domains outside: fewer calls
    domains = [domain(n) for n in names]
    every = sorted(
        {a for n, d in zip(names, domains, strict=True) for v in d for a in _atoms(n, v)}
    )
    for atom in every:
        assert not incompatibilities(_view([atom])), f"{atom} is invalid on its own"
    bad = {
        frozenset((a, b))
        for a, b in itertools.combinations(every, 2)
        if (a[0] != b[0] or case_fields()[a[0]].kind == "set") and incompatibilities(_view([a, b]))
    }
    for pair in bad:
        for name, value in pair:
            assert value != DEFAULTS[name], f"a default is part of the incompatible pair {pair}"

    def clash(xs: list[tuple[str, str]], ys: list[tuple[str, str]]) -> bool:
        return any(frozenset((x, y)) in bad for x in xs for y in ys)

    within = [
        {v: clash(_atoms(n, v), _atoms(n, v)) for v in d}
        for n, d in zip(names, domains, strict=True)
    ]
    across = [
        [
            {
                (vi, vj): clash(_atoms(names[i], vi), _atoms(names[j], vj))
                for vi in domains[i]
                for vj in domains[j]
            }
            for i in range(j)
        ]
        for j in range(len(names))
    ]
    data = dict(DEFAULTS)
    recorder = _Recorder(data, seen)
    last = len(names) - 1
    checked = 0

    # Depth-first over the product, carrying "some pair already clashes" down the prefix.
    def walk(k: int, prefix: tuple[Any, ...], invalid: bool) -> None:
        nonlocal checked
        for v in domains[k]:
            data[names[k]] = v
            clashes = (
                invalid or within[k][v] or any(t[(prefix[i], v)] for i, t in enumerate(across[k]))
            )
            if k == last:
                actual = bool(incompatibilities(recorder))  # type: ignore[arg-type]
                assert actual == clashes, dict(data)
                checked += 1
            else:
                walk(k + 1, (*prefix, v), clashes)

    walk(0, (), False)
    return checked


def test_validity_is_pairwise_and_defaults_are_always_allowed() -> None:
    """What netaid.check assumes of `incompatibilities`, over every combination it can see.

    1. It reads a small set of fields: found by reading every combination of the fields read
       so far until no new field is read. A field it never reads cannot change its answer.
    2. Over every combination of those fields (442,368 today), a case is invalid exactly when
       two of its atoms (a scalar value, or one member of a set) are incompatible on their own.
    3. No atom is invalid alone and no incompatible pair involves a default value, so
       resetting fields to their defaults (what a class does with the atoms it leaves free)
       never makes a valid case invalid.
    """
    seen: set[str] = set()
    incompatibilities(_Recorder(dict(DEFAULTS), seen))  # type: ignore[arg-type]
    read: set[str] = set()
    checked = 0
    while seen - read:
        read |= seen
        checked = _prove_pairwise(read, seen)
    assert {"stage", "metastases", "functional_status", "syndromes"} <= read
    assert checked == len(list(itertools.product(*(domain(n) for n in read))))
    # The proof must be able to fail: a pair it knows the model rejects.
    assert incompatibilities(_view([("stage", "localized"), ("metastases", "liver")]))


# --- the class space ---


def test_mini_space_is_exact_on_random_cases(mini_rulebook: Rulebook) -> None:
    space = ClassSpace.build(mini_rulebook)
    reference = PythonEngine(mini_rulebook)
    for case in random_cases(3000, seed=5):
        assert space.fired(case_values(case)) == reference.fired_ids(case)


def test_space_is_exact_over_a_brute_forced_rulebook(tmp_path: Path) -> None:
    # Rules over the two pairs of fields the case model couples, so that validity matters.
    folder = write_rulebook(
        tmp_path,
        rule("a", "{contains: {metastases: liver}}")
        + rule("b", "{all: [{equals: {stage: regional}}, {not: {contains: {syndromes: vipoma}}}]}")
        + rule("c", "{any: [{equals: {functional_status: functioning}}, {is_known: stage}]}")
        + rule(
            "d",
            "{all: [{contains: {syndromes: insulinoma}},"
            " {one_of: {stage: [localized, metastatic]}}]}",
        )
        + rule("e", "{not: {contains: {metastases: lymph_nodes}}}"),
    )
    rulebook = load_rulebook(folder)
    space = ClassSpace.build(rulebook)
    classes = set()
    count = 0
    for values in brute_force(["stage", "metastases", "functional_status", "syndromes"]):
        assert space.fired(values) == fired_by(rulebook, values), values
        classes.add(frozenset(space.locate(values).items()))
        count += 1
    assert count > 10_000
    # Every valid case is in exactly one class, and no class is empty.
    assert len(classes) == space.class_count < count
    for assignment, fired in space.covering():
        assert fired == fired_by(rulebook, space.values(assignment))


def test_covering_cases_are_valid_and_use_every_leaf(rulebook: Rulebook) -> None:
    space = ClassSpace.build(rulebook)
    covering = space.covering()
    reference = PythonEngine(rulebook)
    for assignment, fired in covering:
        values = space.values(assignment)
        assert not incompatibilities(values)
        case = case_from_values(values)
        assert case_values(case) == values
        assert reference.fired_ids(case) == fired
    assert len(covering) <= space.leaf_count <= space.class_count


def test_values_are_grouped_by_what_rules_and_validity_tell_apart(tmp_path: Path) -> None:
    folder = write_rulebook(
        tmp_path,
        rule(
            "a",
            "{all: [{one_of: {stage: [regional, metastatic]}}, {contains: {metastases: liver}}]}",
        ),
    )
    space = ClassSpace.build(load_rulebook(folder))
    stage = space.atoms.index(Atom("stage"))
    # The rule cannot tell regional from metastatic, but liver metastases can.
    assert space.blocks[stage] == (("unknown",), ("localized",), ("regional",), ("metastatic",))


def test_values_no_rule_names_share_one_block(tmp_path: Path) -> None:
    folder = write_rulebook(tmp_path, rule("a", "{one_of: {site: [pancreas, lung]}}"))
    space = ClassSpace.build(load_rulebook(folder))
    blocks = space.blocks[space.atoms.index(Atom("site"))]
    assert blocks[1] == ("pancreas", "lung")
    assert blocks[0][0] == "unknown"
    assert len(blocks) == 2
    assert len(blocks[0]) == len(case_fields()["site"].values) - 2


def test_find_and_describe(mini_rulebook: Rulebook) -> None:
    probe = parse_condition({"equals": {"stage": "localized"}})
    space = ClassSpace.build(mini_rulebook, probes={"localized": probe})
    assert space.find(["treatment.surgery.localized"], ["localized"]) is None
    found = space.find(["treatment.liver.embolisation", "warning.carcinoid.er"])
    assert found is not None
    assert "liver" in case_values(space.case(found))["metastases"]
    assert "metastases include liver" in space.describe(found)
    with pytest.raises(ValueError, match="id of a rule"):
        ClassSpace.build(mini_rulebook, probes={"context.everyone": probe})


def test_max_together_is_the_brute_force_maximum(mini_rulebook: Rulebook) -> None:
    space = ClassSpace.build(mini_rulebook)
    ids = {r.id for r in mini_rulebook.rules if r.kind.value != "context"}
    most, assignment = space.max_together(ids)
    names = sorted({leaf.field for r in mini_rulebook.rules for leaf in leaves(r.condition)})
    scalars = [n for n in names if case_fields()[n].kind != "set"]
    best = 0
    for values in brute_force(scalars):
        for metastases in domain("metastases"):
            for syndromes in (frozenset(), frozenset({"carcinoid_syndrome", "vipoma"})):
                full = {**values, "metastases": metastases, "syndromes": syndromes}
                if not incompatibilities(full):
                    best = max(best, len(fired_by(mini_rulebook, full) & ids))
    assert most == best
    assert len(fired_by(mini_rulebook, space.values(assignment)) & ids) == most


def test_case_from_values_inverts_case_values() -> None:
    for case in random_cases(500, seed=9):
        assert case_from_values(case_values(case)) == case


def test_a_value_invalid_on_its_own_stops_the_check(
    monkeypatch: pytest.MonkeyPatch, mini_rulebook: Rulebook
) -> None:
    # Blocks cannot represent such a value: the check must say so rather than mis-count.
    import netaid.check as check_module

    def stricter(values: Mapping[str, Any]) -> list[Incompatibility]:
        found = list(incompatibilities(values))
        if values.get("grade") == "G3":
            found.append(Incompatibility(("grade",), "made up"))
        return found

    monkeypatch.setattr(check_module, "incompatibilities", stricter)
    with pytest.raises(CheckError, match="grade=G3 is invalid on its own"):
        check_rulebook(mini_rulebook)


# --- the analyses ---


def test_mini_rulebook_passes(mini_rulebook: Rulebook) -> None:
    report = check_rulebook(mini_rulebook)
    assert not report.failed
    assert report.classes == ClassSpace.build(mini_rulebook).class_count
    assert report.dead == ()
    assert report.conflicts == ()
    assert report.redundant == ()
    assert report.limit_problems == ()
    assert report.engine_problems == ()
    assert report.engines == ENGINES
    if "durable" in ENGINES:
        # Every rule but surgery for localized disease and one of watchful waiting (never for
        # a poorly differentiated tumour) and the poorly-differentiated flag: 6 rules, of which
        # the two without a condition are one durable-rules rule.
        assert report.max_firing == 5
        (load,) = report.rulesets
        assert (load.rules, load.durable_rules) == (8, 7)
    # grade G1, against unknown, changes the grade question and the poorly-differentiated flag.
    assert report.coverage["grade"]["G1"] == ("question.grade_known", "note.flag.poorly_low_grade")
    assert report.coverage["grade"]["unknown"] == ()
    assert report.coverage["site"]["pancreas"] == ()
    assert report.coverage["syndromes"]["carcinoid_syndrome"] == ("warning.carcinoid.er",)


def test_dead_rules_are_reported(mini_rulebook: Rulebook) -> None:
    # The loader refuses such a rule, so it is built by hand: the check must not rely on that.
    impossible = All(
        (Leaf("stage", "equals", ("localized",)), Leaf("metastases", "contains", ("liver",)))
    )
    dead = dataclasses.replace(mini_rulebook.rules[1], id="treatment.never", condition=impossible)
    rulebook = dataclasses.replace(mini_rulebook, rules=(*mini_rulebook.rules, dead))
    report = check_rulebook(rulebook)
    assert report.dead == ("treatment.never",)
    assert report.failed


def test_redundant_rules_are_reported(tmp_path: Path) -> None:
    folder = write_rulebook(
        tmp_path,
        rule("wide", "{one_of: {stage: [regional, metastatic]}}", kind="treatment")
        + rule("narrow", "{equals: {stage: metastatic}}", kind="treatment")
        + rule("twin", "{one_of: {stage: [metastatic, regional]}}", kind="treatment")
        + rule("other_kind", "{equals: {stage: metastatic}}", kind="question"),
    )
    report = check_rulebook(load_rulebook(folder))
    # narrow is covered by wide; of two identical twins only the later one is reported.
    assert {(r.rule, r.covered_by) for r in report.redundant} == {
        ("narrow", "wide"),
        ("twin", "wide"),
    }
    assert not report.failed  # worth knowing, not an error


def test_conflicts_are_reported_with_a_case(tmp_path: Path) -> None:
    folder = write_rulebook(
        tmp_path,
        rule("a", "{equals: {stage: metastatic}}", extra="excludes: [b, c]")
        + rule("b", "{contains: {metastases: liver}}")
        + rule("c", "{equals: {stage: localized}}", extra="excludes: [a]"),
    )
    report = check_rulebook(load_rulebook(folder))
    assert [(c.rule, c.excludes) for c in report.conflicts] == [("a", "b")]
    case = Case.model_validate(report.conflicts[0].case)
    assert case.stage == "metastatic"
    assert "liver" in case_values(case)["metastases"]
    assert report.failed


def test_gaps_are_counted_and_shown(tmp_path: Path) -> None:
    folder = write_rulebook(
        tmp_path,
        rule("t", "{equals: {stage: metastatic}}", kind="treatment")
        + rule("n", "{equals: {stage: unknown}}", kind="note")
        + rule("q", "{is_known: grade}", kind="question"),
    )
    rulebook = load_rulebook(folder)
    report = check_rulebook(rulebook)
    # No rule tells localized from regional: one gap, split in two by the grade question.
    assert report.incomplete.classes == 2
    assert ClassSpace.build(rulebook).count_without(["t", "n"]) == 2
    assert report.incomplete.examples == ("stage: localized | regional",)
    assert report.incomplete.case is not None
    assert fired_by(rulebook, case_values(Case.model_validate(report.incomplete.case))) <= {"q"}
    assert not report.failed


def test_an_unconditional_treatment_closes_every_gap(tmp_path: Path) -> None:
    folder = write_rulebook(
        tmp_path,
        rule("t", "{equals: {stage: metastatic}}", kind="treatment")
        + rule("always", "", kind="treatment"),
    )
    report = check_rulebook(load_rulebook(folder))
    assert report.incomplete.classes == 0
    assert report.incomplete.case is None
    assert report.unconditional == ("always",)
    assert report.incomplete_ignoring_unconditional.classes == 1  # every stage but metastatic


def test_failing_examples_are_reported(tmp_path: Path) -> None:
    folder = write_rulebook(
        tmp_path,
        rule(
            "a",
            "{equals: {stage: metastatic}}",
            extra="""
            examples:
              - case: {site: lung, stage: metastatic}
                produces: [a]
                not_produces: [b]
              - case: {site: lung, stage: localized}
                produces: [a]
                not_produces: [b]
            """,
        )
        + rule("b", "{equals: {stage: localized}}"),
    )
    report = check_rulebook(load_rulebook(folder))
    assert [e.passed for e in report.examples] == [True, False]
    failing = report.failing_examples[0]
    assert (failing.rule, failing.index) == ("a", 1)
    assert failing.missing == ("a",)
    assert failing.unexpected == ("b",)
    assert report.failed


@needs_durable
def test_a_breached_limit_fails(mini_rulebook: Rulebook) -> None:
    report = check_rulebook(mini_rulebook, match_limit=3)
    assert report.failed
    assert "5 durable-rules rules fire together" in report.limit_problems[0]
    stack_need = report.rulesets[0].stack_need
    assert f"fill {stack_need} entries of the match stack" in report.limit_problems[1]


@pytest.fixture(scope="module")
def shipped_report(rulebook: Rulebook) -> CheckReport:
    """The shipped rulebook's check, made once: it examines about a billion classes."""
    return check_rulebook(rulebook)


@needs_durable
def test_the_reported_load_is_that_of_the_rulesets_the_engine_builds(
    rulebook: Rulebook, shipped_report: CheckReport
) -> None:
    from netaid.engines.durable import DurableEngine, match_stack_need

    report = shipped_report
    with DurableEngine(rulebook) as engine:
        layout = engine.layout
    assert len(report.rulesets) == len(layout)
    for load, shared in zip(report.rulesets, layout, strict=True):
        assert load.rules == sum(len(ids) for ids in shared)
        assert load.durable_rules == len(shared)
        assert load.stack_need == match_stack_need(rulebook.rule(ids[0]) for ids in shared)
        assert load.max_firing <= load.durable_rules


@needs_durable
def test_a_rule_too_big_for_the_engine_is_a_finding(tmp_path: Path) -> None:
    sites = "[stomach, duodenum, ampulla, small_bowel, appendix, colon, rectum, pancreas]"
    folder = write_rulebook(
        tmp_path,
        rule(
            "huge",
            f"{{all: [{{one_of: {{site: {sites}}}}}, {{one_of: {{grade: [G1, G2, G3]}}}},"
            " {one_of: {stage: [localized, regional, metastatic]}}]}",
        ),
    )
    report = check_rulebook(load_rulebook(folder))
    assert report.failed
    assert "match paths" in report.limit_problems[0]
    assert report.engine_problems == ()  # the plain-Python engine stood in


def test_check_runs_the_chosen_engine_only(mini_rulebook: Rulebook) -> None:
    report = check_rulebook(mini_rulebook, engine="python")
    assert report.engines == ("python",)
    assert report.rulesets == ()  # the Python engine has no rulesets to load
    assert not report.failed


def test_an_engine_that_disagrees_is_a_finding(mini_rulebook: Rulebook) -> None:
    class Forgetful(PythonEngine):
        name = "forgetful"

        def fired_ids(self, case: Case) -> frozenset[str]:
            return super().fired_ids(case) - {"warning.carcinoid.er"}

    report = check_rulebook(mini_rulebook, engine=Forgetful)
    assert report.failed
    assert report.engines == ("forgetful",)
    assert "the engine disagrees on ['warning.carcinoid.er']" in report.engine_problems[0]


def test_shipped_rulebook_passes(shipped_report: CheckReport) -> None:
    report = shipped_report
    assert not report.failed, json.dumps(report.as_dict(), indent=1)[:3000]
    assert report.classes > 1_000_000  # sets and scalars multiply: the point of classes


# --- the command ---


def test_cli_text_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--rules", str(MINI_RULES)]) == 0
    out = capsys.readouterr().out
    assert "class space: 216 classes" in out
    assert "netaid check: ok (" in out


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--rules", str(MINI_RULES), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is True
    assert data["classes"] == 216
    assert data["engine"]["match_limit"] == 64
    assert data["dead"] == []
    assert data["coverage"]["grade"]["G3"] == ["treatment.watchful_waiting", "question.grade_known"]


def test_cli_exit_1_on_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_rulebook(
        tmp_path,
        rule("a", "{equals: {stage: metastatic}}", extra="excludes: [b]")
        + rule("b", "{is_known: stage}"),
    )
    assert main(["check", "--rules", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "a and b" in out
    assert "FAILED: 1 conflicts" in out


def test_cli_exit_2_on_a_bad_rulebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--rules", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "rulebook folder not found" in err
    assert "Traceback" not in err
    broken = write_rulebook(tmp_path / "broken", rule("a", "{equals: {stage: nowhere}}"))
    assert main(["check", "--rules", str(broken), "--format", "json"]) == 2
    err = capsys.readouterr().err
    assert "'nowhere' is not a value of 'stage'" in err
    assert "Traceback" not in err


def test_coherence_relations_are_counted_with_a_case(tmp_path: Path) -> None:
    folder = write_rulebook(
        tmp_path,
        rule("t", "", kind="treatment")
        + rule(
            "note.coherence.syndrome_without_symptoms",
            "{all: [{contains: {syndromes: insulinoma}}, {equals: {symptomatic: false}}]}",
            kind="note",
        )
        + rule("note.gap.other", "{equals: {stage: unknown}}", kind="note"),
    )
    rulebook = load_rulebook(folder)
    report = check_rulebook(rulebook)
    [relation] = report.coherence
    assert relation.rule == "note.coherence.syndrome_without_symptoms"
    space = ClassSpace.build(rulebook)
    flagged = space.class_count - space.count_without([relation.rule])
    assert relation.classes == flagged > 0
    assert report.coherent_classes == space.class_count - flagged
    assert relation.case is not None
    assert "note.coherence.syndrome_without_symptoms" in fired_by(
        rulebook, case_values(Case.model_validate(relation.case))
    )
    assert report.as_dict()["coherence"]["relations"][0]["rule"] == relation.rule
    assert not report.failed


def test_the_shipped_coherence_relations_each_flag_some_classes(
    rulebook: Rulebook, shipped_report: CheckReport
) -> None:
    report = shipped_report
    ids = {c.rule for c in report.coherence}
    assert {r.id for r in rulebook if r.id.startswith(("note.coherence.", "note.flag."))} == ids
    assert all(c.classes > 0 and c.case is not None for c in report.coherence)
    assert 0 < report.coherent_classes < report.classes
