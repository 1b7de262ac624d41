"""`vigie governance ...` commands."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

governance_cli = click.Group("governance", help="Governance.")


@governance_cli.command("duties")
@click.option("--year", type=int, default=None, help="the calendar year (default: this year)")
@with_appcontext
def duties(year: int | None) -> None:
    """Open the yearly duties' deadlines (art. 8), due 31 December: run it each January (cron)."""
    from governance.bodies.services import YEARLY_DUTIES, ensure_yearly_duty
    from vigie.audit.recorder import acting_as
    from vigie.database import utcnow
    from vigie.extensions import db
    from vigie.timeutil import to_paris

    target = year or to_paris(utcnow()).year
    if not 2000 <= target <= 2100:
        click.echo(f"The year {target} is out of range.", err=True)
        raise SystemExit(2)
    with acting_as(None, "cli:governance-duties"):
        for duty in YEARLY_DUTIES:
            ensure_yearly_duty(duty, target)
        db.session.commit()
    click.echo(f"Yearly duties of {target}: deadlines open (31/12/{target}).")
