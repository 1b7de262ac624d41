"""The mail outbox: every e-mail is a row first, written in the transaction of the action that causes it."""

from __future__ import annotations

import base64
import enum
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vigie.crypto import EncryptedString
from vigie.database import Base, UTCDateTime, str_enum, utcnow


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a sender until next_attempt_at (a lease); then due again
    SENT = "sent"
    FAILED = "failed"  # permanently refused, or out of attempts


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # may carry parameters: "text/calendar; method=REQUEST"
    content: bytes


def attachments_to_json(attachments: list[Attachment]) -> str:
    return json.dumps(
        [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "content": base64.b64encode(a.content).decode("ascii"),
            }
            for a in attachments
        ]
    )


def attachments_from_json(text: str | None) -> list[Attachment]:
    if not text:
        return []
    return [
        Attachment(
            filename=item["filename"],
            content_type=item["content_type"],
            content=base64.b64decode(item["content"]),
        )
        for item in json.loads(text)
    ]


class OutboxMessage(Base):
    """One e-mail to one recipient. Not audited: the action that queued it is.

    Recipient, subject, body and attachments are personal data, encrypted at rest. ``last_error`` holds
    the SMTP error with any address removed. ``message_id`` is fixed when the row is written, so a retry
    carries the same Message-ID as the attempt it repeats.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        # What the senders look for: due rows (queued, or claimed by a sender whose lease ran out).
        sa.Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(EncryptedString())
    subject: Mapped[str] = mapped_column(EncryptedString())
    body: Mapped[str] = mapped_column(EncryptedString())
    # JSON list of {filename, content_type, content (base64)}; see attachments_from_json().
    attachments: Mapped[str | None] = mapped_column(EncryptedString())
    message_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus), default=OutboxStatus.QUEUED)
    # Delivery attempts started (counted when a sender claims the row).
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Chosen by the caller ("reminder:42:overdue") so the same e-mail is never queued twice.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    # Set by the retention policy "outbox" when it erased the content and kept the row for its dedupe key.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def attachment_list(self) -> list[Attachment]:
        return attachments_from_json(self.attachments)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.status.value}>"
