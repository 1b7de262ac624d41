from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from vigie.audit.chain import VerifyResult, verify_rows
from vigie.audit.models import AuditEvent
from vigie.extensions import db


def verify_chain(batch: int = 5000) -> VerifyResult:
    table: sa.Table = AuditEvent.__table__  # type: ignore[assignment]

    def rows() -> Iterator[dict[str, Any]]:
        last = 0
        while True:
            chunk = (
                db.session.execute(
                    sa.select(table).where(table.c.seq > last).order_by(table.c.seq).limit(batch)
                )
                .mappings()
                .all()
            )
            if not chunk:
                return
            yield from (dict(r) for r in chunk)
            last = chunk[-1]["seq"]

    return verify_rows(rows())


@dataclass
class AuditFilter:
    entity: str | None = None
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def filtered_events(flt: AuditFilter) -> sa.Select[AuditEvent]:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.seq.desc())
    if flt.entity:
        stmt = stmt.where(AuditEvent.entity == flt.entity)
    if flt.action:
        stmt = stmt.where(AuditEvent.action == flt.action)
    if flt.actor:
        stmt = stmt.where(AuditEvent.actor_label.contains(flt.actor.strip().lower(), autoescape=True))
    if flt.since:
        stmt = stmt.where(AuditEvent.at >= flt.since)
    if flt.until:
        stmt = stmt.where(AuditEvent.at < flt.until)
    return stmt


def entity_names() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.entity).distinct().order_by(AuditEvent.entity)))
