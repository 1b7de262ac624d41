from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.auth.roles import Role
from vigie.crypto import EncryptedString
from vigie.database import Base, TimestampMixin, UTCDateTime, str_enum, utcnow
from vigie.orgs.models import Organisation

if TYPE_CHECKING:
    from vigie.auth.twofactor import TotpCredential


class User(Audited, UserMixin, TimestampMixin, Base):
    __tablename__ = "user_account"
    __audit_exclude__ = frozenset({"updated_at", "created_at", "last_login_at", "password_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    # The login identifier: kept in clear (lower-cased) so it can be unique and looked up.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(EncryptedString())
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    # Bumped to end every session of the user (deactivation, password change).
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Audited on the account itself, so the trail names the account whose password or roles changed
    # (the password hash and the user_role rows alone would not say whose).
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    roles_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    # Loaded with the user (one join, no query of its own): every page asks whether a second factor
    # is set up. Read-only here; vigie.auth.twofactor changes it.
    totp_credential: Mapped[TotpCredential | None] = relationship(lazy="joined", viewonly=True)

    @property
    def has_second_factor(self) -> bool:
        cred = self.totp_credential
        return cred is not None and cred.confirmed_at is not None

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.role_rows)

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return self.active

    def get_id(self) -> str:
        # The session carries the version: bumping it signs the user out everywhere.
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(Audited, Base):
    __tablename__ = "user_role"
    __table_args__ = (sa.UniqueConstraint("user_id", "role", name="uq_user_role_user_id_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))

    user: Mapped[User] = relationship(back_populates="role_rows")


class ApiToken(Audited, Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    __audit_exclude__ = frozenset({"last_used_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    # What the owner calls it ("export script"), so that they know which one to revoke.
    name: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
