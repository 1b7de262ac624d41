"""The sign-in log: every attempt at the login form and at the second factor, shown to administrators.

Not part of the audit trail on purpose: an attacker's thousand failed attempts must not each take the
audit chain's lock. The address typed is kept as typed only when it names an account; otherwise only a
keyed hash of it is kept (HMAC with the secret key), so the log never collects other people's addresses
from typing mistakes, yet repeated attempts with one unknown address can still be told apart, and found
by typing that address in the filter. Rows older than LOGIN_EVENTS_RETENTION_DAYS are deleted as new
ones are written.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from vigie.auth.models import User
from vigie.database import Base, UTCDateTime, str_enum, utcnow
from vigie.extensions import db


class LoginOutcome(enum.StrEnum):
    SUCCESS = "success"
    SUCCESS_RECOVERY_CODE = "success_recovery_code"
    SECOND_FACTOR_AWAITED = "second_factor_awaited"  # password right, second factor still to give
    WRONG_PASSWORD = "wrong_password"  # noqa: S105  (or unknown address: the visitor cannot tell)
    ACCOUNT_DEACTIVATED = "account_deactivated"  # right password, deactivated account
    WRONG_SECOND_FACTOR = "wrong_second_factor"


OUTCOME_LABELS = {
    LoginOutcome.SUCCESS: _l("signed in"),
    LoginOutcome.SUCCESS_RECOVERY_CODE: _l("signed in with a recovery code"),
    LoginOutcome.SECOND_FACTOR_AWAITED: _l("password accepted, second factor awaited"),
    LoginOutcome.WRONG_PASSWORD: _l("wrong password or unknown address"),
    LoginOutcome.ACCOUNT_DEACTIVATED: _l("account deactivated"),
    LoginOutcome.WRONG_SECOND_FACTOR: _l("wrong second-factor code"),
}
FAILURES = frozenset(
    {LoginOutcome.WRONG_PASSWORD, LoginOutcome.ACCOUNT_DEACTIVATED, LoginOutcome.WRONG_SECOND_FACTOR}
)


class LoginEvent(Base):
    __tablename__ = "login_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    # As typed, only when it names an account; otherwise None and `email_digest` is set.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    email_digest: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    outcome: Mapped[LoginOutcome] = mapped_column(str_enum(LoginOutcome))

    user: Mapped[User | None] = relationship()

    @property
    def failed(self) -> bool:
        return self.outcome in FAILURES


def email_digest(address: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(key, address.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def _client_address() -> str | None:
    if not has_request_context() or not request.remote_addr:
        return None
    return request.remote_addr[:45]


def record_login(outcome: LoginOutcome, email_typed: str, user: User | None) -> LoginEvent:
    """Add a row (the caller commits). `user` is the account the address names, if any."""
    typed = email_typed.strip()[:254]
    event = LoginEvent(
        at=utcnow(),
        user_id=user.id if user is not None else None,
        email=typed if user is not None else None,
        email_digest=None if user is not None else email_digest(typed),
        ip_address=_client_address(),
        outcome=outcome,
    )
    db.session.add(event)
    purge_login_events()
    db.session.flush()
    return event


def purge_login_events(now: datetime | None = None) -> int:
    days = int(current_app.config.get("LOGIN_EVENTS_RETENTION_DAYS", 180))
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = db.session.execute(sa.delete(LoginEvent).where(LoginEvent.at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def login_events(
    outcome: str | None = None, email: str | None = None, ip_address: str | None = None
) -> sa.Select[LoginEvent]:
    """Newest first. `email` finds the attempts with that address (known or not) or, when it is not a
    whole address, the known addresses containing it."""
    stmt = (
        sa.select(LoginEvent)
        .options(selectinload(LoginEvent.user))
        .order_by(LoginEvent.at.desc(), LoginEvent.id.desc())
    )
    if outcome:
        try:
            stmt = stmt.where(LoginEvent.outcome == LoginOutcome(outcome))
        except ValueError:
            stmt = stmt.where(sa.false())
    if email and email.strip():
        typed = email.strip()
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(LoginEvent.email).contains(typed.lower(), autoescape=True),
                LoginEvent.email_digest == email_digest(typed),
            )
        )
    if ip_address and ip_address.strip():
        stmt = stmt.where(LoginEvent.ip_address == ip_address.strip())
    return stmt


def recent_logins(user: User, limit: int = 10) -> list[LoginEvent]:
    return list(
        db.session.scalars(
            sa.select(LoginEvent)
            .where(LoginEvent.user_id == user.id)
            .order_by(LoginEvent.at.desc(), LoginEvent.id.desc())
            .limit(limit)
        )
    )
