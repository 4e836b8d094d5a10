"""The on-disk cache of parsed rule files: used when valid, ignored when not, never for cases;
never serving what its rule file does not hold, never running code, never in a folder others
can write."""

from __future__ import annotations

import json
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
    return sorted((folder / "cache").glob("*.json"))


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
        stored = json.loads(entry.read_bytes())
        if "rules" in stored[2]:
            stored[2]["rules"][0]["kind"] = "prophecy"
            entry.write_text(json.dumps(stored))
    no_parsing(monkeypatch)
    with pytest.raises(RulebookError, match="kind: Input should be"):
        load_rulebook(folder / "rules")


def test_a_truncated_entry_is_a_miss_and_is_rewritten(folder: Path) -> None:
    expected = load_rulebook(folder / "rules").rules
    for entry in entries(folder):
        entry.write_bytes(entry.read_bytes()[:10])
    assert load_rulebook(folder / "rules").rules == expected
    for entry in entries(folder):
        json.loads(entry.read_bytes())  # whole again


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
    assert not list(tmp_path.glob("**/*.json"))


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


# --- trust: the cache serves only what the rule file holds, from a folder only we write ---


def _poison(folder: Path) -> None:
    """Plant what the issue's attacker planted: the shipped-looking warning turned harmless,
    at every entry's own name, in the entry's own format."""
    for entry in (folder / "cache").iterdir():
        raw = entry.read_bytes()
        try:
            stored = json.loads(raw)
            data = stored[2]
        except ValueError:
            stored, data = None, pickle.loads(raw)
        if "rules" in data:
            data["rules"][0]["title"] = "No need to contact your care team"
            entry.write_bytes(pickle.dumps(data) if stored is None else json.dumps(stored).encode())


def test_a_planted_entry_in_a_folder_others_can_write_is_not_served(folder: Path) -> None:
    load_rulebook(folder / "rules")
    (folder / "cache").chmod(0o777)
    _poison(folder)
    assert load_rulebook(folder / "rules").rules[0].title != "No need to contact your care team"


def test_a_folder_of_another_user_is_not_used(folder: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    load_rulebook(folder / "rules")
    _poison(folder)
    os.chown(folder / "cache", 65534, 65534)
    assert load_rulebook(folder / "rules").rules[0].title != "No need to contact your care team"


def test_an_entry_made_from_other_bytes_is_not_served(folder: Path) -> None:
    # Each file's entry swapped for the other's: names match, contents do not.
    load_rulebook(folder / "rules")
    first, second = entries(folder)
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)
    second.write_bytes(a)
    assert len(load_rulebook(folder / "rules")) > 0


def test_an_entry_that_is_a_symlink_is_not_followed(folder: Path) -> None:
    load_rulebook(folder / "rules")
    first, second = entries(folder)
    first.unlink()
    first.symlink_to(second)
    assert len(load_rulebook(folder / "rules")) > 0


def test_the_folder_is_made_owner_only(folder: Path) -> None:
    load_rulebook(folder / "rules")
    assert (folder / "cache").stat().st_mode & 0o777 == 0o700


def test_a_symlinked_folder_is_not_used(folder: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir(mode=0o700)
    (folder / "cache").symlink_to(real)
    load_rulebook(folder / "rules")
    assert list(real.iterdir()) == []


def test_entries_are_data_not_pickles(folder: Path) -> None:
    load_rulebook(folder / "rules")
    assert entries(folder)
    for entry in entries(folder):
        stored = json.loads(entry.read_bytes())
        assert stored[0] == 1
        assert len(stored[1]) == 64  # the SHA-256 of the rule file it was made from
