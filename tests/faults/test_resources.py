"""Resources are bounded: no read blocks or runs forever, no check or engine grows without
limit, no error message echoes without limit."""

from __future__ import annotations

import gc
import json
import os
import random
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import netaid.check
from netaid import Case, discuss_many, load_rulebook
from netaid._conditions import compile_condition, witness
from netaid.case import case_fields
from netaid.cli import main
from netaid.rulebook import Rulebook, RuleFileModel
from tests.conftest import MINI_RULES

MINI = ["--rules", str(MINI_RULES)]


def run_child(*argv: str, memory: int = 1 << 30) -> subprocess.CompletedProcess[str]:
    """netaid in a child with a time limit, and an address-space limit should it misbehave."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "netaid", *argv],
        capture_output=True,
        text=True,
        timeout=60,  # a hang detector: each of these takes about a second
        check=False,
        preexec_fn=limit,
    )


def mini_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(MINI_RULES, folder)
    return folder


# --- reads ---


def test_a_fifo_in_the_rules_folder_is_refused_not_waited_on(tmp_path: Path) -> None:
    folder = mini_copy(tmp_path)
    os.mkfifo(folder / "x.yaml")
    done = run_child("check", "--rules", str(folder))
    assert done.returncode == 2
    assert "x.yaml: cannot read as YAML: not a regular file" in done.stderr


def test_a_fifo_case_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "case.yaml")
    done = run_child("discuss", *MINI, str(tmp_path / "case.yaml"))
    assert done.returncode == 2
    assert "(file): cannot read: not a regular file" in done.stderr


def test_a_device_as_a_batch_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zero.jsonl").symlink_to("/dev/zero")
    done = run_child("discuss", *MINI, str(tmp_path / "zero.jsonl"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert "not a regular file or a pipe" in done.stderr


def _with_source_file(tmp_path: Path, file: str) -> Path:
    folder = mini_copy(tmp_path)
    sources = yaml.safe_load((folder / "sources.yaml").read_text("utf-8"))
    for source in sources["sources"]:
        source["file"] = file
    (folder / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True), "utf-8")
    return folder


def test_lint_does_not_read_a_device(tmp_path: Path) -> None:
    folder = _with_source_file(tmp_path, "/dev/zero")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    done = run_child("lint", "--corpus", str(corpus), "--rules", str(folder))
    assert done.returncode == 1
    assert "document /dev/zero not readable" in done.stderr


def test_lint_never_reads_outside_the_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rulebook = load_rulebook(MINI_RULES)
    quotes = [c.quote for r in rulebook.rules for c in r.citations]
    # The document of every source, with every quote, just outside the corpus.
    (tmp_path / "outside.txt").write_text("\n".join(quotes), "utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "link.txt").symlink_to(tmp_path / "outside.txt")
    for file in ("../outside.txt", str(tmp_path / "outside.txt"), "link.txt"):
        folder = _with_source_file(tmp_path / file.replace("/", "_"), file)
        status = main(["lint", "--corpus", str(corpus), "--rules", str(folder)])
        err = capsys.readouterr().err
        assert status == 1
        assert f"document {file} not readable in {corpus}" in err


# --- netaid check ---


def _random_rulebook(folder: Path, rules: int, seed: int) -> Path:
    """A random rulebook of satisfiable rules coupling many fields with all/any/not."""
    rng = random.Random(seed)
    fields = list(case_fields().items())

    def leaf() -> dict[str, Any]:
        name, spec = rng.choice(fields)
        if spec.kind == "set":
            return {"contains": {name: rng.choice(spec.values)}}
        known = [v for v in spec.values if v != "unknown"]
        if spec.kind == "scalar" and len(known) > 2 and rng.random() < 0.4:
            return {"one_of": {name: rng.sample(known, 2)}}
        value: Any = rng.choice(known)
        return {"equals": {name: value if spec.kind == "scalar" else value == "true"}}

    def condition(depth: int = 0) -> dict[str, Any]:
        if depth >= 2 or rng.random() < 0.3:
            return leaf()
        op = rng.choice(["all", "any", "not"])
        if op == "not":
            return {"not": leaf()}
        return {op: [condition(depth + 1) for _ in range(rng.randint(2, 3))]}

    def satisfiable(when: dict[str, Any]) -> bool:
        model = RuleFileModel.model_validate({"rules": [{**rule(0, when)}]}).rules[0]
        return witness(compile_condition(model.when)) is not None

    def rule(i: int, when: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"context.r{i}",
            "kind": "context",
            "title": f"Rule {i}",
            "text": "A random rule.",
            "when": when,
            "citations": [
                {
                    "source": "macmillan",
                    "section": "Staging and grading of neuroendocrine tumours (NETs)",
                    "quote": "Knowing the stage and grade helps.",
                }
            ],
        }

    book = []
    while len(book) < rules:
        when = condition()
        if satisfiable(when):
            book.append(rule(len(book), when))
    folder.mkdir()
    shutil.copy(MINI_RULES / "sources.yaml", folder / "sources.yaml")
    (folder / "rules.yaml").write_text(yaml.safe_dump({"rules": book}), "utf-8")
    return folder


def test_check_stops_with_an_error_naming_rules_past_its_search_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 200-rule book took 4.5 GB; with the budget at 2,000 nodes it stops in seconds.
    monkeypatch.setattr(netaid.check, "MAX_SEARCH_NODES", 2_000)
    folder = _random_rulebook(tmp_path / "rules", 200, seed=1)
    status = main(["check", "--rules", str(folder)])
    err = capsys.readouterr().err
    assert status == 2
    assert "the class space is too large to check: the search passed 2,000 nodes" in err
    assert "in the part reading rules context.r" in err
    assert "docs/rule-authoring.md" in err


def test_the_shipped_rulebook_is_far_within_the_check_budget(rulebook: Rulebook) -> None:
    seen = 0
    original = netaid.check._Search.branch

    def counting(self: Any, tests: Any) -> Any:
        nonlocal seen
        found = original(self, tests)
        seen = max(seen, self.nodes)
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(netaid.check._Search, "branch", counting)
        netaid.check.ClassSpace.build(rulebook)
    assert 0 < seen * 10 < netaid.check.MAX_SEARCH_NODES


# --- engine lifetimes ---


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc")
def test_a_thousand_engine_lifetimes_do_not_grow_memory(mini_rulebook: Rulebook) -> None:
    # Each engine that evaluated a case kept its durable-rules session after close(): about
    # 0.16 MB with this rulebook (0.9 MB with the shipped one), 158 MB over these 1,000.
    case = Case(site="pancreas", stage="metastatic")
    list(discuss_many([case], processes=1, rulebook=mini_rulebook))
    gc.collect()
    before = _rss_mb()
    for _ in range(1_000):
        list(discuss_many([case], processes=1, rulebook=mini_rulebook))
    gc.collect()
    assert _rss_mb() - before < 20


# --- what error messages echo ---


def test_a_huge_title_is_not_echoed_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text("site: colon\ntitle: " + "x" * 1_000_000 + "\n", encoding="utf-8")
    assert main(["discuss", *MINI, str(path)]) == 2
    err = capsys.readouterr().err
    assert "title: String should have at most 500 characters" in err
    assert "(1,000,002 characters)" in err
    assert len(err) < 1_000


def test_fifty_thousand_unknown_fields_are_not_listed_one_by_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "case.json"
    fields = {"site": "colon", **{f"field{i}": 1 for i in range(50_000)}}
    path.write_text(json.dumps(fields), encoding="utf-8")
    assert main(["discuss", *MINI, str(path)]) == 2
    err = capsys.readouterr().err
    assert "field0: unknown field" in err
    assert "and 49,980 more" in err
    assert len(err.splitlines()) < 30


def test_an_unknown_field_name_is_cut(capsys: pytest.CaptureFixture[str]) -> None:
    from netaid import CaseError, discuss

    with pytest.raises(CaseError) as caught:
        discuss({"site": "colon", "k" * 100_000: 1})
    assert len(str(caught.value)) < 500
