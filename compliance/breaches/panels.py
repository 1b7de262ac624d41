"""The home page's breach panel: the breaches awaiting the Département's acknowledgement of receipt, with
the time elapsed since each was reported (every partner's for the DPO and the auditor, its own for a
partner), and the way in to the declaration form and the register."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import render_template
from markupsafe import Markup

from compliance.breaches.models import Breach, BreachStatus
from vigie.auth.access import can, reaches_all_organisations, scope_to_user
from vigie.auth.roles import Permission
from vigie.deadlines.status import remaining_text
from vigie.extensions import db

LIMIT = 20  # the oldest first; the register lists them all


def awaiting_acknowledgement(user: Any, now: datetime) -> Markup | None:
    if not can(user, Permission.COMPLIANCE_VIEW):
        return None  # the committee, the legal service, the administrator: no breach, ever
    stmt = scope_to_user(
        sa.select(Breach)
        .where(Breach.status == BreachStatus.SUBMITTED, Breach.acknowledged_at.is_(None))
        .order_by(Breach.reported_to_controller_at, Breach.id),
        Breach.organisation_id,
        Permission.COMPLIANCE_VIEW,
        user,
    )
    # One query on a home page that counts its queries (tests/test_dashboard.py); a second one only to
    # count what goes beyond the panel.
    found = list(db.session.scalars(stmt.limit(LIMIT + 1)))
    total = len(found)
    if total > LIMIT:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = [
        (breach, remaining_text(now - breach.reported_to_controller_at))
        for breach in found[:LIMIT]
        if breach.reported_to_controller_at is not None
    ]
    html = render_template(
        "breaches/_panel.html",
        rows=rows,
        total=total,
        all_partners=reaches_all_organisations(user, Permission.COMPLIANCE_VIEW),
        may_acknowledge=can(user, Permission.COMPLIANCE_CONTROL),
        may_declare=can(user, Permission.COMPLIANCE_EDIT),
    )
    return Markup(html)  # noqa: S704  (an autoescaped template's output)
