"""Panels of the home page. A feature registers a function from its init_app; the home page shows what
each one returns for the signed-in user, so vigie/ shows the features' panels without importing them.

    register_panel(fn)   # fn(user, now) -> Markup | None (None: nothing to show to this user)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from markupsafe import Markup

Panel = Callable[[Any, datetime], Markup | None]

_PANELS: list[Panel] = []


def register_panel(panel: Panel) -> Panel:
    """Add a panel (once: every app the process creates registers the same functions)."""
    if panel not in _PANELS:
        _PANELS.append(panel)
    return panel


def render_panels(user: Any, now: datetime) -> list[Markup]:
    """What the registered panels show this user, in the order they were registered."""
    return [shown for panel in _PANELS if (shown := panel(user, now)) is not None]
