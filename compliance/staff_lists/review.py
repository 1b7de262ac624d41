"""The periodic review of a partner's authorised staff: a deadline (processor.staff_review) due
STAFF_REVIEW_MONTHS months (VIGIE_STAFF_REVIEW_MONTHS, default 12) after the partner's last certified
list, counted as Regulation 1182/71 counts months (vigie.deadlines.calendar.months_deadline).

The first review opens when the partner's first staff grant is recorded in Vigie (grant_staff calls
open_first_review): it is due N months after that day — the day it is recorded, not the grant's own date,
so a history entered after the fact does not open an already overdue review. Each certification meets the
open review and opens the next one, N months after it.

Kept apart from services.py because compliance.processor.services calls it: this module does not import
the processor's services, so the two never import each other.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from vigie.deadlines.calendar import calendar_for_app, months_deadline
from vigie.deadlines.models import Deadline
from vigie.deadlines.services import meet_deadline, open_deadline, open_deadline_for
from vigie.extensions import db
from vigie.orgs.models import Organisation

REVIEW_KIND = "processor.staff_review"
SUBJECT = "organisation"  # the review is the partner's, not one record's
DEFAULT_REVIEW_MONTHS = 12


def review_months() -> int:
    return int(current_app.config.get("STAFF_REVIEW_MONTHS") or DEFAULT_REVIEW_MONTHS)


def open_review(organisation: Organisation, start: datetime) -> Deadline:
    due_date, due_at = months_deadline(start, review_months(), calendar_for_app())
    return open_deadline(
        REVIEW_KIND,
        organisation,
        _("Review the authorised staff of %(org)s", org=organisation.name),
        due_at,
        due_date=due_date,
        subject=(SUBJECT, organisation.id),
        opened_at=start,
    )


def open_first_review(organisation: Organisation, recorded_at: datetime) -> Deadline | None:
    """When a grant is recorded: the partner's first review opens, unless it has had one already."""
    had_one = db.session.scalar(
        sa.select(Deadline.id)
        .where(Deadline.kind == REVIEW_KIND, Deadline.organisation_id == organisation.id)
        .limit(1)
    )
    if had_one is not None:
        return None
    return open_review(organisation, recorded_at)


def review_after_certification(organisation: Organisation, certified_at: datetime) -> Deadline:
    """A certified list is the review: the open one is met, and the next one opens N months later."""
    current = open_deadline_for(SUBJECT, organisation.id, REVIEW_KIND)
    if current is not None:
        meet_deadline(current, met_at=certified_at)
    return open_review(organisation, certified_at)


def next_review(organisation_id: int) -> Deadline | None:
    return open_deadline_for(SUBJECT, organisation_id, REVIEW_KIND)
