"""A record of processing and its versions. The record is a heading (whose record, which kind); its
content lives in versions, one per save, never changed nor deleted: the current one is the latest."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.auth.models import User
from vigie.crypto import EncryptedString
from vigie.database import Base, TimestampMixin, UTCDateTime, str_enum
from vigie.orgs.models import Organisation


class RecordKind(enum.StrEnum):
    CONTROLLER = "controller"  # GDPR 30(1): the Département's record
    PROCESSOR = "processor"  # GDPR 30(2): a partner's record of the processing it carries out for it


class LegalBasis(enum.StrEnum):
    """GDPR art. 6(1), points (a) to (f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class ProcessingRecord(Audited, TimestampMixin, Base):
    """One record per organisation and kind: the controller's (30(1)) or a partner's (30(2))."""

    __tablename__ = "processing_record"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "kind", name="uq_processing_record_org_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RecordKind] = mapped_column(str_enum(RecordKind))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)

    organisation: Mapped[Organisation] = relationship()
    versions: Mapped[list[ProcessingRecordVersion]] = relationship(
        back_populates="record", order_by="ProcessingRecordVersion.number"
    )

    @property
    def current(self) -> ProcessingRecordVersion | None:
        """The latest version (every record has one once created)."""
        return self.versions[-1] if self.versions else None

    def __repr__(self) -> str:
        return f"<ProcessingRecord {self.id} {self.kind.value} org={self.organisation_id}>"


class ProcessingRecordVersion(Audited, Base):
    """What the record said from one save to the next. Written once: an update or a delete raises.

    The contact details of people (the DPOs, the representatives) are encrypted; the rest describes the
    processing, not the people it concerns. Columns a kind does not use stay empty."""

    __tablename__ = "processing_record_version"
    __table_args__ = (sa.UniqueConstraint("record_id", "number", name="uq_processing_record_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("processing_record.id"), index=True)
    number: Mapped[int] = mapped_column()
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    saved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    saved_by: Mapped[str] = mapped_column(sa.String(254))  # the author's login, as the audit trail names it
    change_note: Mapped[str] = mapped_column(sa.Text)

    # --- both kinds
    name: Mapped[str | None] = mapped_column(sa.String(300))  # the processing's name
    controller_name: Mapped[str | None] = mapped_column(sa.String(300))
    controller_contact: Mapped[str | None] = mapped_column(EncryptedString())
    dpo_name: Mapped[str | None] = mapped_column(EncryptedString())
    dpo_contact: Mapped[str | None] = mapped_column(EncryptedString())
    transfers_outside_eu: Mapped[bool] = mapped_column(default=False)
    transfers: Mapped[str | None] = mapped_column(sa.Text)
    security_measures: Mapped[str | None] = mapped_column(sa.Text)
    # --- the controller's record (30(1))
    purposes: Mapped[str | None] = mapped_column(sa.Text)
    legal_basis: Mapped[LegalBasis | None] = mapped_column(str_enum(LegalBasis))
    legal_basis_details: Mapped[str | None] = mapped_column(sa.Text)
    data_subjects: Mapped[str | None] = mapped_column(sa.Text)
    data_categories: Mapped[str | None] = mapped_column(sa.Text)
    recipients: Mapped[str | None] = mapped_column(sa.Text)
    retention: Mapped[str | None] = mapped_column(sa.Text)
    # --- a processor's record (30(2))
    processor_name: Mapped[str | None] = mapped_column(sa.String(300))
    processor_contact: Mapped[str | None] = mapped_column(EncryptedString())
    processing_categories: Mapped[str | None] = mapped_column(sa.Text)
    sub_processors: Mapped[str | None] = mapped_column(sa.Text)

    record: Mapped[ProcessingRecord] = relationship(back_populates="versions")
    author: Mapped[User | None] = relationship()

    @property
    def organisation_id(self) -> int:
        """The record's organisation (the audit trail files the version under it)."""
        return self.record.organisation_id

    def value(self, key: str) -> Any:
        return getattr(self, key)


class ImmutableVersion(RuntimeError):
    """A saved version was about to be changed or deleted."""


@event.listens_for(ProcessingRecordVersion, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: ProcessingRecordVersion) -> None:
    raise ImmutableVersion(f"version {target.number} of record {target.record_id} cannot be changed")


@event.listens_for(ProcessingRecordVersion, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: ProcessingRecordVersion) -> None:
    raise ImmutableVersion(f"version {target.number} of record {target.record_id} cannot be deleted")
