from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.database import Base, TimestampMixin, UTCDateTime, str_enum
from vigie.orgs.models import Organisation


class DeadlineState(enum.StrEnum):
    """What is stored; the status shown (due soon, overdue, met late…) is derived from it and the time."""

    OPEN = "open"
    MET = "met"
    CANCELLED = "cancelled"


class Deadline(Audited, TimestampMixin, Base):
    """One clock the law or the convention starts: every deadline of Vigie is a row here."""

    __tablename__ = "deadline"
    __table_args__ = (
        sa.Index("ix_deadline_state_due_at", "state", "due_at"),
        # The lists by due time (the API), the ones met lately (dashboard, feed), and each organisation's
        # counts read from the index alone (the dashboard's partner overview): bench/README.md, 0015.
        sa.Index("ix_deadline_due_at_id", "due_at", "id"),
        sa.Index("ix_deadline_state_met_at", "state", "met_at"),
        sa.Index("ix_deadline_organisation_overview", "organisation_id", "state", "kind", "due_at", "met_at"),
        sa.Index("ix_deadline_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64), index=True)
    # The record the clock belongs to (a breach, an inquiry, a convention…), by type and id.
    subject_type: Mapped[str | None] = mapped_column(sa.String(64))
    subject_id: Mapped[int | None] = mapped_column()
    # The organisation concerned: whose users must act, or whose obligation it is.
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    title: Mapped[str] = mapped_column(sa.String(300))
    state: Mapped[DeadlineState] = mapped_column(str_enum(DeadlineState), default=DeadlineState.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Day-based deadlines: the last day allowed (Europe/Paris); due_at is 23:59:59 that day.
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_reason: Mapped[str | None] = mapped_column(sa.Text)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)


class DeadlineEvent(Base):
    """The history of a deadline: opened, met, rescheduled or cancelled, by whom and why."""

    __tablename__ = "deadline_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(sa.ForeignKey("deadline.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_label: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(20))
    old_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    new_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(sa.Text)


class DeadlineReminder(Base):
    """A reminder stage sent for a deadline. The unique key makes each reminder go out once, even when
    two `vigie deadlines notify` run at the same time."""

    __tablename__ = "deadline_reminder"
    __table_args__ = (
        sa.UniqueConstraint("deadline_id", "stage", name="uq_deadline_reminder_deadline_stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deadline_id: Mapped[int] = mapped_column(sa.ForeignKey("deadline.id"))
    stage: Mapped[str] = mapped_column(sa.String(20))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recipients: Mapped[int] = mapped_column(default=0)
