"""Reminders: `vigie deadlines notify` sends each due reminder once (due soon, due today, overdue) to the
people who must act and to the DPO.

Each (deadline, stage) is claimed by inserting a row under a unique key before any e-mail is queued, in
the same transaction: a second run, even a concurrent one, finds the key taken and sends nothing. The
work is proportional to what is due: only open deadlines inside the largest "due soon" horizon are read,
and those already reminded as overdue (the last stage) are left out in SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from vigie.auth.models import User, UserRole
from vigie.auth.roles import TENANT_SCOPED_ROLES, Role
from vigie.database import utcnow
from vigie.deadlines.kinds import DUE_SOON, DUE_TODAY, OVERDUE, DeadlineKind, all_kinds, get_kind
from vigie.deadlines.models import Deadline, DeadlineReminder, DeadlineState
from vigie.extensions import db
from vigie.mail.services import queue_mail
from vigie.timeutil import to_paris


@dataclass
class NotifyReport:
    examined: int = 0
    reminders: int = 0
    emails: int = 0


def due_stage(deadline: Deadline, kind: DeadlineKind, now: datetime) -> str | None:
    """The reminder stage a deadline is in now (None: nothing to say yet)."""
    if deadline.state != DeadlineState.OPEN:
        return None
    if now > deadline.due_at:
        stage = OVERDUE
    elif to_paris(now).date() == (deadline.due_date or to_paris(deadline.due_at).date()):
        stage = DUE_TODAY
    elif now >= deadline.due_at - kind.due_soon:
        stage = DUE_SOON
    else:
        return None
    return stage if stage in kind.reminders else None


def _claim(deadline_id: int, stage: str, now: datetime) -> bool:
    """Insert the (deadline, stage) row; False when another run has it already."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(DeadlineReminder)
        .values(deadline_id=deadline_id, stage=stage, sent_at=now, recipients=0)
        .on_conflict_do_nothing(index_elements=["deadline_id", "stage"])
        .returning(DeadlineReminder.id)
    )
    return db.session.execute(stmt).scalar_one_or_none() is not None


def _recipients(deadlines: list[Deadline]) -> dict[int, list[User]]:
    """deadline id -> active users to write to: those who must act, and the DPOs. Two queries in all."""
    actor_roles = {get_kind(d.kind).actor for d in deadlines}
    network_roles = {r for r in actor_roles if r not in TENANT_SCOPED_ROLES} | {Role.DPO}
    org_ids = {d.organisation_id for d in deadlines}
    users = db.session.scalars(
        sa.select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.active.is_(True),
            sa.or_(
                UserRole.role.in_(network_roles),
                sa.and_(
                    UserRole.role.in_(actor_roles & TENANT_SCOPED_ROLES), User.organisation_id.in_(org_ids)
                ),
            ),
        )
        .distinct()
    ).all()
    by_role: dict[Role, list[User]] = defaultdict(list)
    for user in users:
        for role in user.roles:
            by_role[role].append(user)
    result: dict[int, list[User]] = {}
    for d in deadlines:
        actor = get_kind(d.kind).actor
        actors = by_role[actor]
        if actor in TENANT_SCOPED_ROLES:
            actors = [u for u in actors if u.organisation_id == d.organisation_id]
        seen: dict[int, User] = {u.id: u for u in actors}
        seen.update({u.id: u for u in by_role[Role.DPO]})
        result[d.id] = sorted(seen.values(), key=lambda u: u.id)
    return result


def _message(deadline: Deadline, stage: str, user: User) -> tuple[str, str]:
    kind = get_kind(deadline.kind)
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        due = to_paris(deadline.due_at).strftime("%d/%m/%Y %H:%M")
        headline = {
            DUE_SOON: _("Due soon"),
            DUE_TODAY: _("Due today"),
            OVERDUE: _("Overdue"),
        }[stage]
        subject = _("[Vigie] %(headline)s: %(title)s", headline=headline, title=deadline.title)
        body = "\n".join(
            [
                _("Hello,"),
                "",
                _("%(headline)s: %(title)s", headline=headline, title=deadline.title),
                _("Obligation: %(label)s", label=str(kind.label)),
                _("Organisation: %(name)s", name=deadline.organisation.name),
                _("Due: %(due)s (Paris time)", due=due),
                "",
                _("Open Vigie: %(url)s", url=current_app.config["BASE_URL"].rstrip("/") + "/deadlines/"),
            ]
        )
    return subject, body


def notify(now: datetime | None = None, batch: int = 200) -> NotifyReport:
    """Send the reminders due now. Commits after each deadline, so a concurrent run waits at most for one."""
    now = now or utcnow()
    horizon = max((k.due_soon for k in all_kinds()), default=timedelta(0))
    last_stage_sent = sa.exists().where(
        DeadlineReminder.deadline_id == Deadline.id, DeadlineReminder.stage == OVERDUE
    )
    report = NotifyReport()
    last_id = 0
    while True:
        deadlines = db.session.scalars(
            sa.select(Deadline)
            .where(
                Deadline.state == DeadlineState.OPEN,
                Deadline.due_at <= now + horizon,
                ~last_stage_sent,
                Deadline.id > last_id,
            )
            .order_by(Deadline.id)
            .limit(batch)
        ).all()
        if not deadlines:
            break
        last_id = deadlines[-1].id
        report.examined += len(deadlines)
        staged = [(d, due_stage(d, get_kind(d.kind), now)) for d in deadlines]
        staged = [(d, s) for d, s in staged if s is not None]
        recipients = _recipients([d for d, _s in staged]) if staged else {}
        for deadline, stage in staged:
            assert stage is not None  # noqa: S101 (filtered above; for the type checker)
            if not _claim(deadline.id, stage, now):
                db.session.rollback()
                continue
            sent = 0
            for user in recipients[deadline.id]:
                subject, body = _message(deadline, stage, user)
                if queue_mail(
                    user.email, subject, body, dedupe_key=f"reminder:{deadline.id}:{stage}:{user.id}"
                ):
                    sent += 1
            db.session.execute(
                sa.update(DeadlineReminder)
                .where(DeadlineReminder.deadline_id == deadline.id, DeadlineReminder.stage == stage)
                .values(recipients=sent)
            )
            db.session.commit()
            report.reminders += 1
            report.emails += sent
    return report
