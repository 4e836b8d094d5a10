"""The on-disk cache of parsed rule files: used when valid, ignored when not, never for cases."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

import netaid.rulebook
from netaid import RulebookError, load_case, load_rulebook
from netaid._cache import cache_dir
from tests.conftest import MINI_RULES


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own, and a copy of the mini rulebook to edit."""
    monkeypatch.setenv("NETAID_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copytree(MINI_RULES, tmp_path / "rules")
    return tmp_path


def entries(folder: Path) -> list[Path]:
    return sorted((folder / "cache").glob("*.pickle"))


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str) -> object:
        raise AssertionError("parsed although the cache holds this file")

    monkeypatch.setattr(netaid.rulebook, "load_yaml", refuse)


def test_a_second_load_reads_the_cache_and_gives_the_same_rulebook(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_rulebook(folder / "rules")
    assert len(entries(folder)) == 2  # sources.yaml and rules.yaml
    no_parsing(monkeypatch)
    second = load_rulebook(folder / "rules")
    assert second.rules == first.rules
    assert second.sources == first.sources  # dates survive the round trip
    assert second.fingerprint == first.fingerprint


def test_an_edited_file_is_parsed_again(folder: Path) -> None:
    load_rulebook(folder / "rules")
    rules = folder / "rules" / "rules.yaml"
    first_title = load_rulebook(folder / "rules").rules[0].title
    rules.write_text(rules.read_text().replace(first_title, "An edited title", 1))
    assert load_rulebook(folder / "rules").rules[0].title == "An edited title"
    assert len(entries(folder)) == 3


def test_the_cached_data_is_still_checked_against_the_rule_format(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_rulebook(folder / "rules")
    # Whatever an entry says, the rule format still applies to it.
    for entry in entries(folder):
        data = pickle.loads(entry.read_bytes())
        if "rules" in data:
            data["rules"][0]["kind"] = "prophecy"
            entry.write_bytes(pickle.dumps(data))
    no_parsing(monkeypatch)
    with pytest.raises(RulebookError, match="kind: Input should be"):
        load_rulebook(folder / "rules")


def test_a_truncated_entry_is_a_miss_and_is_rewritten(folder: Path) -> None:
    expected = load_rulebook(folder / "rules").rules
    for entry in entries(folder):
        entry.write_bytes(entry.read_bytes()[:10])
    assert load_rulebook(folder / "rules").rules == expected
    for entry in entries(folder):
        pickle.loads(entry.read_bytes())  # whole again


class _Planted:
    """What a tampered entry might hold: unpickling it would create a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_a_tampered_entry_runs_nothing_and_is_a_miss(folder: Path) -> None:
    expected = load_rulebook(folder / "rules").rules
    marker = folder / "planted"
    for entry in entries(folder):
        entry.write_bytes(pickle.dumps({"rules": [_Planted(marker)]}))
    assert load_rulebook(folder / "rules").rules == expected
    assert not marker.exists()


def test_a_cache_that_cannot_be_written_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("NETAID_CACHE_DIR", str(blocked / "cache"))
    assert len(load_rulebook(MINI_RULES)) > 0
    assert blocked.read_text() == "not a folder"
    assert not list(tmp_path.glob("**/*.tmp"))
    assert not list(tmp_path.glob("**/*.pickle"))


def test_an_empty_setting_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETAID_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() is None
    load_rulebook(MINI_RULES)
    assert list(tmp_path.iterdir()) == []


def test_without_a_setting_the_cache_follows_xdg_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NETAID_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "netaid"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "netaid"


def test_a_file_that_does_not_parse_leaves_no_entry(folder: Path) -> None:
    (folder / "rules" / "broken.yaml").write_text("rules: [unclosed\n")
    with pytest.raises(RulebookError, match=r"broken\.yaml"):
        load_rulebook(folder / "rules")
    with pytest.raises(RulebookError, match=r"broken\.yaml"):
        load_rulebook(folder / "rules")
    assert len(entries(folder)) == 2  # the two good files only


def test_case_files_are_never_cached(folder: Path) -> None:
    case = folder / "case.yaml"
    case.write_text("site: pancreas\ntitle: a patient's own words\n")
    load_case(case)
    assert not (folder / "cache").exists()


def test_old_entries_are_pruned(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netaid._cache.MAX_ENTRIES", 3)
    rules = folder / "rules" / "rules.yaml"
    text = rules.read_text()
    for n in range(4):
        # Entries age by modification time: make every earlier one clearly older.
        for entry in entries(folder):
            stat = entry.stat()
            os.utime(entry, (stat.st_atime - 10, stat.st_mtime - 10))
        rules.write_text(f"{text}\n# edit {n}\n")
        load_rulebook(folder / "rules")
    assert len(entries(folder)) == 3
    no_parsing(monkeypatch)
    load_rulebook(folder / "rules")  # what the last load wrote was kept
