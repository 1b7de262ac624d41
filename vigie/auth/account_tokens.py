"""Single-use links sent by e-mail: invitations (choose a first password) and password resets.

Only the SHA-256 of a link's secret is stored (the secret has 256 bits of entropy, so a fast hash is
enough: nothing to brute-force). A link works once, until it expires (invitation: 7 days, reset: one
hour, INVITATION_VALIDITY / PASSWORD_RESET_VALIDITY), and issuing a new link of the same kind revokes
the user's previous ones. Rows are kept (never deleted), so an old link can say why it no longer works.
Operations flush, never commit: the request commits once.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.auth.models import User
from vigie.database import Base, UTCDateTime, str_enum, utcnow
from vigie.errors import Conflict
from vigie.extensions import db

_MAX_TOKEN_LENGTH = 100  # a generated secret is 43 characters long: anything much longer is not one


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105  (a kind of link, not a password)


class TokenState(enum.StrEnum):
    """What a link is worth now (computed, never stored)."""

    VALID = "valid"
    UNKNOWN = "unknown"
    USED = "used"
    REPLACED = "replaced"  # revoked: a newer link was sent, or the password was set another way
    EXPIRED = "expired"
    ACCOUNT_INACTIVE = "account_inactive"


class AccountToken(Audited, Base):
    """One invitation or password-reset link; only the SHA-256 of its secret is stored."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(str_enum(TokenPurpose))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The administrator who sent the invitation; None when the user asked for the link.
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<AccountToken {self.id} {self.purpose.value} user={self.user_id}>"


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    token: AccountToken | None = None

    @property
    def user(self) -> User | None:
        return self.token.user if self.token is not None else None


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def validity(purpose: TokenPurpose) -> timedelta:
    key = "INVITATION_VALIDITY" if purpose is TokenPurpose.INVITATION else "PASSWORD_RESET_VALIDITY"
    return timedelta(seconds=int(current_app.config[key]))


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _outstanding(user: User, purposes: tuple[TokenPurpose, ...]) -> list[AccountToken]:
    return list(
        db.session.scalars(
            sa.select(AccountToken).where(
                AccountToken.user_id == user.id,
                AccountToken.purpose.in_(purposes),
                AccountToken.used_at.is_(None),
                AccountToken.revoked_at.is_(None),
            )
        )
    )


def revoke_outstanding(user: User, *purposes: TokenPurpose) -> int:
    """Revoke the user's unused links of these kinds (all kinds when none is named)."""
    now = utcnow()
    tokens = _outstanding(user, purposes or tuple(TokenPurpose))
    for token in tokens:
        token.revoked_at = now
    db.session.flush()
    return len(tokens)


def issue_token(
    user: User, purpose: TokenPurpose, created_by: User | None = None, secret: str | None = None
) -> tuple[AccountToken, str]:
    """A new link for the user (their previous unused links of that kind stop working); the secret is
    returned once, for the e-mail."""
    # Serialise two concurrent issuances for the same user: the second revokes the first's link.
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    revoke_outstanding(user, purpose)
    plaintext = secret or new_secret()
    now = utcnow()
    token = AccountToken(
        user=user,
        purpose=purpose,
        token_hash=digest(plaintext),
        created_at=now,
        expires_at=now + validity(purpose),
        created_by_id=created_by.id if created_by is not None else None,
    )
    db.session.add(token)
    db.session.flush()
    return token, plaintext


def check_token(plaintext: str, purpose: TokenPurpose, lock: bool = False) -> TokenCheck:
    """What the link is worth now. `lock` holds the row until the end of the transaction (PostgreSQL),
    so two requests with the same link cannot both use it."""
    if not plaintext or len(plaintext) > _MAX_TOKEN_LENGTH:
        return TokenCheck(TokenState.UNKNOWN)
    stmt = sa.select(AccountToken).where(
        AccountToken.token_hash == digest(plaintext), AccountToken.purpose == purpose
    )
    if lock:
        stmt = stmt.with_for_update()
    token = db.session.scalar(stmt)
    if token is None:
        return TokenCheck(TokenState.UNKNOWN)
    if token.used_at is not None:
        return TokenCheck(TokenState.USED, token)
    if token.revoked_at is not None:
        return TokenCheck(TokenState.REPLACED, token)
    if token.expires_at <= utcnow():
        return TokenCheck(TokenState.EXPIRED, token)
    if not token.user.active:
        return TokenCheck(TokenState.ACCOUNT_INACTIVE, token)
    return TokenCheck(TokenState.VALID, token)


def use_token(plaintext: str, purpose: TokenPurpose, new_password: str) -> User:
    """Set the password through the link, which then stops working, as do the user's other links.

    Raises ValidationFailed (password policy, nothing used) or Conflict (the link stopped being valid
    meanwhile, e.g. used by a concurrent request)."""
    from vigie.auth.services import set_password

    check = check_token(plaintext, purpose, lock=True)
    if check.state is not TokenState.VALID or check.token is None:
        raise Conflict(_("This link can no longer be used."), {"token": check.state.value})
    token = check.token
    set_password(token.user, new_password)  # ends the user's other sessions
    token.used_at = utcnow()
    revoke_outstanding(token.user)
    db.session.flush()
    return token.user


def latest_invitation(user: User) -> AccountToken | None:
    return db.session.scalar(
        sa.select(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.INVITATION)
        .order_by(AccountToken.created_at.desc(), AccountToken.id.desc())
        .limit(1)
    )


def request_password_reset(email: str) -> User | None:
    """The "forgot password" request. Known or not, the address costs the same work up to the last
    step: a secret is drawn and hashed, the account looked up; then the link is issued and its e-mail
    queued only for an active account. The caller answers the same way in both cases, and delivers the
    e-mail after the response (see vigie.auth.views.forgot_password). Returns the account, for tests."""
    from vigie.auth import notifications
    from vigie.auth.services import user_by_email

    secret = new_secret()
    digest(secret)  # the step an existing account needs, done for every address
    user = user_by_email(email)
    if user is None or not user.active:
        return None
    issue_token(user, TokenPurpose.PASSWORD_RESET, secret=secret)
    notifications.password_reset(user, secret)
    return user


def invite(user: User, inviter: User | None) -> AccountToken:
    """Send (or send again) the invitation: the previous invitation link stops working."""
    from vigie.auth import notifications

    if user.password_hash is not None:
        raise Conflict(
            _("%(email)s has already chosen a password: no invitation is needed.", email=user.email)
        )
    if not user.active:
        raise Conflict(_("%(email)s is deactivated: reactivate the account first.", email=user.email))
    token, secret = issue_token(user, TokenPurpose.INVITATION, created_by=inviter)
    notifications.invitation(user, secret, token.expires_at, inviter)
    return token


def can_renew_invitation(check: TokenCheck) -> bool:
    """An expired or replaced invitation may ask for a new one while the account still waits for its
    first password."""
    user = check.user
    return (
        check.state in (TokenState.EXPIRED, TokenState.REPLACED)
        and user is not None
        and user.active
        and user.password_hash is None
    )


def renew_invitation(plaintext: str) -> User | None:
    """A new invitation, sent to the account's own address, from an expired or replaced link."""
    check = check_token(plaintext, TokenPurpose.INVITATION)
    if not can_renew_invitation(check) or check.user is None:
        return None
    invite(check.user, inviter=None)
    return check.user
