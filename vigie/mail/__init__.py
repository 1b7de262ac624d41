"""The mail outbox: e-mails are rows first (services.queue_mail), delivered right after the commit that
queued them when the SMTP server answers, and otherwise by `vigie mail send-pending` (cron).

`init_app(app)` registers the after-commit delivery; it is idempotent.

Configuration (all optional): MAIL_SEND_ON_COMMIT (default True), MAIL_SEND_ON_COMMIT_TIMEOUT (seconds,
default 5), SMTP_TIMEOUT (seconds, default 10, for send-pending), MAIL_MAX_ATTEMPTS (default 6), and the
SMTP_* / MAIL_FROM settings of vigie.config.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from vigie.mail.services import DEFAULT_SEND_ON_COMMIT_TIMEOUT, QUEUED_IDS_KEY, deliver_queued
from vigie.mail.smtp import MailConfigurationError

logger = logging.getLogger("vigie.mail")


def init_app(app: Flask) -> None:
    register(Session)


def register(session_class: type[Session]) -> None:
    if not event.contains(session_class, "after_commit", _after_commit):
        event.listen(session_class, "after_commit", _after_commit)
    if not event.contains(session_class, "after_soft_rollback", _after_soft_rollback):
        event.listen(session_class, "after_soft_rollback", _after_soft_rollback)


def _after_commit(session: Session) -> None:
    """Deliver what the committed transaction queued. Never raises: the commit has happened, and the
    user's action must not fail because of the mail; undelivered rows stay queued for send-pending."""
    if session.in_nested_transaction():
        return  # a savepoint was released: the outer transaction may still roll back
    ids = session.info.pop(QUEUED_IDS_KEY, None)
    if not ids or not has_app_context():
        return
    try:
        if not current_app.config.get("MAIL_SEND_ON_COMMIT", True):
            return
        timeout = float(current_app.config.get("MAIL_SEND_ON_COMMIT_TIMEOUT", DEFAULT_SEND_ON_COMMIT_TIMEOUT))
        report = deliver_queued(sorted(ids), timeout=timeout)
        if report.smtp_error:
            logger.warning(
                "mail: %s e-mail(s) left for `vigie mail send-pending`: %s",
                report.retried + report.failed,
                report.smtp_error,
            )
    except MailConfigurationError as err:
        logger.error("mail: immediate delivery impossible, the e-mails stay queued: %s", err)
    except Exception:
        logger.exception(
            "mail: immediate delivery failed; the e-mails stay queued for `vigie mail send-pending`"
        )


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(QUEUED_IDS_KEY, None)
