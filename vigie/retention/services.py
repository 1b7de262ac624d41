"""Running the policies: what is due (a plan, read only) and applying it in batches.

Nothing here commits: `vigie retention apply` commits after each batch (`after_batch`), then deletes the
files that batch released, so a file is never deleted for a change that was rolled back, and the audit
trail's lock (held by a transaction that writes audit rows) is never held for a whole backlog. A run
that stops half-way leaves whole batches done; the next run carries on. A second run finds nothing to
do: what was deleted is gone, what was anonymised is marked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from vigie.extensions import db
from vigie.retention.models import RetentionRun
from vigie.retention.registry import Applied, Candidate, Cutoff, Period, Policy

BATCH = 500
# Two runs at once (cron overlapping a manual run) take turns batch by batch on PostgreSQL, so they never
# work on the same rows; SQLite serialises writers anyway.
_PG_LOCK_KEY = 0x52455445  # "RETE"


def _take_turn() -> None:
    """Wait for any other run's batch to commit (the lock ends with this transaction)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))


@dataclass
class Outcome:
    """A policy's plan (dry run) or what its run did."""

    policy: Policy
    period: Period
    cutoff: Cutoff
    count: int = 0
    shown: list[Candidate] = field(default_factory=list)  # the first `show` records, by id
    files: list[str] = field(default_factory=list)  # to delete after the commit


def check_settings(policies: Iterable[Policy]) -> dict[str, Period]:
    """Every policy's period, or RetentionSettingError for the first bad one (before anything changes)."""
    return {policy.name: policy.period() for policy in policies}


def _due(policy: Policy, cutoff: Cutoff) -> sa.Subquery:
    return policy.find(cutoff).subquery("due")


def plan(policy: Policy, now: datetime, show: int | None = 20) -> Outcome:
    """What `apply` would do now: counted and listed in SQL, nothing loaded, nothing changed."""
    cutoff = policy.cutoff(now)
    due = _due(policy, cutoff)
    count = int(db.session.scalar(sa.select(sa.func.count()).select_from(due)) or 0)
    listing = sa.select(due.c.id, due.c.label).order_by(due.c.id)
    if show is not None:
        listing = listing.limit(show)
    shown = [Candidate(int(row.id), row.label) for row in db.session.execute(listing)] if count else []
    return Outcome(policy, policy.period(), cutoff, count, shown)


def apply(
    policy: Policy,
    now: datetime,
    show: int | None = 20,
    batch: int = BATCH,
    after_batch: Callable[[Applied], None] | None = None,
) -> Outcome:
    """Apply the policy to every record due now, `batch` at a time (flushes, never commits; `after_batch`
    is called after each batch and after the summary row, which is added when something changed)."""
    period = policy.period()
    cutoff = policy.cutoff(now)
    due = _due(policy, cutoff)
    outcome = Outcome(policy, period, cutoff)
    last_id = 0
    while True:
        _take_turn()  # before reading the batch: what another run committed meanwhile is seen
        rows = db.session.execute(
            sa.select(due.c.id, due.c.label).where(due.c.id > last_id).order_by(due.c.id).limit(batch)
        ).all()
        if not rows:
            break
        candidates = [Candidate(int(row.id), row.label) for row in rows]
        applied = policy.apply(candidates, now)
        outcome.count += applied.count
        outcome.files.extend(applied.files)
        if show is None or len(outcome.shown) < show:
            room = len(candidates) if show is None else show - len(outcome.shown)
            outcome.shown.extend(candidates[:room])
        last_id = candidates[-1].id
        if after_batch is not None:
            after_batch(applied)
    if outcome.count:
        db.session.add(
            RetentionRun(
                policy=policy.name,
                action=policy.action.value,
                period_amount=period.amount,
                period_unit=period.unit.value,
                limit_date=cutoff.day,
                affected=outcome.count,
                ran_at=now,
            )
        )
        db.session.flush()
        if after_batch is not None:
            after_batch(Applied())
    return outcome
