"""A case's free text (title, notes) is shown as text in every format, never as markup."""

from __future__ import annotations

import datetime as dt

import pytest

from netaid import Case, Engine, discuss
from netaid.render import AUDIENCES, render
from tests.render.helpers import (
    find_all,
    only,
    parse_html,
    unescape_markdown,
    unescaped_angle_brackets,
)

SCRIPT = "<script>alert(1)</script>"
NOTES = (
    "<img src=x onerror=alert(1)> **bold** [link](https://example.org) `code` a|b & c\n"
    "# not a heading\n"
    "- not a list\n"
    "1. not numbered\n"
    "> not a quote\n"
    "===\n"
    "\n"
    "second paragraph ~~struck~~ <b>bold</b>"
)


@pytest.fixture
def hostile(mini_engine: Engine) -> Case:
    return Case(site="colon", stage="localized", title=SCRIPT, notes=NOTES)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_html_shows_the_title_and_notes_as_text(
    mini_engine: Engine, hostile: Case, audience: str
) -> None:
    out = render(discuss(hostile, engine=mini_engine), "html", audience=audience)
    assert "<script" not in out.lower()
    assert "<img" not in out.lower()
    assert "<b>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    tree = parse_html(out)
    assert only(find_all(tree.root, "h1")).text == SCRIPT
    assert only(find_all(tree.root, "title")).text.startswith(SCRIPT)
    # The notes keep their lines (white-space: pre-line) and nothing else.
    assert only(find_all(tree.root, "p", "case-notes")).text == NOTES
    assert find_all(tree.root, "img") == []
    assert find_all(tree.root, "b") == []


@pytest.mark.parametrize("audience", AUDIENCES)
def test_markdown_shows_the_title_and_notes_as_text(
    mini_engine: Engine, hostile: Case, audience: str
) -> None:
    out = render(discuss(hostile, engine=mini_engine), "markdown", audience=audience)
    assert unescaped_angle_brackets(out) == []
    lines = out.splitlines()
    heading = next(line for line in lines if line.startswith("# "))
    assert heading == r"# \<script\>alert(1)\</script\>"
    assert unescape_markdown(heading) == f"# {SCRIPT}"
    # Every line of the notes is there, no line starts a block, and undoing the escapes
    # gives back exactly what the author wrote.
    start = lines.index(next(line for line in lines if "onerror" in line))
    body = lines[start : start + 8]
    assert [unescape_markdown(line.removesuffix("\\")) for line in body] == [
        line.strip() for line in NOTES.splitlines()
    ]
    for line in body[1:6]:
        assert line.startswith("\\") or line[:2] == "1\\"
    assert "`code`" not in out
    assert "**bold**" not in out
    assert "~~" not in out
    assert r"a\|b \& c" in out


def test_a_title_with_line_breaks_stays_one_heading(mini_engine: Engine) -> None:
    case = Case(site="colon", title="Case one\n# Injected heading\n| x |")
    out = render(discuss(case, engine=mini_engine), "markdown")
    assert r"# Case one \# Injected heading \| x \|" in out.splitlines()
    assert not any(line.startswith("# Injected") for line in out.splitlines())


def test_text_output_never_passes_control_characters_to_a_terminal(
    mini_engine: Engine,
) -> None:
    case = Case(site="colon", title="bad\x1b[2Jtitle", notes="bell\x07 and\x9b escape")
    for audience in AUDIENCES:
        out = render(
            discuss(case, engine=mini_engine, today=dt.date(2025, 1, 1)), "text", audience=audience
        )
        assert "\x1b" not in out
        assert "\x07" not in out
        assert "\x9b" not in out
        assert "bad\ufffd[2Jtitle" in out
