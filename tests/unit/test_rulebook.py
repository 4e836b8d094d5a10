"""Loading the rulebook: all or nothing, every problem named by file, rule id and reason."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from netaid import Kind, RulebookError, load_rulebook
from netaid.rulebook import rule_file_schema
from tests.conftest import MINI_RULES

GOOD_RULE = """
  - id: {id}
    kind: context
    title: A title
    text: Some text.
    {extra}
    citations:
      - source: macmillan
        section: Treatment
        quote: The main treatment is surgery to remove the tumour.
"""


def _book(tmp_path: Path, body: str, name: str = "rules.yaml") -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    shutil.copy(MINI_RULES / "sources.yaml", folder / "sources.yaml")
    (folder / name).write_text(textwrap.dedent(body))
    return folder


def _rule(extra: str = "", rule_id: str = "r.one") -> str:
    return "rules:" + GOOD_RULE.format(id=rule_id, extra=extra)


def _only_problem(folder: Path) -> str:
    with pytest.raises(RulebookError) as info:
        load_rulebook(folder)
    assert len(info.value.problems) == 1, info.value
    return str(info.value.problems[0])


def test_the_mini_rulebook_loads_completely(mini_rulebook) -> None:  # type: ignore[no-untyped-def]
    assert len(mini_rulebook) == 8
    assert {r.kind for r in mini_rulebook} == set(Kind) - {Kind.SUPPORT, Kind.TEST}
    assert mini_rulebook.version == "0.1.0"
    assert len(mini_rulebook.fingerprint) == 12


def test_a_good_rule_loads(tmp_path: Path) -> None:
    book = load_rulebook(_book(tmp_path, _rule()))
    assert [r.id for r in book] == ["r.one"]


def test_fingerprint_changes_with_the_rules(tmp_path: Path) -> None:
    first = load_rulebook(_book(tmp_path, _rule())).fingerprint
    second = load_rulebook(_book(tmp_path, _rule(rule_id="r.two"))).fingerprint
    assert first != second


@pytest.mark.parametrize(
    ("extra", "location", "message"),
    [
        ("when: {equals: {sight: lung}}", "when.equals", "unknown case field 'sight'"),
        ("when: {equals: {site: brain}}", "when.equals.site", "'brain' is not a value of 'site'"),
        ("when: {contains: {site: lung}}", "when.contains.site", "contains does not apply"),
        ("when: {equals: {metastases: liver}}", "when.equals.metastases", "does not apply"),
        ("when: {is_known: syndromes}", "when.is_known", "is_known does not apply"),
        ("when: {one_of: {grade: [G1]}}", "when.one_of.grade", "at least two values"),
        ("when: {one_of: {grade: [G1, G1]}}", "when.one_of.grade", "lists a value twice"),
        ("when: {equals: {grade: G1, stage: localized}}", "when.equals", "exactly one"),
        (
            "when: {all: [{equals: {site: lung}}, {equals: {site: colon}}]}",
            "when",
            "can never be true",
        ),
        # Valid field values, but only for an invalid case: localized disease has no liver spread.
        (
            "when: {all: [{equals: {stage: localized}}, {contains: {metastases: liver}}]}",
            "when",
            "can never be true",
        ),
        (
            "when: {all: [{is_known: grade}, {equals: {grade: unknown}}]}",
            "when",
            "can never be true",
        ),
        ("when: {in: {site: [lung]}}", "when", "single key"),
        ("when: {equals: {site: lung}, all: []}", "when", "single key"),
        ("when: {all: []}", "when.all", "at least 1"),
        ("when: {equals: {symptomatic: maybe}}", "when.equals.symptomatic", "not a value"),
    ],
)
def test_condition_problems_are_located(
    tmp_path: Path, extra: str, location: str, message: str
) -> None:
    problem = _only_problem(_book(tmp_path, _rule(extra)))
    assert problem.startswith("rules.yaml: rule 'r.one': ")
    assert location in problem
    assert message in problem


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_rule().replace("source: macmillan", "source: wikipedia"), "unknown source 'wikipedia'"),
        (
            _rule().replace(
                "quote: The main treatment is surgery to remove the tumour.", "quote: '  '"
            ),
            "must not be empty",
        ),
        (
            _rule().replace("quote: The main treatment", "quote: " + "word " * 30 + "The"),
            "at most 25",
        ),
        (
            "rules:\n  - id: r.one\n    kind: context\n    title: t\n    text: x\n"
            "    citations: []\n",
            "at least 1 item",
        ),
        (
            "rules:\n  - id: r.one\n    kind: context\n    title: t\n    text: x\n",
            "citations: Field required",
        ),
        (_rule("category: surgery"), "only treatments have a category"),
        (_rule().replace("kind: context", "kind: treatment"), "a treatment needs a category"),
        (_rule().replace("kind: context", "kind: advice"), "kind: Input should be"),
        (_rule("colour: red"), "Extra inputs are not permitted"),
        (_rule("contested: true"), "at least two different sources"),
        (
            _rule().replace("Treatment\n", "Treatment\n        says: It agrees.\n"),
            "`says` belongs to contested rules only",
        ),
        (_rule("excludes: [r.nothing]"), "excludes unknown rule 'r.nothing'"),
        (_rule("excludes: [r.one]"), "cannot exclude itself"),
        (_rule("urgency: high"), "urgency: Input should be"),
        (_rule().replace("id: r.one", "id: 'Bad Id'"), "String should match pattern"),
        (_rule("examples: [{case: {site: brain}}]"), "example case is not valid"),
        (
            _rule("examples: [{case: {site: lung}, produces: [r.nothing]}]"),
            "example names unknown rule 'r.nothing'",
        ),
    ],
)
def test_rule_problems_are_named(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(RulebookError) as info:
        load_rulebook(_book(tmp_path, body))
    problems = [str(p) for p in info.value.problems]
    assert all(p.startswith("rules.yaml: rule ") for p in problems)
    assert any(message in p for p in problems), problems


def test_duplicate_ids_across_files_name_both_files(tmp_path: Path) -> None:
    folder = _book(tmp_path, _rule(), "a.yaml")
    (folder / "b.yaml").write_text(_rule())
    problem = _only_problem(folder)
    assert problem == "b.yaml: rule 'r.one': duplicate rule id (also in a.yaml)"


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    body = _rule().replace("title: A title", "title: A title\n    title: Another")
    assert "found duplicate key 'title'" in _only_problem(_book(tmp_path, body))


def test_broken_yaml_names_the_file(tmp_path: Path) -> None:
    assert _only_problem(_book(tmp_path, "rules: [\n")).startswith("rules.yaml: cannot read")


def test_a_file_that_is_not_a_mapping_names_the_file(tmp_path: Path) -> None:
    assert "rules.yaml" in _only_problem(_book(tmp_path, "- just a list\n"))


def test_one_bad_file_means_nothing_loads(tmp_path: Path) -> None:
    folder = _book(tmp_path, _rule(), "good.yaml")
    (folder / "bad.yaml").write_text(_rule("when: {equals: {site: brain}}", rule_id="r.two"))
    with pytest.raises(RulebookError) as info:
        load_rulebook(folder)
    assert [p.file for p in info.value.problems] == ["bad.yaml"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    body = (
        "rules:"
        + GOOD_RULE.format(id="r.a", extra="when: {equals: {site: x}}")
        + GOOD_RULE.format(id="r.b", extra="when: {equals: {grade: x}}")
    )
    with pytest.raises(RulebookError) as info:
        load_rulebook(_book(tmp_path, body))
    assert [p.rule_id for p in info.value.problems] == ["r.a", "r.b"]


def test_missing_sources_file(tmp_path: Path) -> None:
    folder = _book(tmp_path, _rule())
    (folder / "sources.yaml").unlink()
    assert "sources.yaml: missing" in _only_problem(folder)


def test_duplicate_source_ids(tmp_path: Path) -> None:
    folder = _book(tmp_path, _rule())
    text = (folder / "sources.yaml").read_text()
    (folder / "sources.yaml").write_text(text.replace("id: lahey", "id: macmillan"))
    assert "source id 'macmillan' registered twice" in _only_problem(folder)


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    assert "rulebook folder not found" in _only_problem(tmp_path / "nowhere")
    folder = _book(tmp_path, _rule())
    (folder / "rules.yaml").unlink()
    assert "no rule files" in _only_problem(folder)


def test_rule_text_is_normalised_and_conditions_compiled(mini_rulebook) -> None:  # type: ignore[no-untyped-def]
    rule = mini_rulebook.rule("treatment.watchful_waiting")
    assert "  " not in rule.text
    assert rule.category == "watchful_waiting"


def test_rule_file_schema_describes_conditions() -> None:
    schema = rule_file_schema()
    assert schema["title"] == "netaid rule file"
    assert "RuleModel" in schema["$defs"]
    assert {"EqualsModel", "OneOfModel", "NotModel"} <= set(schema["$defs"])
