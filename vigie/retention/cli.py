"""`vigie retention apply [--dry-run]` and `vigie retention policies` (DESIGN.md, "Contracts").

Run from cron (daily is enough). The periods are checked before anything changes: a bad one stops the
command with a sentence and exit code 2. Changes are committed batch by batch (vigie/retention/services.py),
the files a batch released deleted after its commit; each policy that changed something ends with its
summary row, which puts the run itself in the audit trail.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import ngettext

from vigie.cli import command_errors, fail
from vigie.retention import models as _models  # noqa: F401  (the retention_run table, for Alembic)
from vigie.retention.registry import ACTION_LABELS, Action, Applied
from vigie.retention.services import Outcome

SHOWN = 20  # records listed per policy, unless --all-ids
ACTOR = "retention"  # how the audit trail names the command's changes

retention_cli = click.Group("retention", help="Retention: personal data anonymised or deleted in time.")


def _headline(outcome: Outcome, dry_run: bool) -> str:
    name, n = outcome.policy.name, outcome.count
    action = outcome.policy.action
    if n == 0:
        return _("%(policy)s: nothing to do", policy=name)
    if dry_run:
        if action == Action.ANONYMISE:
            return ngettext(
                "%(policy)s: %(num)d record to anonymise",
                "%(policy)s: %(num)d records to anonymise",
                n,
                policy=name,
            )
        if action == Action.DELETE:
            return ngettext(
                "%(policy)s: %(num)d record to delete",
                "%(policy)s: %(num)d records to delete",
                n,
                policy=name,
            )
        return ngettext(
            "%(policy)s: %(num)d record to erase", "%(policy)s: %(num)d records to erase", n, policy=name
        )
    if action == Action.ANONYMISE:
        return ngettext(
            "%(policy)s: %(num)d record anonymised", "%(policy)s: %(num)d records anonymised", n, policy=name
        )
    if action == Action.DELETE:
        return ngettext(
            "%(policy)s: %(num)d record deleted", "%(policy)s: %(num)d records deleted", n, policy=name
        )
    return ngettext("%(policy)s: %(num)d record erased", "%(policy)s: %(num)d records erased", n, policy=name)


def _rule(outcome: Outcome) -> str:
    return _(
        "%(period)s %(counted_from)s, that is up to %(day)s included",
        period=outcome.period.describe(),
        counted_from=str(outcome.policy.counted_from),
        day=outcome.cutoff.day.strftime("%d/%m/%Y"),
    )


def _echo(outcome: Outcome, dry_run: bool) -> None:
    click.echo(f"{_headline(outcome, dry_run)} ({_rule(outcome)})")
    if outcome.shown:
        click.echo("  " + ", ".join(f"#{c.id} {c.label}" if c.label else f"#{c.id}" for c in outcome.shown))
    more = outcome.count - len(outcome.shown)
    if more > 0:
        click.echo(
            "  "
            + ngettext(
                "… and %(num)d more (--all-ids lists them all)",
                "… and %(num)d more (--all-ids lists them all)",
                more,
            )
        )


def _delete_files(keys: list[str]) -> list[str]:
    """Delete the files; the keys of those that could not be deleted."""
    from vigie import storage

    failed = []
    for key in keys:
        try:
            storage.delete(key)
        except (OSError, ValueError):
            failed.append(key)
    return failed


@retention_cli.command("apply")
@click.option("--dry-run", is_flag=True, help="List what would be anonymised or deleted; change nothing.")
@click.option("--all-ids", is_flag=True, help=f"List every record concerned, not only the first {SHOWN}.")
@with_appcontext
@command_errors
def apply_command(dry_run: bool, all_ids: bool) -> None:
    """Anonymise or delete what every retention policy says is due today."""
    from vigie.audit.recorder import acting_as
    from vigie.database import utcnow
    from vigie.extensions import db
    from vigie.retention import services
    from vigie.retention.registry import all_policies
    from vigie.timeutil import to_paris

    policies = all_policies()
    services.check_settings(policies)
    now = utcnow()
    show = None if all_ids else SHOWN
    when = to_paris(now).strftime("%d/%m/%Y %H:%M")
    if dry_run:
        click.echo(_("Dry run on %(when)s (Paris time): nothing is changed.", when=when))
    else:
        click.echo(_("Retention applied on %(when)s (Paris time).", when=when))
    unremoved: list[str] = []

    def commit(applied: Applied) -> None:
        db.session.commit()
        unremoved.extend(_delete_files(applied.files))

    for policy in policies:
        if dry_run:
            outcome = services.plan(policy, now, show)
        else:
            with acting_as(None, ACTOR):
                outcome = services.apply(policy, now, show, after_batch=commit)
        _echo(outcome, dry_run)
    db.session.rollback()  # a dry run read only; make sure of it
    if unremoved:
        fail(
            ngettext(
                "%(num)d file could not be deleted from the data directory: %(keys)s.",
                "%(num)d files could not be deleted from the data directory: %(keys)s.",
                len(unremoved),
                keys=", ".join(unremoved),
            )
        )


@retention_cli.command("policies")
@with_appcontext
@command_errors
def policies_command() -> None:
    """List the retention policies with their periods and the variables that set them."""
    from vigie.retention.registry import all_policies

    for policy in all_policies():
        period = policy.period()
        click.echo(
            _(
                "%(policy)s: %(action)s %(period)s %(counted_from)s (%(env)s=%(amount)d)",
                policy=policy.name,
                action=str(ACTION_LABELS[policy.action]),
                period=period.describe(),
                counted_from=str(policy.counted_from),
                env=policy.env_var,
                amount=period.amount,
            )
        )
        click.echo(f"  {policy.description}")
