from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vigie.database import Base, UTCDateTime


class AuditEvent(Base):
    """One change to one record. Append-only: each row's hash covers the previous row's hash."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Gapless position in the chain, assigned under a lock (database ids may skip on rollback).
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(20))
    entity: Mapped[str] = mapped_column(sa.String(64), index=True)
    entity_id: Mapped[str | None] = mapped_column(sa.String(64))
    organisation_id: Mapped[int | None] = mapped_column(index=True)
    # Field names only: never values, which may be personal data.
    fields: Mapped[str] = mapped_column(sa.Text, default="")
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
