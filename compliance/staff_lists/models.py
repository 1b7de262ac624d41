"""A partner's certified staff lists and the DPO's requests for them.

A snapshot is frozen at certification: its rows (personal data, encrypted at rest) are covered by a
SHA-256 content hash and an HMAC signature (compliance.staff_lists.integrity), and it is never updated
through the ORM afterwards (a before_update hook refuses it). A change made behind the application's back
(raw SQL) is what verify_snapshot() detects.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.auth.models import User
from vigie.crypto import EncryptedString
from vigie.database import Base, TimestampMixin, UTCDateTime, str_enum
from vigie.orgs.models import Organisation

UNREADABLE = ""  # what a sealed column reads as when its ciphertext cannot be decrypted


class SealedText(EncryptedString):
    """Encrypted text that reads as UNREADABLE, instead of failing the whole page, when the stored token
    was replaced by something the keyring cannot decrypt: the snapshot then shows as tampered.
    (Still an EncryptedString: `vigie keys rotate` re-encrypts it like every other column.)"""

    cache_ok = True

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> str | None:
        try:
            return super().process_result_value(value, dialect)
        except (RuntimeError, UnicodeError):
            return UNREADABLE


class StaffRequestStatus(enum.StrEnum):
    PENDING = "pending"  # asked, the partner has not certified its list yet
    FULFILLED = "fulfilled"  # answered by a certified snapshot
    CANCELLED = "cancelled"  # withdrawn by the DPO, with a reason


class StaffListRequest(Audited, TimestampMixin, Base):
    """The DPO asks a partner for its list of authorised staff ("à première demande", art. 11), by a
    date the DPO chooses (three working days by default). One pending request per partner at a time."""

    __tablename__ = "staff_list_request"
    __table_args__ = (sa.Index("ix_staff_list_request_org_status", "organisation_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The last day allowed (Europe/Paris) and its end, 23:59:59 Paris time.
    due_date: Mapped[date] = mapped_column(sa.Date)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[StaffRequestStatus] = mapped_column(
        str_enum(StaffRequestStatus), default=StaffRequestStatus.PENDING
    )
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    requested_by: Mapped[User | None] = relationship()
    # The certified list that answered it (the snapshot names its request).
    snapshot: Mapped[StaffListSnapshot | None] = relationship(uselist=False, viewonly=True)


class StaffListSnapshot(Audited, TimestampMixin, Base):
    """A list of authorised staff as the partner certified it, frozen and signed. Never edited."""

    __tablename__ = "staff_list_snapshot"
    __table_args__ = (sa.Index("ix_staff_list_snapshot_org_certified", "organisation_id", "certified_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    # The request it answers; none when the partner certified of its own accord.
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_list_request.id"), unique=True)
    # Frozen with the rows (an organisation may be renamed later; the certified document is not).
    organisation_name: Mapped[str] = mapped_column(sa.String(200))
    certified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    certified_by_name: Mapped[str] = mapped_column(EncryptedString())
    certified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The rows as canonical JSON (name, e-mail, function, scope, granted_on, granted_by), encrypted.
    rows_json: Mapped[str] = mapped_column("staff_rows", SealedText())
    content_hash: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of the canonical document
    signature: Mapped[str] = mapped_column(sa.String(64))  # HMAC-SHA256 of the hash, server key
    key_id: Mapped[str] = mapped_column(sa.String(16))  # which server key signed it
    scheme: Mapped[str] = mapped_column(sa.String(20), default="v1")

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    request: Mapped[StaffListRequest | None] = relationship()
    certified_by: Mapped[User | None] = relationship()


@event.listens_for(StaffListSnapshot, "before_update")
def _refuse_edits(mapper: Any, connection: Any, target: StaffListSnapshot) -> None:
    raise RuntimeError("a certified staff list is never edited: certify a new one")
