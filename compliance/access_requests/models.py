from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.crypto import EncryptedString
from vigie.database import Base, TimestampMixin, UTCDateTime, str_enum
from vigie.orgs.models import Organisation


class Right(enum.StrEnum):
    ACCESS = "access"  # art. 15
    RECTIFICATION = "rectification"  # art. 16
    ERASURE = "erasure"  # art. 17
    RESTRICTION = "restriction"  # art. 18
    PORTABILITY = "portability"  # art. 20
    OBJECTION = "objection"  # art. 21


class RequestStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class Outcome(enum.StrEnum):
    GRANTED = "granted"
    PARTIAL = "partial"  # with the legal ground
    REFUSED = "refused"  # with the legal ground


class AccessRequest(Audited, TimestampMixin, Base):
    """A request from a person about their data. Who they are and how to reach them is encrypted."""

    __tablename__ = "access_request"
    # What the retention policy looks for: answered requests not yet anonymised (compliance/retention.py).
    __table_args__ = (
        sa.Index("ix_access_request_anonymised_at_answered_at", "anonymised_at", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    right: Mapped[Right] = mapped_column(str_enum(Right))
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus), default=RequestStatus.OPEN)

    subject_name: Mapped[str] = mapped_column(EncryptedString())
    subject_email: Mapped[str | None] = mapped_column(EncryptedString())
    subject_phone: Mapped[str | None] = mapped_column(EncryptedString())
    subject_address: Mapped[str | None] = mapped_column(EncryptedString())
    # What the person asked, in their words (may name other people).
    request_text: Mapped[str | None] = mapped_column(EncryptedString())

    # Where it arrived: the Département, or a partner that then forwards it.
    received_by_organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str | None] = mapped_column(sa.String(100))
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    # Identity verification (GDPR 12(6)), when there is a reasonable doubt.
    identity_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    identity_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    identity_method: Mapped[str | None] = mapped_column(sa.String(200))

    # The answer's clock: one month from receipt (GDPR 12(3)), extendable once by two months.
    response_due_date: Mapped[date] = mapped_column(sa.Date)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extension_reason: Mapped[str | None] = mapped_column(EncryptedString())
    extension_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_channel: Mapped[str | None] = mapped_column(sa.String(100))
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome))
    legal_ground: Mapped[str | None] = mapped_column(sa.Text)
    answer_text: Mapped[str | None] = mapped_column(EncryptedString())
    # Set when the retention policy replaced the identity with a marker (compliance/retention.py).
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    received_by: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    inquiries: Mapped[list[Inquiry]] = relationship(back_populates="request", order_by="Inquiry.id")

    @property
    def organisation_id(self) -> int:  # the tenant of the record, for the audit trail and scoping
        return self.received_by_organisation_id

    @property
    def forwarding_delay(self) -> float | None:
        if self.forwarded_at is None:
            return None
        return (self.forwarded_at - self.received_at).total_seconds()


class Inquiry(Audited, Base):
    """The Département asks a partner what it holds about the person: three working days to answer."""

    __tablename__ = "inquiry"
    __table_args__ = (sa.UniqueConstraint("request_id", "organisation_id", name="uq_inquiry_request_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("access_request.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_date: Mapped[date] = mapped_column(sa.Date)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Only what the partner needs to find the person (name, card number…): not the whole request.
    search_details: Mapped[str] = mapped_column(EncryptedString())
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    holds_data: Mapped[bool | None] = mapped_column()
    details: Mapped[str | None] = mapped_column(EncryptedString())
    attachment_key: Mapped[str | None] = mapped_column(sa.String(64))
    attachment_name: Mapped[str | None] = mapped_column(EncryptedString())
    attachment_type: Mapped[str | None] = mapped_column(sa.String(100))
    attachment_size: Mapped[int | None] = mapped_column()

    request: Mapped[AccessRequest] = relationship(back_populates="inquiries")
    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
