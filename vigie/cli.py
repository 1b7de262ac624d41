"""The `vigie` console script (DESIGN.md, "Contracts"). Errors: a sentence on stderr, exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from vigie.config import ConfigurationError
from vigie.errors import DomainError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def command_errors(func: F) -> F:
    """Domain errors become a sentence and exit code 2; nothing half-done is committed."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from vigie.audit.recorder import acting_as
        from vigie.extensions import db

        try:
            with acting_as(None, "cli"):
                return func(*args, **kwargs)
        except DomainError as err:
            db.session.rollback()
            details = "".join(f"\n  {k}: {v}" for k, v in err.fields.items() if v != err.message)
            fail(err.message + details)

    return wrapper  # type: ignore[return-value]


def _read_password(confirm: bool = True) -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Mot de passe", hide_input=True, confirmation_prompt=confirm))
    return sys.stdin.readline().rstrip("\r\n")


orgs_cli = click.Group("orgs", help="Organisations.")
users_cli = click.Group("users", help="User accounts.")
tokens_cli = click.Group("tokens", help="API tokens.")
keys_cli = click.Group("keys", help="Encryption keys.")
audit_cli = click.Group("audit", help="The audit trail.")


@orgs_cli.command("create")
@click.option("--name", required=True)
@click.option("--kind", required=True, help="controller, partner or other")
@click.option("--siren", default=None)
@click.option("--address", default=None)
@with_appcontext
@command_errors
def orgs_create(name: str, kind: str, siren: str | None, address: str | None) -> None:
    """Create an organisation and print its id."""
    from vigie.extensions import db
    from vigie.orgs.services import create_organisation

    org = create_organisation(name=name, kind=kind, siren=siren, address=address)
    db.session.commit()
    click.echo(org.id)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--org", "org_ref", required=True, help="the organisation's id or SIREN")
@click.option("--role", "roles", multiple=True, required=True)
@with_appcontext
@command_errors
def users_create(email: str, name: str, org_ref: str, roles: tuple[str, ...]) -> None:
    """Create a user; the password is read from standard input (or prompted on a terminal)."""
    from vigie.auth.services import create_user, normalise_email, parse_roles
    from vigie.extensions import db
    from vigie.orgs.services import find_organisation

    # Check what can be checked before asking for a password.
    normalise_email(email)
    parse_roles(roles)
    org = find_organisation(org_ref)
    password = _read_password()
    user = create_user(email=email, name=name, organisation=org, roles=roles, password=password)
    db.session.commit()
    click.echo(user.id)


def _set_active(email: str, active: bool) -> None:
    from vigie.auth.services import set_active, user_by_email
    from vigie.errors import NotFound
    from vigie.extensions import db

    user = user_by_email(email)
    if user is None:
        raise NotFound(f"Aucun utilisateur n'a l'adresse {email}.")
    set_active(user, active)
    db.session.commit()
    click.echo(f"{user.email}: {'active' if active else 'deactivated'}")


@users_cli.command("deactivate")
@click.option("--email", required=True)
@with_appcontext
@command_errors
def users_deactivate(email: str) -> None:
    """Deactivate a user: sessions, API tokens and calendar feed refused at the next request."""
    _set_active(email, False)


@users_cli.command("activate")
@click.option("--email", required=True)
@with_appcontext
@command_errors
def users_activate(email: str) -> None:
    """Reactivate a user."""
    _set_active(email, True)


@users_cli.command("reset-two-factor")
@click.option("--email", required=True)
@with_appcontext
@command_errors
def users_reset_two_factor(email: str) -> None:
    """Remove a user's second factor (a lost phone, the last administrator locked out); their sessions end.
    They set it up again at their next sign-in."""
    from vigie.auth.notifications import second_factor_reset
    from vigie.auth.services import user_by_email
    from vigie.auth.twofactor import reset_second_factor
    from vigie.database import utcnow
    from vigie.errors import NotFound
    from vigie.extensions import db

    user = user_by_email(email)
    if user is None:
        raise NotFound(f"Aucun utilisateur n'a l'adresse {email}.")
    found = reset_second_factor(user)
    if found:
        second_factor_reset(user, utcnow())
    db.session.commit()
    click.echo(f"{user.email}: {'second factor removed' if found else 'no second factor was set up'}")


@tokens_cli.command("create")
@click.option("--email", required=True)
@with_appcontext
@command_errors
def tokens_create(email: str) -> None:
    """Print a new API token for the user, once (only its hash is stored)."""
    from vigie.auth.services import create_api_token, user_by_email
    from vigie.errors import NotFound
    from vigie.extensions import db

    user = user_by_email(email)
    if user is None or not user.active:
        raise NotFound(f"Aucun utilisateur actif n'a l'adresse {email}.")
    _token, plaintext = create_api_token(user)
    db.session.commit()
    click.echo(plaintext)


@keys_cli.command("rotate")
@with_appcontext
@command_errors
def keys_rotate() -> None:
    """Re-encrypt every encrypted value with the newest key of VIGIE_ENCRYPTION_KEYS."""
    from vigie.crypto import rotate_keys
    from vigie.extensions import db

    report = rotate_keys(db.session.connection(), db.metadata)
    db.session.commit()
    rate = report.values / report.seconds if report.seconds else 0.0
    click.echo(
        f"{report.values} values re-encrypted in {report.tables} tables "
        f"({report.seconds:.2f} s, {rate:.0f} values/s)"
    )


@audit_cli.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check the hash chain of the audit trail; exit 1 at the first broken row."""
    from vigie.audit.services import verify_chain

    result = verify_chain()
    if not result.ok:
        fail(
            f"Audit trail broken at seq {result.broken_seq} (id {result.broken_id}): {result.reason}. "
            f"{result.checked} rows verified before it.",
            code=1,
        )
    click.echo(f"Audit trail intact: {result.checked} rows verified.")


@click.command("demo")
@with_appcontext
@command_errors
def demo() -> None:
    """Fill the database from the reference convention (idempotent) and print the demo logins."""
    from vigie.demo import load_demo
    from vigie.extensions import db

    logins = load_demo()
    db.session.commit()
    click.echo("Vigie demo ready. Sign in at the address `vigie run` prints, with:")
    width = max(len(e) for e, _r, _p in logins)
    for email, role, password in logins:
        click.echo(f"  {role:<10} {email:<{width}}  {password}")


def register_commands(app: Flask) -> None:
    from vigie.deadlines.cli import deadlines_cli
    from vigie.deadlines.notify_cli import notify_command
    from vigie.mail.cli import mail_cli
    from vigie.retention.cli import retention_cli
    from vigie.retention.policies import register_core_policies

    if "notify" not in deadlines_cli.commands:
        deadlines_cli.add_command(notify_command)
    register_core_policies()  # the features register theirs from their init_app

    for group in (orgs_cli, users_cli, tokens_cli, keys_cli, audit_cli, deadlines_cli, mail_cli, demo):
        app.cli.add_command(group)
    app.cli.add_command(retention_cli)


def _app_factory() -> Flask:
    from vigie import create_app

    try:
        return create_app()
    except ConfigurationError as err:
        fail(str(err))
        raise  # unreachable: fail() exits


def main() -> None:
    cli = FlaskGroup(create_app=_app_factory, help="Vigie: GDPR compliance and governance.")
    cli.main(prog_name="vigie")
