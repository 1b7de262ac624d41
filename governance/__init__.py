"""Bodies, meetings, decisions, minutes, conventions, renewals, terminations.
Its features arrive with their issues; the app factory calls init_app."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the governance deadline kinds (and, as they come, its blueprints)."""
    from governance import deadline_kinds

    deadline_kinds.register()
