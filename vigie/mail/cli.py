"""`vigie mail ...` (DESIGN.md, "Contracts")."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

mail_cli = click.Group("mail", help="The mail outbox.")


@mail_cli.command("send-pending")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1), help="at most this many")
@with_appcontext
def send_pending_command(limit: int) -> None:
    """Deliver the e-mails that are due (run from cron). Exit 0 even when some are retried later;
    exit 2 with a sentence when the mail settings cannot work."""
    from vigie.cli import fail
    from vigie.mail.services import send_pending
    from vigie.mail.smtp import MailConfigurationError

    try:
        report = send_pending(limit=limit)
    except MailConfigurationError as err:
        fail(str(err))
        return
    click.echo(f"{report.sent} sent, {report.retried} retried later, {report.failed} failed")
    if report.smtp_error:
        click.echo(
            f"The SMTP server could not be reached ({report.smtp_error}); "
            "the e-mails stay queued for the next run.",
            err=True,
        )
