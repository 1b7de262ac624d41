"""One row per policy run that changed something: the run's own entry in the audit trail (the rows it
anonymised or deleted have theirs; the sign-in log and the outbox are not audited, so this row is their
only trace). No personal data: counts and dates."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vigie.audit.mixins import Audited
from vigie.database import Base, UTCDateTime


class RetentionRun(Audited, Base):
    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy: Mapped[str] = mapped_column(sa.String(64), index=True)
    action: Mapped[str] = mapped_column(sa.String(20))
    period_amount: Mapped[int] = mapped_column()
    period_unit: Mapped[str] = mapped_column(sa.String(10))
    # Records whose reference day is on or before this day (Europe/Paris) were due.
    limit_date: Mapped[date] = mapped_column(sa.Date)
    affected: Mapped[int] = mapped_column()
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())
