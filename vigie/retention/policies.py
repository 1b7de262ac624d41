"""The shell's own retention policies: the sign-in log and the mail outbox.

Defaults, and why (each set by its environment variable):

- **Sign-in log** (`vigie.auth.login_log`): rows deleted 180 days after the attempt
  (`VIGIE_RETENTION_SIGN_IN_LOG_DAYS`, the setting LOGIN_EVENTS_RETENTION_DAYS that the log already uses
  when it deletes old rows as new ones are written: one setting, so the two never disagree). The CNIL's
  recommendation on logging (délibération 2021-122) advises keeping such logs six months to one year;
  the log keeps the lower bound. The policy matters when nobody signs in for a while: nothing else
  deletes the old rows then.
- **Mail outbox** (`vigie.mail`): an e-mail that was sent, or given up for good, is erased 90 days
  after it was sent (or queued, for one given up) (`VIGIE_RETENTION_OUTBOX_DAYS`). Its recipient,
  subject and body are personal data and the outbox is only a delivery queue: three months leave time to
  answer "did the e-mail leave?" questions. A message without a dedupe key is deleted; one with a key
  keeps its row, emptied (recipient and subject replaced by the marker, body, attachments and error
  removed, `anonymised_at` set), because the key is what stops the same e-mail from ever being queued
  twice (`queue_mail`). Messages still queued or being sent are never touched.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from vigie.auth.login_log import LoginEvent
from vigie.extensions import db
from vigie.mail.models import OutboxMessage, OutboxStatus
from vigie.retention.registry import Action, Applied, Cutoff, Policy, Unit, register_policy

# What replaces a name or an address that retention erased (stored as data, in the Département's language).
ANONYMISED = "[anonymisé]"

_NO_LABEL = sa.cast(sa.null(), sa.String).label("label")


def _rowcount(result: sa.Result[object]) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _sign_ins_due(cutoff: Cutoff) -> sa.Select[int, str]:
    return sa.select(LoginEvent.id.label("id"), _NO_LABEL).where(LoginEvent.at < cutoff.before)


def _delete_sign_ins(ids: list[int], now: datetime) -> Applied:
    result = db.session.execute(
        sa.delete(LoginEvent).where(LoginEvent.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return Applied(_rowcount(result))


_DONE = (OutboxStatus.SENT, OutboxStatus.FAILED)


def _outbox_due(cutoff: Cutoff) -> sa.Select[int, str]:
    return sa.select(OutboxMessage.id.label("id"), _NO_LABEL).where(
        OutboxMessage.status.in_(_DONE),
        OutboxMessage.anonymised_at.is_(None),
        sa.func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < cutoff.before,
    )


def _erase_outbox(ids: list[int], now: datetime) -> Applied:
    # The statuses are checked again: a row is never erased under a sender that claimed it meanwhile.
    mine = (OutboxMessage.id.in_(ids), OutboxMessage.status.in_(_DONE), OutboxMessage.anonymised_at.is_(None))
    deleted = db.session.execute(
        sa.delete(OutboxMessage)
        .where(*mine, OutboxMessage.dedupe_key.is_(None))
        .execution_options(synchronize_session=False)
    )
    emptied = db.session.execute(
        sa.update(OutboxMessage)
        .where(*mine, OutboxMessage.dedupe_key.is_not(None))
        .values(
            recipient=ANONYMISED,
            subject=ANONYMISED,
            body="",
            attachments=None,
            last_error=None,
            anonymised_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return Applied(_rowcount(deleted) + _rowcount(emptied))


SIGN_IN_LOG = Policy(
    name="sign_in_log",
    description=_l("Sign-in log: every attempt, deleted"),
    counted_from=_l("after the attempt"),
    action=Action.DELETE,
    unit=Unit.DAYS,
    setting="LOGIN_EVENTS_RETENTION_DAYS",
    env_var="VIGIE_RETENTION_SIGN_IN_LOG_DAYS",
    find=_sign_ins_due,
    change=_delete_sign_ins,
)

OUTBOX = Policy(
    name="outbox",
    description=_l(
        "E-mails sent or given up: deleted, or emptied when their key must stay so that they are never "
        "sent twice"
    ),
    counted_from=_l("after sending"),
    action=Action.ERASE,
    unit=Unit.DAYS,
    setting="RETENTION_OUTBOX_DAYS",
    env_var="VIGIE_RETENTION_OUTBOX_DAYS",
    find=_outbox_due,
    change=_erase_outbox,
)


def register_core_policies() -> None:
    register_policy(SIGN_IN_LOG)
    register_policy(OUTBOX)
