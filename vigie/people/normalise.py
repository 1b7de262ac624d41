"""What the blind index compares: e-mail addresses and names in one canonical form.

- An e-mail address is taken in its validated form (email-validator), lower-cased; a value that is not
  an address (a label such as "cli" in a column that usually holds one) gives nothing to index.
- A name is case-folded, its accents stripped (NFKD, combining marks dropped), and cut into words at
  anything that is not a letter or a digit ("Jean-Pierre  D'ARC" → jean pierre d arc). The index keeps
  the whole name and each word of two letters or more, so "Dupont" finds "Jean Dupont"; a query of
  several words finds the names that hold them all, in any order. It is exact-word matching: the keyed
  hash of "dup" has nothing in common with the hash of "dupont", so a blind index cannot find part of
  a word (no substring, no prefix, no typo tolerance).
"""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

MIN_WORD_LENGTH = 2
_WORD = re.compile(r"[^\W_]+")


def normalise_email(value: str | None) -> str | None:
    """The address in its validated, lower-cased form; None when the value is not an address."""
    if not value or "@" not in value:
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def name_words(value: str | None) -> list[str]:
    """Every word of the name, case-folded and without accents, in order."""
    if not value:
        return []
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(unicodedata.normalize("NFKC", stripped))


def name_terms(value: str | None) -> tuple[str | None, set[str]]:
    """(the whole name, its words of two letters or more), as the index stores them."""
    words = name_words(value)
    if not words:
        return None, set()
    return " ".join(words), {w for w in words if len(w) >= MIN_WORD_LENGTH}
