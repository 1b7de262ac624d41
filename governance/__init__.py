"""Bodies, meetings, decisions, minutes, conventions, renewals, terminations.
Its features arrive with their issues; the app factory calls init_app."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the governance deadline kinds, models, pages and API routes."""
    from governance import deadline_kinds
    from governance.bodies import models as _body_models  # noqa: F401  (tables for Alembic)
    from governance.conventions import models as _convention_models  # noqa: F401

    deadline_kinds.register()

    from governance import people_fields

    people_fields.register()  # its name and e-mail columns, for the person search (vigie.people)

    from governance.cli import governance_cli

    if "governance" not in app.cli.commands:
        app.cli.add_command(governance_cli)

    from governance.bodies import api as _governance_api  # noqa: F401  (adds its routes to the API)
    from governance.bodies.exports import bp as exports_bp
    from governance.bodies.views import bp as governance_bp

    app.register_blueprint(governance_bp)
    app.register_blueprint(exports_bp)

    from governance.conventions import api as _convention_api  # noqa: F401
    from governance.conventions.views import bp as conventions_bp

    app.register_blueprint(conventions_bp)

    from governance.bodies.reference import load_reference_bodies
    from governance.conventions.reference import load_reference_convention
    from governance.conventions.views import conventions_panel
    from vigie.demo import register_demo_loader
    from vigie.panels import register_panel

    register_demo_loader(load_reference_convention)  # `vigie demo`: the reference convention first
    register_demo_loader(load_reference_bodies)  # then the bodies of its art. 7
    register_panel(conventions_panel)  # the home page's conventions panel
