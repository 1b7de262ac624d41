"""Named hooks between features that may not import each other (governance never imports compliance):
one feature fires an event, another registered a function for it. Plain and synchronous: the functions
run inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The events features fire, and what they pass.
CONVENTION_SIGNED = "convention_signed"  # (partner: Organisation, signed_on: date)

_HOOKS: dict[str, list[Callable[..., Any]]] = {}


def register(event: str, function: Callable[..., Any]) -> None:
    functions = _HOOKS.setdefault(event, [])
    if function not in functions:  # two app instances in one process register twice
        functions.append(function)


def fire(event: str, *args: Any) -> None:
    for function in _HOOKS.get(event, []):
        function(*args)
