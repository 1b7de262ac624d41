"""Bodies, meetings, decisions, minutes, conventions, renewals, terminations.
Its features arrive with their issues; the app factory calls init_app."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the governance deadline kinds, models, pages and API routes."""
    from governance import deadline_kinds
    from governance.bodies import models as _body_models  # noqa: F401  (tables for Alembic)
    from governance.conventions import models as _convention_models  # noqa: F401

    deadline_kinds.register()
