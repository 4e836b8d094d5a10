"""The text renderer's line filling: every word kept, in order, within the width."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netaid.render._text import _WIDTH, _wrap

_words = st.lists(st.text(alphabet="abcdefghij-/.", min_size=1, max_size=30), max_size=60)


@given(_words, st.sampled_from(["", "  ", "    "]), st.sampled_from([None, "1. ", "12. "]))
def test_wrap_keeps_every_word_in_order_within_the_width(
    words: list[str], indent: str, first: str | None
) -> None:
    lines = _wrap("  ".join(words), indent, first=first)
    lead = indent if first is None else first
    assert lines[0].startswith(lead)
    assert all(line.startswith(indent) for line in lines[1:])
    kept = [lines[0][len(lead) :]] + [line[len(indent) :] for line in lines[1:]]
    assert " ".join(kept).split() == words
    for line in lines:
        # Only a single word too long for any line may overrun it.
        assert len(line) <= _WIDTH or len(line.split()) == 1


def test_wrap_fills_greedily() -> None:
    text = " ".join(["word"] * 40)
    lines = _wrap(text, "  ")
    assert all(len(line) + len(" word") > _WIDTH for line in lines[:-1])
    assert _wrap("", "  ") == ["  "]
