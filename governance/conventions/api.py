"""The convention endpoints of the JSON API (on the api blueprint).

- GET /conventions: the conventions the user reads (serialise.reader_scope: the legal service, the
  auditor, the committee and the DPO every one; a partner those its organisation is a party to), newest
  term first, filtered by `status` (the effective status) and `partner_id`, paginated like /deadlines.
- GET /conventions/<id>: one, with its dates, deliberation, signatures, transmission, amendments, formal
  notices and the clocks the user may see; another partner's convention is a 404, as absent as a missing
  one; the administrator, who reads none, gets 403.
- POST /conventions/<id>/transmission {"acknowledgement_id", "received_at"} (legal service): 200 with the
  convention; 422 with the reason in `message` and in `fields.acknowledgement_id` when the id does not
  match the partner or its deliberation.
- POST /deliberations (legal service): 201 with the deliberation; 422 with the consistency problem named
  against its field (present + represented > in office: members_present; votes > voters: votes_for).
Each write calls one service and commits once.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, jsonify, request
from flask_login import current_user
from werkzeug.wrappers import Response

from governance.conventions import services
from governance.conventions.models import Convention, FormalNotice
from governance.conventions.serialise import (
    FILTER_PARAMS,
    ConventionOut,
    ConventionPageOut,
    DeliberationIn,
    DeliberationOut,
    TransmissionIn,
    convention_clocks,
    convention_out,
    convention_summary_out,
    deliberation_out,
    dump,
    ensure_acknowledgement_free,
    parse_filters,
    reader_scope,
    reads,
    visible_conventions,
)
from vigie.api.errors import parse_body
from vigie.api.openapi import documented
from vigie.api.params import PAGE_PARAMS
from vigie.api.views import bp
from vigie.auth.access import requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines.serialise import deadline_out
from vigie.extensions import db
from vigie.timeutil import to_paris


def _readable_or_404(convention_id: int) -> Convention:
    if reader_scope(current_user) is None:
        abort(403)
    convention = db.session.get(Convention, convention_id)
    if convention is None or not reads(current_user, convention):
        abort(404)
    return convention


def convention_json(convention: Convention) -> Response:
    now = utcnow()
    notices = list(
        db.session.scalars(
            sa.select(FormalNotice)
            .where(FormalNotice.convention_id == convention.id)
            .order_by(FormalNotice.sent_on, FormalNotice.id)
        )
    )
    deadlines = convention_clocks(current_user, convention, notices)
    following = db.session.scalar(
        sa.select(Convention.id).where(Convention.previous_id == convention.id).order_by(Convention.id)
    )
    out = convention_out(
        convention,
        to_paris(now).date(),
        notices,
        following,
        [deadline_out(d, now) for d in deadlines],
    )
    return jsonify(dump(out))


@bp.route("/conventions")
@requires(Permission.SELF)
@documented(
    "Conventions the user reads, newest term first: status an effective status (draft, approved, signed, "
    "transmitted, in_force, under_evaluation, renewed, expired, terminated), partner_id an organisation's "
    "id; page and per_page (at most 200)",
    response=ConventionPageOut,
    query=(*FILTER_PARAMS, *PAGE_PARAMS),
)
def conventions() -> Response:
    if reader_scope(current_user) is None:
        abort(403)
    filters = parse_filters(request.args)
    today = to_paris(utcnow()).date()
    stmt = filters.apply(visible_conventions(current_user), today)
    total = db.session.scalar(stmt.with_only_columns(sa.func.count(Convention.id)).order_by(None)) or 0
    page = filters.page
    rows = db.session.scalars(
        stmt.order_by(Convention.start_date.desc(), Convention.id.desc())
        .limit(page.per_page)
        .offset(page.offset)
    )
    return jsonify(page.envelope([dump(convention_summary_out(c, today)) for c in rows], total))


@bp.route("/conventions/<int:convention_id>")
@requires(Permission.SELF)
@documented("One convention, with its dates, deliberation, transmission and clocks", response=ConventionOut)
def convention(convention_id: int) -> Response:
    return convention_json(_readable_or_404(convention_id))


@bp.route("/conventions/<int:convention_id>/transmission", methods=["POST"])
@requires(Permission.CONVENTIONS_EDIT)
@documented(
    "Record the prefecture's acknowledgement of receipt (checked against the partner and the "
    "deliberation: 422 with what differs); the convention becomes enforceable",
    body=TransmissionIn,
    response=ConventionOut,
)
def convention_transmission(convention_id: int) -> Response:
    convention = db.session.get(Convention, convention_id)
    if convention is None:
        abort(404)
    data = parse_body(TransmissionIn)
    ensure_acknowledgement_free(convention, data.acknowledgement_id)
    services.record_transmission(convention, data.acknowledgement_id, data.received_at, data.published_at)
    db.session.commit()
    return convention_json(convention)


@bp.route("/deliberations", methods=["POST"])
@requires(Permission.CONVENTIONS_EDIT)
@documented(
    "Record a deliberation (present + represented ≤ in office; votes ≤ present + represented)",
    body=DeliberationIn,
    response=DeliberationOut,
    status=201,
)
def create_deliberation() -> tuple[Response, int]:
    data = parse_body(DeliberationIn)
    deliberation = services.create_deliberation(data.data())
    db.session.commit()
    return jsonify(dump(deliberation_out(deliberation))), 201
