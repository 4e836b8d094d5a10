"""The API keeps its contract under misuse: discuss_many across processes behaves as in one
process, discuss validates what it is given, files read the same whatever their encoding mark."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netaid import Case, CaseError, Rulebook, discuss, discuss_many, load_case
from netaid.cli import main
from tests.conftest import MINI_RULES

TODAY = dt.date(2026, 1, 1)


def test_discuss_many_in_an_unguarded_script_raises_instead_of_hanging(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from netaid import Case, discuss_many\n"
        "print(len(list(discuss_many([Case(site='colon')] * 10, processes=2))))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,  # a hang detector: it fails in a few seconds
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "RuntimeError: discuss_many(processes>1) was called while a worker process was starting"
        )
    )
    assert 'if __name__ == "__main__":' in done.stderr


def outcome(cases: Any, processes: int, rulebook: Rulebook) -> tuple[list[str], str]:
    """The titles handed out, then the error raised (type and message)."""
    handed: list[str] = []
    try:
        for discussion in discuss_many(
            cases, processes=processes, rulebook=rulebook, today=TODAY, chunk_size=4
        ):
            handed.append(discussion.case.title or "")
    except Exception as exc:
        return handed, f"{type(exc).__name__}: {exc}"
    return handed, ""


def test_a_value_that_cannot_be_pickled_is_that_cases_error(mini_rulebook: Rulebook) -> None:
    lock = threading.Lock()
    cases: list[Any] = [{"site": "colon", "title": f"case {i}"} for i in range(1, 11)]
    cases[6] = {"site": "colon", "title": lock}  # case 7
    one = outcome(cases, 1, mini_rulebook)
    two = outcome(cases, 2, mini_rulebook)
    assert one == two
    assert one[0] == [f"case {i}" for i in range(1, 7)]
    assert one[1].startswith("CaseError: case 7: invalid case\n  - title: Input should be")


def test_an_input_that_raises_midway_hands_out_what_came_before(
    mini_rulebook: Rulebook,
) -> None:
    def cases() -> Iterator[Case]:
        for i in range(1, 101):
            yield Case(site="colon", title=f"case {i}")
        raise OSError("the input went away")

    one = outcome(cases(), 1, mini_rulebook)
    two = outcome(cases(), 2, mini_rulebook)
    assert one == two
    assert one == ([f"case {i}" for i in range(1, 101)], "OSError: the input went away")


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"grade": "G7"}, "grade"),
        ({"metastases": frozenset({"spleen"})}, "metastases"),
        ({"stage": "localized", "metastases": frozenset({"liver"})}, "metastases, stage"),
        ({"title": "x" * 501}, "title"),
        ({"symptomatic": "perhaps"}, "symptomatic"),
    ],
)
def test_discuss_validates_a_case_made_by_model_copy(update: dict[str, Any], field: str) -> None:
    case = Case(site="colon").model_copy(update=update)
    for cache in (True, False):
        with pytest.raises(CaseError) as caught:
            discuss(case, today=TODAY, cache=cache)
        assert caught.value.problems[0].field == field


def test_a_valid_copy_is_discussed_with_its_values_validated() -> None:
    case = Case(site="colon").model_copy(update={"grade": "G1", "metastases": {"liver"}})
    discussion = discuss(case, today=TODAY)
    assert discussion.case.grade.value == "G1"
    assert discussion == discuss(Case(site="colon", grade="G1", metastases=["liver"]), today=TODAY)


def test_discuss_validates_a_case_made_by_model_construct() -> None:
    with pytest.raises(CaseError, match="site: Field required"):
        discuss(Case.model_construct(grade="G1"), today=TODAY)


@pytest.mark.parametrize("today", ["2026-01-01", dt.datetime(2026, 1, 1, 12), 20260101])
def test_today_must_be_a_date(today: object) -> None:
    with pytest.raises(TypeError, match=r"^today must be a datetime\.date, got "):
        discuss(Case(site="colon"), today=today)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^today must be a datetime\.date, got "):
        discuss_many([Case(site="colon")], processes=1, today=today)  # type: ignore[arg-type]


def test_a_json_case_file_with_a_byte_order_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "case.json"
    path.write_bytes(b'\xef\xbb\xbf{"site": "colon", "stage": "localized"}')
    assert load_case(path) == Case(site="colon", stage="localized")
    assert main(["discuss", "--rules", str(MINI_RULES), str(path)]) == 0
    assert "primary site: colon" in capsys.readouterr().out
