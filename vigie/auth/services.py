"""Account operations. They flush, never commit: the request or the CLI command commits once."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from vigie.auth.models import ApiToken, User, UserRole
from vigie.auth.passwords import hash_password, password_problem, verify_password
from vigie.auth.roles import Role
from vigie.database import utcnow
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation

TOKEN_PREFIX = "vigie_"  # noqa: S105  (a marker, not a secret)
# "Last used" tells an owner which token a script still uses: to the minute is enough, and it keeps a busy
# script from writing the token row on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def normalise_email(value: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed(
            _("The e-mail address %(email)s is not valid: %(reason)s", email=repr(value), reason=str(exc)),
            {"email": _("Enter an address such as name@example.fr.")},
        ) from exc


def parse_roles(values: Iterable[str]) -> set[Role]:
    roles = set()
    for value in values:
        try:
            roles.add(Role(value))
        except ValueError as exc:
            raise ValidationFailed(
                _(
                    "Unknown role %(role)s: choose among %(roles)s.",
                    role=repr(value),
                    roles=", ".join(r.value for r in Role),
                ),
                {"roles": _("Unknown role.")},
            ) from exc
    if not roles:
        raise ValidationFailed(_("A user needs at least one role."), {"roles": _("Choose a role.")})
    return roles


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(
    email: str, name: str, organisation: Organisation, roles: Iterable[str], password: str | None
) -> User:
    address = normalise_email(email)
    parsed = parse_roles(roles)
    if not name.strip():
        raise ValidationFailed(_("A user needs a name."), {"name": _("Enter a name.")})
    if password is not None:
        problem = password_problem(password)
        if problem:
            raise ValidationFailed(problem, {"password": problem})
    if user_by_email(address) is not None:
        raise Conflict(
            _("A user with the address %(email)s already exists.", email=address),
            {"email": _("Already in use.")},
        )
    user = User(
        email=address,
        name=name.strip(),
        organisation=organisation,
        password_hash=hash_password(password) if password is not None else None,
        role_rows=[UserRole(role=r) for r in sorted(parsed)],
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Set the password; every session of the user ends (the caller renews the current one if any)."""
    problem = password_problem(password)
    if problem:
        raise ValidationFailed(problem, {"password": problem})
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.session_version += 1
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    """The profile's change: the current password first."""
    if not verify_password(user.password_hash, current):
        message = _("Your current password is not this one.")
        raise ValidationFailed(message, {"current_password": message})
    if current == new:
        message = _("Choose a password different from the current one.")
        raise ValidationFailed(message, {"password": message})
    set_password(user, new)


def end_all_sessions(user: User) -> None:
    """Sign the user out on every device (the sessions carry the version)."""
    user.session_version += 1
    db.session.flush()


@dataclass(frozen=True)
class PasswordCheck:
    """The account the address names (if any), and whether the password opens it."""

    account: User | None
    password_ok: bool

    @property
    def user(self) -> User | None:
        """The user to sign in: an active account with the right password."""
        if self.account is not None and self.password_ok and self.account.active:
            return self.account
        return None


def check_password(email: str, password: str) -> PasswordCheck:
    """The same time is spent whether the address names an account or not (a dummy hash is checked)."""
    user = user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    return PasswordCheck(account=user, password_ok=bool(user is not None and ok))


def set_active(user: User, active: bool) -> None:
    """Deactivation ends every session at the next request; API tokens are refused the same way."""
    if user.active != active:
        user.active = active
        user.session_version += 1
        db.session.flush()


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(user: User, name: str | None = None) -> tuple[ApiToken, str]:
    """A new API token; the plaintext is returned once (only its SHA-256 is stored)."""
    name = (name or "").strip() or None
    if name is not None and len(name) > 100:
        message = _("At most 100 characters.")
        raise ValidationFailed(message, {"name": message})
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, token_hash=_token_digest(plaintext), prefix=plaintext[:12], name=name)
    db.session.add(token)
    db.session.flush()
    return token, plaintext


def revoke_api_token(token: ApiToken) -> bool:
    """False when it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    db.session.flush()
    return True


def api_tokens_of(user: User) -> list[ApiToken]:
    """Newest first, revoked ones included (their history stays visible)."""
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def user_for_token(plaintext: str) -> User | None:
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_digest(plaintext)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        # Written at once, in its own transaction: a read-only request commits nothing of its own.
        with db.engine.begin() as connection:
            connection.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        set_committed_value(token, "last_used_at", now)
    return token.user


def user_for_session(session_id: str) -> User | None:
    user_id, _sep, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user
