"""Strings netaid did not write cannot drive a terminal, read backwards or become links: case
free text, the titles and texts of a custom rulebook, key names in error messages."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from netaid import Case, Engine, discuss, load_rulebook, make_engine
from netaid.cli import main
from netaid.render import AUDIENCES, render
from tests.conftest import MINI_RULES

ESCAPE = "\x1b]0;owned\x07\x1b[2J\x1b[31m"
BIDI = "\u202eevil\u202c\u2066x\u2069"
UNSAFE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
TODAY = dt.date(2026, 1, 1)


def unsafe_in(text: str) -> list[str]:
    # Newlines join lines and form feeds separate cases in netaid's own text.
    return UNSAFE.findall(text.replace("\f", ""))


@pytest.fixture(scope="module")
def hostile_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A custom rulebook whose titles and texts carry escape sequences and bidi overrides."""
    folder = tmp_path_factory.mktemp("hostile") / "rules"
    shutil.copytree(MINI_RULES, folder)
    rules = folder / "rules.yaml"
    text = rules.read_text("utf-8")
    text = text.replace(
        "title: Surgery to remove the tumour",
        'title: "Surgery \\e]0;owned\\a\\e[2J\\u202etext"',
    )
    text = text.replace(
        "text: Grade and stage both feed into planning treatment.",
        'text: "Grade \\e[31mand\\u2066 stage."',
    )
    rules.write_text(text, "utf-8")
    return make_engine(load_rulebook(folder))


@pytest.mark.parametrize("audience", AUDIENCES)
def test_text_output_shows_no_control_or_bidi_character(
    hostile_engine: Engine, audience: str
) -> None:
    case = Case(
        site="colon", stage="localized", title=f"A {ESCAPE} {BIDI}", notes=f"N {ESCAPE}{BIDI}"
    )
    output = render(discuss(case, engine=hostile_engine, today=TODAY), "text", audience=audience)
    assert unsafe_in(output) == []
    assert "\ufffd" in output  # shown, not silently dropped
    if audience == "tutor":
        assert "Surgery" in output


def test_error_messages_show_no_control_or_bidi_character(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "case.json"
    path.write_text('{"site": "colon", "\\u001b[2Jgr\\u202eade": 1}', encoding="utf-8")
    assert main(["discuss", "--rules", str(MINI_RULES), str(path)]) == 2
    err = capsys.readouterr().err
    assert "unknown field" in err
    assert unsafe_in(err) == []


def test_batch_row_messages_show_no_control_character(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A guard: a value in a message was already quoted with repr(), which escapes these.
    path = tmp_path / "cases.csv"
    path.write_text("site,title\n\x1b[2Jcolon\u202e,t\n", encoding="utf-8")
    main(["discuss", "--rules", str(MINI_RULES), str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert "row 2: site" in err
    assert unsafe_in(err) == []


@pytest.mark.parametrize("audience", AUDIENCES)
def test_markdown_does_not_link_bare_urls_from_free_text(audience: str) -> None:
    case = Case(
        site="colon",
        title="See https://evil.example/login or www.evil.example",
        notes="Call HTTP://evil.example/x\n\nor mail help@evil.example, ftp://evil.example",
    )
    output = render(discuss(case, today=TODAY), "markdown", audience=audience)
    assert "evil" in output
    # What GitHub-flavoured Markdown would link by itself: an unescaped scheme and colon,
    # "www." or an email address.
    assert not re.search(r"(?i)\b(?:https?|ftp)://", output)
    assert not re.search(r"(?i)\bwww\.", output)
    assert not re.search(r"[\w.]@evil", output)
