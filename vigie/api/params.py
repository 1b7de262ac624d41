"""Query-string values shared by the list endpoints and exports."""

from __future__ import annotations


def positive_int(value: str, maximum: int | None = None) -> int | None:
    """A whole number from 1 (to `maximum`), or None: no sign, no spaces, no 30-digit numbers."""
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    number = int(value)
    if number < 1 or (maximum is not None and number > maximum):
        return None
    return number
