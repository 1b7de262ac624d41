"""The registry of deadline kinds. Each package declares its own kinds (compliance/, governance/)
from its init_app, so vigie/ never imports them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from vigie.auth.roles import Role

# Reminder stages, in the order they come.
DUE_SOON = "due_soon"
DUE_TODAY = "due_today"
OVERDUE = "overdue"
STAGES = (DUE_SOON, DUE_TODAY, OVERDUE)


@dataclass(frozen=True)
class DeadlineKind:
    code: str
    label: Any  # a lazy translated string
    actor: Role  # who must act: their users get the reminders (with the DPO)
    visible_to: frozenset[Role]  # roles that see this kind (partners: their own organisation's only)
    due_soon: timedelta = timedelta(days=2)  # how long before the due time it counts as "due soon"
    hour_based: bool = False  # an elapsed-time clock (72 h): shown with a live countdown
    reminders: tuple[str, ...] = field(default=STAGES)


_REGISTRY: dict[str, DeadlineKind] = {}


def register_kind(kind: DeadlineKind) -> DeadlineKind:
    existing = _REGISTRY.get(kind.code)
    if existing is not None and existing != kind:
        raise ValueError(f"deadline kind {kind.code!r} is already registered differently")
    _REGISTRY[kind.code] = kind
    return kind


def get_kind(code: str) -> DeadlineKind:
    try:
        return _REGISTRY[code]
    except KeyError:
        raise KeyError(f"unknown deadline kind {code!r}: register it from its package's init_app") from None


def all_kinds() -> list[DeadlineKind]:
    return sorted(_REGISTRY.values(), key=lambda k: k.code)


def kinds_visible_to(roles: frozenset[Role]) -> list[DeadlineKind]:
    return [k for k in all_kinds() if k.visible_to & roles]
