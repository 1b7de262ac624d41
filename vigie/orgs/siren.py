"""SIREN numbers: nine digits with a Luhn check digit (INSEE)."""

from __future__ import annotations

from flask_babel import gettext as _


def normalise_siren(value: str) -> str:
    return "".join(value.split())


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        d = int(char)
        if index % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def siren_error(value: str) -> str | None:
    """None when the SIREN is valid, else the reason in plain words ."""
    siren = normalise_siren(value)
    if len(siren) != 9 or not siren.isdigit():
        return _("A SIREN has exactly nine digits.")
    if not luhn_valid(siren):
        return _("This SIREN fails its check digit (Luhn): check for a typing error.")
    return None
