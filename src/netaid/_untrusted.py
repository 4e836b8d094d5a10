"""Showing strings netaid did not write (case free text, key names, custom rule texts) safely.

Two dangers when such a string reaches a terminal: control characters (an escape sequence can
recolour, retitle or rewrite the reader's screen) and bidirectional overrides (U+202E makes
text read backwards, hiding what it says). And one when it reaches an error message: its size
(a 1 MB title echoed back, 50,000 unknown keys listed one per line).
"""

from __future__ import annotations

import re

__all__ = ["MAX_SHOWN", "printable", "shown"]

#: The most characters of an untrusted value an error message quotes.
MAX_SHOWN = 80

# C0 and C1 controls except tab and newline, and the bidirectional embeddings, overrides and
# isolates (U+202A-U+202E, U+2066-U+2069).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character and bidi override shown as U+FFFD."""
    return _UNSAFE.sub("\ufffd", text)


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """`repr(value)`, cut to `limit` characters and made printable, for an error message."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to convert to text
        text = f"<{type(value).__name__} too large to show>"
    if len(text) > limit:
        text = f"{text[: limit - 20]}... ({len(text):,} characters)"
    return printable(text)
