from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.crypto import EncryptedString
from vigie.database import Base, TimestampMixin, UTCDateTime
from vigie.orgs.models import Organisation


class PartnerDpo(Audited, TimestampMixin, Base):
    """A partner's data protection officer (due at the signature of the convention). One current row per
    partner; a replaced DPO keeps its row with `until` set, so the history stays."""

    __tablename__ = "partner_dpo"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(EncryptedString())
    email: Mapped[str] = mapped_column(EncryptedString())
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    address: Mapped[str | None] = mapped_column(EncryptedString())
    cnil_designation: Mapped[str | None] = mapped_column(sa.String(40))
    since: Mapped[date] = mapped_column(sa.Date)
    until: Mapped[date | None] = mapped_column(sa.Date)

    organisation: Mapped[Organisation] = relationship()


class StaffGrant(Audited, TimestampMixin, Base):
    """An authorisation ("habilitation") of one person at a partner to see personal data. Never deleted:
    revoking sets the end, so the list on any past date can be rebuilt."""

    __tablename__ = "staff_grant"
    __table_args__ = (sa.Index("ix_staff_grant_org_dates", "organisation_id", "granted_on", "revoked_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(EncryptedString())
    email: Mapped[str | None] = mapped_column(EncryptedString())
    function: Mapped[str | None] = mapped_column(sa.String(200))
    # What the person may do: registrations, user support… (comma-separated words of SCOPES)
    scope: Mapped[str] = mapped_column(sa.String(200), default="registrations")
    granted_on: Mapped[date] = mapped_column(sa.Date)
    granted_by: Mapped[str] = mapped_column(sa.String(254))
    revoked_on: Mapped[date | None] = mapped_column(sa.Date)
    revoked_by: Mapped[str | None] = mapped_column(sa.String(254))
    revocation_reason: Mapped[str | None] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship()

    def active_on(self, day: date) -> bool:
        """Granted on that day or before, and not yet revoked (a revocation takes effect on its day)."""
        return self.granted_on <= day and (self.revoked_on is None or day < self.revoked_on)


class SubProcessor(Audited, TimestampMixin, Base):
    """A company a partner relies on for the processing (bound by the same obligations, art. 11)."""

    __tablename__ = "sub_processor"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    company: Mapped[str] = mapped_column(sa.String(200))
    service: Mapped[str] = mapped_column(sa.String(300))
    data_concerned: Mapped[str | None] = mapped_column(sa.Text)
    clauses_in_place: Mapped[bool] = mapped_column(default=False)
    clauses_signed_on: Mapped[date | None] = mapped_column(sa.Date)
    data_outside_eu: Mapped[bool] = mapped_column(default=False)
    location: Mapped[str | None] = mapped_column(sa.String(200))
    ended_on: Mapped[date | None] = mapped_column(sa.Date)

    organisation: Mapped[Organisation] = relationship()

    @property
    def warnings(self) -> list[str]:
        found = []
        if not self.clauses_in_place:
            found.append("clauses_missing")
        if self.data_outside_eu:
            found.append("outside_eu")
        return found
