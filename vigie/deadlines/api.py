"""The deadline endpoints of the JSON API (on the api blueprint).

Scoping: every query starts from visible_deadlines(user) — the kinds the user's roles see and, for a
partner, its own organisation's. A filter only narrows that set, so a partner who names another
partner's organisation_id gets an empty list (exactly what it gets for an organisation that does not
exist: nothing is revealed either way), and another partner's deadline is a 404.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, jsonify, request
from flask_login import current_user
from werkzeug.wrappers import Response

from vigie.api.openapi import documented
from vigie.api.params import PAGE_PARAMS, parse_page
from vigie.api.views import bp
from vigie.auth.access import requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines.models import Deadline
from vigie.deadlines.serialise import (
    FILTER_PARAMS,
    DeadlineOut,
    DeadlinePageOut,
    deadline_json,
    parse_filters,
)
from vigie.deadlines.services import visible_deadlines
from vigie.extensions import db


@bp.route("/deadlines")
@requires(Permission.SELF)
@documented(
    "Deadlines the user may see, soonest due first: status overdue|due|open|met or an exact status, "
    "kind a registered kind code, organisation_id an organisation's id; page and per_page (at most 200)",
    response=DeadlinePageOut,
    query=(*FILTER_PARAMS, *PAGE_PARAMS),
)
def deadlines() -> Response:
    filters = parse_filters(request.args, extra=PAGE_PARAMS)
    page = parse_page(request.args)  # its own 422, once the filters are valid
    now = utcnow()
    stmt = filters.apply(visible_deadlines(current_user), now)
    total = db.session.scalar(stmt.with_only_columns(sa.func.count(Deadline.id)).order_by(None)) or 0
    rows = db.session.scalars(
        stmt.order_by(Deadline.due_at, Deadline.id).limit(page.per_page).offset(page.offset)
    )
    return jsonify(page.envelope([deadline_json(d, now) for d in rows], total))


@bp.route("/deadlines/<int:deadline_id>")
@requires(Permission.SELF)
@documented("One deadline (404 when the user may not see it)", response=DeadlineOut)
def deadline(deadline_id: int) -> Response:
    found = db.session.scalar(visible_deadlines(current_user).where(Deadline.id == deadline_id))
    if found is None:
        abort(404)
    return jsonify(deadline_json(found, utcnow()))
