"""`vigie deadlines ...` commands."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from vigie.cli import command_errors

deadlines_cli = click.Group("deadlines", help="Deadlines.")

_TITLE_WIDTH = 60


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@deadlines_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, each item as the API gives it.")
@click.option(
    "--status",
    default=None,
    metavar="overdue|due|open|met",
    help="Only these: overdue, due (soon), open, met; or an exact status (due_soon, met_on_time, "
    "met_late, cancelled).",
)
@with_appcontext
@command_errors
def deadlines_list(as_json: bool, status: str | None) -> None:
    """Every deadline of every organisation, soonest due first (an operator's view: no user scoping)."""
    import sqlalchemy as sa
    from flask_babel import gettext as _

    from vigie.database import utcnow
    from vigie.deadlines.models import Deadline
    from vigie.deadlines.serialise import DeadlineFilters, deadline_out, status_problem
    from vigie.deadlines.status import STATUS_LABELS
    from vigie.errors import ValidationFailed
    from vigie.extensions import db
    from vigie.timeutil import to_paris

    if status is not None and (problem := status_problem(status)):
        raise ValidationFailed(problem, {"status": problem})
    filters = DeadlineFilters(status=status)
    now = utcnow()
    stmt = filters.apply(sa.select(Deadline), now).order_by(Deadline.due_at, Deadline.id)
    items = [deadline_out(d, now) for d in db.session.scalars(stmt)]
    if as_json:
        click.echo(json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo(_("No deadlines."))
        return
    header = [_("Id"), _("Due (Europe/Paris)"), _("Status"), _("Kind"), _("Organisation"), _("Title")]
    rows = [
        [
            str(i.id),
            i.due_date.isoformat() if i.due_date else to_paris(i.due_at).strftime("%Y-%m-%d %H:%M"),
            str(STATUS_LABELS[i.status]),
            i.kind,
            i.organisation_name,
            _shorten(i.title, _TITLE_WIDTH),
        ]
        for i in items
    ]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
