"""A service's refusal shown on a form: each field error beside its field, the rest at the top."""

from __future__ import annotations

from typing import Any

from vigie.errors import DomainError


def attach_errors(form: Any, err: DomainError, aliases: dict[str, str] | None = None) -> list[str]:
    """Put the service's field errors next to their fields (`aliases`: service field -> form field);
    return the messages that belong to none, the service's sentence first."""
    loose: list[str] = []
    for name, message in err.fields.items():
        target = (aliases or {}).get(name, name)
        if target in form:
            form[target].errors = [*form[target].errors, message]
        else:
            loose.append(message)
    if not err.fields or loose:
        loose.insert(0, err.message)
    return loose
