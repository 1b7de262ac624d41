from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.auth.models import User
from vigie.crypto import EncryptedString
from vigie.database import Base, TimestampMixin, UTCDateTime, str_enum
from vigie.orgs.models import Organisation

CNIL_DELAY = timedelta(hours=72)  # GDPR 33(1): from the moment the controller became aware


class BreachStatus(enum.StrEnum):
    DRAFT = "draft"  # being written by the partner
    SUBMITTED = "submitted"  # reported to the Département, not yet acknowledged
    ACKNOWLEDGED = "acknowledged"  # receipt acknowledged: the 72 h clock runs
    ASSESSED = "assessed"  # the DPO has assessed the risk
    CLOSED = "closed"


class RiskLevel(enum.StrEnum):
    NONE = "none"  # documented in the register, not notified (GDPR 33(1), 33(5))
    RISK = "risk"  # the CNIL is notified
    HIGH = "high"  # the CNIL is notified and the people affected are informed (GDPR 34)


class NotificationKind(enum.StrEnum):
    INITIAL = "initial"
    COMPLEMENTARY = "complementary"  # GDPR 33(4): information given in phases


class ActionStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Breach(Audited, TimestampMixin, Base):
    """One breach, with what GDPR 33(3) and the CNIL notification form ask. Free text that may name
    people is encrypted."""

    __tablename__ = "breach"
    __table_args__ = (sa.Index("ix_breach_organisation_id_status", "organisation_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    # Given at submission: VIO-2025-004 (a register number per year).
    reference: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    status: Mapped[BreachStatus] = mapped_column(str_enum(BreachStatus), default=BreachStatus.DRAFT)
    declared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    # What happened
    summary: Mapped[str] = mapped_column(EncryptedString())
    circumstances: Mapped[str | None] = mapped_column(EncryptedString())
    cause: Mapped[str | None] = mapped_column(EncryptedString())
    nature_confidentiality: Mapped[bool] = mapped_column(default=False)
    nature_integrity: Mapped[bool] = mapped_column(default=False)
    nature_availability: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    discovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who and what is affected
    data_categories: Mapped[str | None] = mapped_column(EncryptedString())
    subject_categories: Mapped[str | None] = mapped_column(EncryptedString())
    subjects_count: Mapped[int | None] = mapped_column()  # approximate
    records_count: Mapped[int | None] = mapped_column()  # approximate
    consequences: Mapped[str | None] = mapped_column(EncryptedString())
    measures_taken: Mapped[str | None] = mapped_column(EncryptedString())
    measures_proposed: Mapped[str | None] = mapped_column(EncryptedString())
    contact_name: Mapped[str | None] = mapped_column(EncryptedString())
    contact_email: Mapped[str | None] = mapped_column(EncryptedString())
    contact_phone: Mapped[str | None] = mapped_column(EncryptedString())

    # The partner's report, and the Département's receipt and awareness
    reported_to_controller_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    aware_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    aware_reason: Mapped[str | None] = mapped_column(EncryptedString())

    # The DPO's assessment
    risk_level: Mapped[RiskLevel | None] = mapped_column(str_enum(RiskLevel))
    risk_reasoning: Mapped[str | None] = mapped_column(EncryptedString())
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assessed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    # Communication to the people affected (GDPR 34)
    subjects_informed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    subjects_channel: Mapped[str | None] = mapped_column(sa.String(200))
    subjects_reached: Mapped[int | None] = mapped_column()

    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closure_summary: Mapped[str | None] = mapped_column(EncryptedString())

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    declared_by: Mapped[User | None] = relationship(foreign_keys=[declared_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    assessed_by: Mapped[User | None] = relationship(foreign_keys=[assessed_by_id])
    notifications: Mapped[list[BreachNotification]] = relationship(
        back_populates="breach", order_by="BreachNotification.notified_at"
    )
    actions: Mapped[list[BreachAction]] = relationship(back_populates="breach", order_by="BreachAction.id")

    @property
    def natures(self) -> list[str]:
        return [
            name
            for name, on in (
                ("confidentiality", self.nature_confidentiality),
                ("integrity", self.nature_integrity),
                ("availability", self.nature_availability),
            )
            if on
        ]

    @property
    def cnil_deadline_at(self) -> datetime | None:
        """72 hours of elapsed time (nights and weekends included) from awareness, computed in UTC."""
        return self.aware_at + CNIL_DELAY if self.aware_at else None

    @property
    def report_delay(self) -> timedelta | None:
        """How long the partner took between discovery and report (the convention says: immediately)."""
        if self.reported_to_controller_at and self.discovered_at:
            return self.reported_to_controller_at - self.discovered_at
        return None


class BreachNotification(Audited, Base):
    """A notification to the CNIL: the initial one, then complementary ones (GDPR 33(4))."""

    __tablename__ = "breach_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[int] = mapped_column(sa.ForeignKey("breach.id"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind))
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cnil_reference: Mapped[str | None] = mapped_column(sa.String(100))
    summary: Mapped[str | None] = mapped_column(EncryptedString())
    # GDPR 33(1): a notification made after 72 hours is accompanied by the reasons for the delay.
    late_reasons: Mapped[str | None] = mapped_column(EncryptedString())
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    breach: Mapped[Breach] = relationship(back_populates="notifications")

    @property
    def organisation_id(self) -> int:  # for the audit trail's tenant column
        return self.breach.organisation_id


class BreachAction(Audited, Base):
    """An action of the joint plan the Département and the partner agree on."""

    __tablename__ = "breach_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[int] = mapped_column(sa.ForeignKey("breach.id"), index=True)
    description: Mapped[str] = mapped_column(EncryptedString())
    owner: Mapped[str] = mapped_column(sa.String(200))
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus), default=ActionStatus.PLANNED)

    breach: Mapped[Breach] = relationship(back_populates="actions")

    @property
    def organisation_id(self) -> int:
        return self.breach.organisation_id
