"""Calendar-feed tokens: the secret in a user's ICS address, and the operations on it.

Only the SHA-256 of a token is stored. A user has at most one active token (a partial unique index
says so to the database); creating a new one revokes the old, so a leaked address is replaced in one
click. Operations flush, never commit: the request commits once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.auth.models import User
from vigie.database import Base, UTCDateTime, utcnow
from vigie.extensions import db

FEED_TOKEN_PREFIX = "vcal_"  # noqa: S105  (a marker, not a secret)
_MAX_TOKEN_LENGTH = 100  # a generated token is 48 characters long: anything much longer is not one


class CalendarFeedToken(Audited, Base):
    """The secret of one user's calendar feed; only its SHA-256 is stored."""

    __tablename__ = "calendar_feed_token"
    __table_args__ = (
        # At most one active token per user, whatever two concurrent requests do.
        sa.Index(
            "uq_calendar_feed_token_active_user",
            "user_id",
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL"),
            sqlite_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters, shown so that users recognise the address they subscribed to.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<CalendarFeedToken {self.id} {self.prefix}… user={self.user_id}>"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def active_feed_token(user: User) -> CalendarFeedToken | None:
    return db.session.scalar(
        sa.select(CalendarFeedToken).where(
            CalendarFeedToken.user_id == user.id, CalendarFeedToken.revoked_at.is_(None)
        )
    )


def revoke_feed_token(user: User) -> bool:
    """Revoke the user's active token; False when there was none."""
    token = active_feed_token(user)
    if token is None:
        return False
    token.revoked_at = utcnow()
    db.session.flush()
    return True


def create_feed_token(user: User) -> tuple[CalendarFeedToken, str]:
    """A new token for the user (the old one, if any, is revoked); the plaintext is returned once."""
    # Serialise two concurrent requests of the same user (a double click): the second waits, then
    # revokes the token the first created instead of colliding with it. SQLite ignores FOR UPDATE,
    # but it has a single writer anyway.
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    revoke_feed_token(user)  # flushed before the insert: the unique index never sees two active
    plaintext = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = CalendarFeedToken(user=user, token_hash=_digest(plaintext), prefix=plaintext[:12])
    db.session.add(token)
    db.session.flush()
    return token, plaintext


def user_for_feed_token(plaintext: str) -> User | None:
    """The active user whose active token this is; None for an unknown, revoked or deactivated one."""
    if not plaintext.startswith(FEED_TOKEN_PREFIX) or len(plaintext) > _MAX_TOKEN_LENGTH:
        return None
    token = db.session.scalar(
        sa.select(CalendarFeedToken)
        .options(joinedload(CalendarFeedToken.user))
        .where(CalendarFeedToken.token_hash == _digest(plaintext), CalendarFeedToken.revoked_at.is_(None))
    )
    if token is None or not token.user.active:
        return None
    return token.user
