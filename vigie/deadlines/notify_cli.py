"""`vigie deadlines notify` (beside `vigie deadlines list` in cli.py)."""

import click
from flask.cli import with_appcontext


@click.command("notify")
@with_appcontext
def notify_command() -> None:
    """Send the reminders that are due (each once; safe when two runs overlap)."""
    from vigie.audit.recorder import acting_as
    from vigie.deadlines.reminders import notify

    with acting_as(None, "cli:deadlines-notify"):
        report = notify()
    click.echo(
        f"{report.reminders} reminders sent ({report.emails} e-mails queued), "
        f"{report.examined} deadlines examined."
    )
