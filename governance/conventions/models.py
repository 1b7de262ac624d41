from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.database import Base, TimestampMixin, UTCDateTime, str_enum
from vigie.orgs.models import Organisation


class ConventionStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"  # by the partner's deliberation
    SIGNED = "signed"  # by both parties
    TRANSMITTED = "transmitted"  # to the prefecture: enforceable from now on
    IN_FORCE = "in_force"  # transmitted and its term has begun
    UNDER_EVALUATION = "under_evaluation"
    RENEWED = "renewed"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class EvaluationDecision(enum.StrEnum):
    RENEW = "renew"
    RENEGOTIATE = "renegotiate"
    END = "end"


class Deliberation(Audited, TimestampMixin, Base):
    """A deliberation of an assembly (conseil communautaire, commission permanente…)."""

    __tablename__ = "deliberation"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "number", name="uq_deliberation_organisation_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    assembly: Mapped[str] = mapped_column(sa.String(200))
    number: Mapped[str] = mapped_column(sa.String(40))
    adopted_on: Mapped[date] = mapped_column(sa.Date)
    theme: Mapped[str | None] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.Text)
    members_in_office: Mapped[int] = mapped_column()
    members_present: Mapped[int] = mapped_column()
    members_represented: Mapped[int] = mapped_column(default=0)
    votes_for: Mapped[int] = mapped_column()
    votes_against: Mapped[int] = mapped_column(default=0)
    abstentions: Mapped[int] = mapped_column(default=0)
    secretary: Mapped[str | None] = mapped_column(sa.String(200))

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)

    @property
    def votes_cast(self) -> int:
        return self.votes_for + self.votes_against


class Convention(Audited, TimestampMixin, Base):
    __tablename__ = "convention"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    reference: Mapped[str | None] = mapped_column(sa.String(60), unique=True)
    controller_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    # The partner (the processor); null for a template convention to duplicate.
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    is_template: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ConventionStatus] = mapped_column(
        str_enum(ConventionStatus), default=ConventionStatus.DRAFT
    )
    start_date: Mapped[date] = mapped_column(sa.Date)
    end_date: Mapped[date] = mapped_column(sa.Date)
    evaluation_due_date: Mapped[date] = mapped_column(sa.Date)

    deliberation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deliberation.id"))
    controller_signatory: Mapped[str | None] = mapped_column(sa.String(200))
    partner_signatory: Mapped[str | None] = mapped_column(sa.String(200))
    controller_signed_on: Mapped[date | None] = mapped_column(sa.Date)
    partner_signed_on: Mapped[date | None] = mapped_column(sa.Date)
    signed_scan_key: Mapped[str | None] = mapped_column(sa.String(64))
    signed_scan_name: Mapped[str | None] = mapped_column(sa.String(200))

    # Prefecture transmission (contrôle de légalité): enforceable only once transmitted.
    acknowledgement_id: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    transmitted_on: Mapped[date | None] = mapped_column(sa.Date)
    published_on: Mapped[date | None] = mapped_column(sa.Date)

    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("convention.id"))
    ended_on: Mapped[date | None] = mapped_column(sa.Date)
    end_reason: Mapped[str | None] = mapped_column(sa.Text)

    controller: Mapped[Organisation] = relationship(
        foreign_keys=[controller_id], lazy="joined", innerjoin=True
    )
    partner: Mapped[Organisation | None] = relationship(foreign_keys=[partner_id], lazy="joined")
    deliberation: Mapped[Deliberation | None] = relationship()
    articles: Mapped[list[ConventionArticle]] = relationship(
        back_populates="convention", order_by="ConventionArticle.number"
    )
    amendments: Mapped[list[Amendment]] = relationship(
        back_populates="convention", order_by="Amendment.number"
    )
    previous: Mapped[Convention | None] = relationship(remote_side=[id])

    @property
    def organisation_id(self) -> int | None:  # the tenant, for the audit trail
        return self.partner_id

    @property
    def enforceable(self) -> bool:
        return self.transmitted_on is not None and self.status not in (
            ConventionStatus.TERMINATED,
            ConventionStatus.EXPIRED,
        )


class ConventionArticle(Audited, Base):
    __tablename__ = "convention_article"
    __table_args__ = (sa.UniqueConstraint("convention_id", "number", name="uq_convention_article_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(sa.ForeignKey("convention.id"), index=True)
    number: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text)

    convention: Mapped[Convention] = relationship(back_populates="articles")


class Amendment(Audited, Base):
    """An avenant: what it changes, with its own deliberation."""

    __tablename__ = "amendment"
    __table_args__ = (sa.UniqueConstraint("convention_id", "number", name="uq_amendment_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(sa.ForeignKey("convention.id"), index=True)
    number: Mapped[int] = mapped_column()
    signed_on: Mapped[date] = mapped_column(sa.Date)
    changes: Mapped[str] = mapped_column(sa.Text)
    deliberation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deliberation.id"))

    convention: Mapped[Convention] = relationship(back_populates="amendments")


class Evaluation(Audited, TimestampMixin, Base):
    """The service evaluation due two months before expiry (art. 9)."""

    __tablename__ = "evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(sa.ForeignKey("convention.id"), index=True)
    evaluated_on: Mapped[date] = mapped_column(sa.Date)
    relevance_of_resources: Mapped[str | None] = mapped_column(sa.Text)
    training_needs: Mapped[str | None] = mapped_column(sa.Text)
    communication_needs: Mapped[str | None] = mapped_column(sa.Text)
    usage: Mapped[str | None] = mapped_column(sa.Text)
    compliance_summary: Mapped[str | None] = mapped_column(sa.Text)
    findings: Mapped[str] = mapped_column(sa.Text)
    decision: Mapped[EvaluationDecision] = mapped_column(str_enum(EvaluationDecision))
    next_convention_id: Mapped[int | None] = mapped_column(sa.ForeignKey("convention.id"))

    convention: Mapped[Convention] = relationship(foreign_keys=[convention_id])


class FormalNotice(Audited, TimestampMixin, Base):
    """A mise en demeure (art. 10): 30 days to answer, else termination may follow."""

    __tablename__ = "formal_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    convention_id: Mapped[int] = mapped_column(sa.ForeignKey("convention.id"), index=True)
    sent_on: Mapped[date] = mapped_column(sa.Date)
    grounds: Mapped[str] = mapped_column(sa.Text)
    tracking_number: Mapped[str | None] = mapped_column(sa.String(60))
    received_on: Mapped[date | None] = mapped_column(sa.Date)
    answer_due_date: Mapped[date] = mapped_column(sa.Date)
    answered_on: Mapped[date | None] = mapped_column(sa.Date)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    # Termination by registered letter with acknowledgement, effective on notification.
    termination_sent_on: Mapped[date | None] = mapped_column(sa.Date)
    termination_tracking_number: Mapped[str | None] = mapped_column(sa.String(60))
    termination_notified_on: Mapped[date | None] = mapped_column(sa.Date)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    convention: Mapped[Convention] = relationship()
