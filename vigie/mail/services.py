"""The outbox: every e-mail is a row first, written in the transaction of the action that causes it.

``queue_mail()`` only adds the row (the caller commits once, as for any service). Delivery happens later,
on connections of its own, so a failing SMTP server never fails the action that queued the e-mail:

- right after the commit that queued it (``deliver_queued()``, called by the after-commit hook of
  ``vigie.mail.init_app``), with a short timeout;
- otherwise from cron, by ``vigie mail send-pending`` (``send_pending()``), with retries and back-off.

Each delivery claims its row first (status ``sending``, a lease in ``next_attempt_at``, ``attempts`` + 1)
in a short transaction of its own, sends, then records the outcome in another: two senders never send the
same row, and a sender that dies mid-way leaves at most the one message it was sending, which is due
again when its lease runs out (delivery is at least once; the Message-ID stays the same, so a duplicate
can be recognised).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from vigie.crypto import keyring
from vigie.database import utcnow
from vigie.extensions import db
from vigie.mail.models import (
    Attachment,
    OutboxMessage,
    OutboxStatus,
    attachments_from_json,
    attachments_to_json,
)
from vigie.mail.smtp import (
    DeliveryFailure,
    MailConfigurationError,
    SmtpConnection,
    SmtpSettings,
    build_message,
    describe_failure,
    message_id_domain,
    smtp_settings,
)

logger = logging.getLogger("vigie.mail")

# Ids of the messages queued in a session's transaction, delivered after its commit (see __init__.py).
QUEUED_IDS_KEY = "vigie.mail.queued"
# Wait after the 1st, 2nd, ... failed attempt; the last delay repeats if MAIL_MAX_ATTEMPTS asks for more.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
DEFAULT_MAX_ATTEMPTS = len(RETRY_DELAYS) + 1  # the attempt after the 12-hour wait is the last
# How long a claimed row belongs to its sender. Far longer than a send can take (SMTP_TIMEOUT per
# exchange): it only matters when a sender died mid-way.
CLAIM_LEASE = timedelta(minutes=15)
DEFAULT_SEND_ON_COMMIT_TIMEOUT = 5.0

_BARE_ADDRESS = re.compile(r"[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+\.[^@\s<>,;:\"()\[\]\\]+")
_table: sa.Table = OutboxMessage.__table__  # type: ignore[assignment]


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0  # gave up: refused for good, or out of attempts
    retried: int = 0  # failed this time, scheduled again
    smtp_error: str | None = None  # why the run stopped early (server unreachable); the rest stays queued


def retry_delay(attempts: int) -> timedelta:
    """The wait after the given number of failed attempts (1 → 1 minute, ... 5 and more → 12 hours)."""
    return RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]


def max_attempts() -> int:
    return max(1, int(current_app.config.get("MAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))


def queue_mail(
    recipient: str,
    subject: str,
    body: str,
    attachments: Sequence[Attachment] | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """Add an e-mail to the outbox in the current transaction (never commits, never talks to SMTP).

    Returns None, and adds nothing, when a message with this ``dedupe_key`` exists already, whatever its
    status: a key is used once, ever. Safe when two transactions race for the same key (INSERT ... ON
    CONFLICT DO NOTHING: the second waits for the first and then adds nothing).
    Raises ValueError for a recipient that is not a bare address or a subject on several lines.
    """
    recipient = recipient.strip()
    if not _BARE_ADDRESS.fullmatch(recipient):
        raise ValueError("the recipient must be a single bare e-mail address")
    if "\r" in subject or "\n" in subject:
        raise ValueError("an e-mail subject is a single line")
    if dedupe_key is not None and not 0 < len(dedupe_key) <= 200:
        raise ValueError("a dedupe key has 1 to 200 characters")
    for attachment in attachments or ():
        if "/" not in attachment.content_type or not attachment.filename:
            raise ValueError("an attachment needs a file name and a MIME type such as text/calendar")

    now = utcnow()
    values: dict[str, Any] = {
        "recipient": recipient,
        "subject": subject,
        "body": body,
        "attachments": attachments_to_json(list(attachments)) if attachments else None,
        "message_id": make_msgid(domain=message_id_domain(current_app.config.get("MAIL_FROM"))),
        "status": OutboxStatus.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "dedupe_key": dedupe_key,
    }
    session = db.session
    dialect = session.get_bind(mapper=sa.inspect(OutboxMessage)).dialect.name
    # Vigie runs on PostgreSQL and SQLite (DESIGN.md); both know ON CONFLICT DO NOTHING.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[_table.c.dedupe_key])
        .returning(OutboxMessage)
    )
    message = session.scalars(stmt).one_or_none()
    if message is None:
        return None
    session.info.setdefault(QUEUED_IDS_KEY, set()).add(message.id)
    return message


# --- delivery ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempts: int  # including this one
    message_id: str
    created_at: datetime
    # Fernet tokens, decrypted only when the message is built.
    recipient: str
    subject: str
    body: str
    attachments: str | None


def _raw(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """The stored token, without the EncryptedString decryption."""
    return sa.type_coerce(column, sa.Text).label(column.name)


def _due(now: datetime) -> sa.ColumnElement[bool]:
    # A row still `sending` after its lease was claimed by a sender that died: it is due again.
    return sa.and_(
        _table.c.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]), _table.c.next_attempt_at <= now
    )


@dataclass
class _Claim:
    items: list[_Claimed]
    gave_up: int = 0  # rows abandoned by a dead sender during their last attempt: now failed
    lost: int = 0  # rows another sender claimed between our SELECT and our UPDATE

    @property
    def found_any(self) -> bool:
        return bool(self.items or self.gave_up or self.lost)


def _claim(conn: sa.Connection, now: datetime, limit: int, ids: Collection[int] | None = None) -> _Claim:
    """Claim up to `limit` due rows.

    On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so concurrent senders take different
    rows without waiting; the UPDATE is conditional on what was read, so a row another sender claimed in
    between (SQLite, or a lease that ran out meanwhile) is left alone.
    """
    t = _table
    stmt = sa.select(
        t.c.id,
        t.c.status,
        t.c.attempts,
        t.c.message_id,
        t.c.created_at,
        _raw(t.c.recipient),
        _raw(t.c.subject),
        _raw(t.c.body),
        _raw(t.c.attachments),
    ).where(_due(now))
    if ids is not None:
        stmt = stmt.where(t.c.id.in_(list(ids)))
    stmt = stmt.order_by(t.c.next_attempt_at, t.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    claim = _Claim(items=[])
    most = max_attempts()
    for row in conn.execute(stmt).all():
        # (status, attempts) changes at every claim: it tells whether someone else took the row meanwhile.
        unchanged = sa.and_(t.c.id == row.id, t.c.status == row.status, t.c.attempts == row.attempts)
        if row.status == OutboxStatus.SENDING and row.attempts >= most:
            done = conn.execute(
                sa.update(t)
                .where(unchanged)
                .values(
                    status=OutboxStatus.FAILED,
                    last_error=f"the sender stopped during attempt {row.attempts}, the last one allowed",
                )
            )
            if done.rowcount == 1:
                logger.warning("mail: outbox message %s abandoned during its last attempt: failed", row.id)
                claim.gave_up += 1
            else:
                claim.lost += 1
            continue
        taken = conn.execute(
            sa.update(t)
            .where(unchanged)
            .values(
                status=OutboxStatus.SENDING,
                attempts=row.attempts + 1,
                next_attempt_at=now + CLAIM_LEASE,
            )
        )
        if taken.rowcount != 1:
            claim.lost += 1  # another sender was quicker
            continue
        if row.status == OutboxStatus.SENDING:
            logger.warning("mail: outbox message %s was abandoned by its sender; sending it again", row.id)
        claim.items.append(
            _Claimed(
                id=row.id,
                attempts=row.attempts + 1,
                message_id=row.message_id,
                created_at=row.created_at,
                recipient=row.recipient,
                subject=row.subject,
                body=row.body,
                attachments=row.attachments,
            )
        )
    return claim


def _deliver(connection: SmtpConnection, settings: SmtpSettings, item: _Claimed) -> DeliveryFailure | None:
    """Send one claimed message; None when the server accepted it."""
    ring = keyring()
    try:
        recipient = ring.decrypt(item.recipient)
        subject = ring.decrypt(item.subject)
        body = ring.decrypt(item.body)
        attachments = attachments_from_json(ring.decrypt(item.attachments) if item.attachments else None)
    except InvalidToken:
        return DeliveryFailure(
            "the message cannot be decrypted with the configured VIGIE_ENCRYPTION_KEYS "
            "(was a key removed before `vigie keys rotate` ran?)",
            configuration=True,
        )
    try:
        message = build_message(
            settings,
            recipient=recipient,
            subject=subject,
            body=body,
            message_id=item.message_id,
            date=item.created_at,
            attachments=attachments,
        )
    except Exception as exc:
        return describe_failure(exc, recipient)
    try:
        connection.open()
    except Exception as exc:
        return describe_failure(exc, recipient, opening=True)
    try:
        connection.send(message, recipient)
    except Exception as exc:
        return describe_failure(exc, recipient)
    return None


def _record(
    conn: sa.Connection, item: _Claimed, failure: DeliveryFailure | None, now: datetime, report: SendReport
) -> None:
    t = _table
    mine = sa.and_(t.c.id == item.id, t.c.status == OutboxStatus.SENDING, t.c.attempts == item.attempts)
    if failure is None:
        values: dict[str, Any] = {"status": OutboxStatus.SENT, "sent_at": now, "last_error": None}
        report.sent += 1
    elif failure.permanent or item.attempts >= max_attempts():
        values = {"status": OutboxStatus.FAILED, "last_error": failure.error}
        report.failed += 1
        logger.error("mail: outbox message %s failed for good: %s", item.id, failure.error)
    else:
        values = {
            "status": OutboxStatus.QUEUED,
            "last_error": failure.error,
            "next_attempt_at": now + retry_delay(item.attempts),
        }
        report.retried += 1
        logger.warning(
            "mail: outbox message %s not delivered (attempt %s): %s", item.id, item.attempts, failure.error
        )
    if conn.execute(sa.update(t).where(mine).values(**values)).rowcount != 1:
        # Our lease ran out and another sender took the row over: it records its own outcome.
        logger.warning("mail: outbox message %s was taken over by another sender", item.id)


def _configuration_sentence(failure: DeliveryFailure) -> str:
    return (
        f"The mail settings do not work ({failure.error}): check VIGIE_SMTP_USER, VIGIE_SMTP_PASSWORD, "
        "VIGIE_SMTP_TLS, VIGIE_MAIL_FROM and VIGIE_ENCRYPTION_KEYS. The e-mails stay queued."
    )


def _process(
    connection: SmtpConnection,
    settings: SmtpSettings,
    items: list[_Claimed],
    now: datetime,
    report: SendReport,
) -> DeliveryFailure | None:
    """Send claimed messages, recording each outcome in its own transaction; after a failure that concerns
    the server rather than the message, the others are recorded with the same failure, unsent.
    Returns that failure, if any."""
    stop: DeliveryFailure | None = None
    for item in items:
        failure = stop or _deliver(connection, settings, item)
        with db.engine.begin() as conn:
            _record(conn, item, failure, now, report)
        if failure is not None and (failure.unreachable or failure.configuration):
            stop = failure
    return stop


def send_pending(limit: int = 100, now: datetime | None = None) -> SendReport:
    """Deliver up to `limit` due messages (the cron job behind `vigie mail send-pending`).

    The one place in Vigie that commits outside a request or a command: each claim and each outcome is a
    short transaction of its own, on connections of its own (never the caller's session), so a crash
    loses nothing and re-sends at most the one message in flight. Safe when several run at once.

    The SMTP session is opened before any row is claimed: while the server is unreachable, nothing is
    touched (no attempt is counted) and `smtp_error` says why. A failure that concerns one message
    schedules its retry (``retry_delay``), or fails it for good when it was permanent (recipient refused
    with a 5xx) or the last of MAIL_MAX_ATTEMPTS.

    Raises MailConfigurationError, with a sentence, when the settings cannot work (before anything is
    touched, or after recording the one attempt that revealed it: credentials refused, sender refused).
    `now` (tests) replaces the clock.
    """
    settings = smtp_settings(current_app.config)

    def clock() -> datetime:
        return now if now is not None else utcnow()

    report = SendReport()
    with db.engine.connect() as conn:
        if conn.execute(sa.select(_table.c.id).where(_due(clock())).limit(1)).first() is None:
            return report
    with SmtpConnection(settings) as connection:
        try:
            connection.open()
        except Exception as exc:
            failure = describe_failure(exc, opening=True)
            if failure.configuration:
                raise MailConfigurationError(_configuration_sentence(failure)) from exc
            logger.warning("mail: SMTP server unreachable, nothing sent: %s", failure.error)
            report.smtp_error = failure.error
            return report
        handled = 0
        while handled < limit:
            with db.engine.begin() as conn:
                claim = _claim(conn, clock(), limit=1)
            if not claim.found_any:
                break
            report.failed += claim.gave_up
            handled += claim.gave_up + len(claim.items)
            stop = _process(connection, settings, claim.items, clock(), report)
            if stop is not None and stop.configuration:
                raise MailConfigurationError(_configuration_sentence(stop))
            if stop is not None:
                report.smtp_error = stop.error
                break
    return report


def deliver_queued(ids: Collection[int], timeout: float | None = None) -> SendReport:
    """Deliver these messages now if they are still due (called right after the commit that queued them).

    Claims them first, so a concurrent `send-pending` never sends them too. A failure counts as their
    first attempt and schedules the retry; nothing is raised for SMTP errors. Raises MailConfigurationError
    (before claiming anything) when the settings cannot work.
    """
    settings = smtp_settings(current_app.config, timeout=timeout)
    report = SendReport()
    if not ids:
        return report
    with db.engine.begin() as conn:
        claim = _claim(conn, utcnow(), limit=len(ids), ids=ids)
    report.failed = claim.gave_up
    if not claim.items:
        return report
    with SmtpConnection(settings) as connection:
        stop = _process(connection, settings, claim.items, utcnow(), report)
    if stop is not None:
        report.smtp_error = stop.error
    return report
