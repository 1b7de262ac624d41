"""Find everything about one person across the system, by name or e-mail address, encrypted fields
included, through a keyed blind index (issue #7). Features declare their people fields with
`vigie.people.registry.register_people` from their init_app; the app factory calls init_app."""

from __future__ import annotations

import sqlalchemy.orm as sa_orm
from flask import Flask


def init_app(app: Flask) -> None:
    from vigie.people import fields, index
    from vigie.people.cli import people_cli
    from vigie.people.views import bp

    index.register(sa_orm.Session)
    fields.register()
    app.register_blueprint(bp)
    if "people" not in app.cli.commands:
        app.cli.add_command(people_cli)
