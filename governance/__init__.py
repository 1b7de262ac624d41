"""Bodies, meetings, decisions, minutes, conventions, renewals, terminations.
Its features arrive with their issues; the app factory calls init_app."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register governance blueprints and deadline kinds (none yet)."""
