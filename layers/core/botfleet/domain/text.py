"""Names and other short texts people type: trimmed, bounded, and free of invisible characters."""

from __future__ import annotations

import unicodedata

from botfleet.errors import Unprocessable

# Control (Cc), format (Cf: zero-width and bidi overrides that make "admin" look like something else),
# surrogate (Cs), private-use (Co) and unassigned (Cn) code points have no place in a name shown to others.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_LINE_BREAKS = str.maketrans("", "", "\r\n\t")


def has_invisible(value: str) -> bool:
    return any(unicodedata.category(char) in _INVISIBLE for char in value)


def clean_text(value: object, field: str, *, max_length: int, min_length: int = 1, multiline: bool = False) -> str:
    """`multiline`: line breaks and tabs are allowed (a chat message), every other invisible character is not."""
    if not isinstance(value, str):
        raise Unprocessable(field, "must be a string")
    text = value.strip()
    if not min_length <= len(text) <= max_length:
        raise Unprocessable(field, f"must be {min_length} to {max_length} characters")
    if has_invisible(text.translate(_LINE_BREAKS) if multiline else text):
        raise Unprocessable(field, "must not contain control or invisible characters")
    return text
