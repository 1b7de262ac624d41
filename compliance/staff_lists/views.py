"""Pages of the staff lists: the DPO's overview of the partners, asking a partner for its list, a partner's
certification of its current list, the history of a partner's lists, one certified list (its seal, PDF and
CSV) and what changed between two lists.

Who: the DPO asks and withdraws requests; a partner certifies its own list; the DPO and the auditor read
every partner's lists, a partner its own (another partner's list is as absent as a missing one: 404); the
administrator, the committee and the legal service reach none (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from compliance.staff_lists import exports, services
from compliance.staff_lists.forms import (
    REQUEST_STATUS_LABELS,
    SEAL_EXPLANATIONS,
    SEAL_LABELS,
    AskForm,
    CancelForm,
    CertifyForm,
    scope_label,
)
from compliance.staff_lists.integrity import Verification
from compliance.staff_lists.models import StaffListRequest, StaffListSnapshot, StaffRequestStatus
from compliance.staff_lists.review import REVIEW_KIND, next_review
from vigie.auth.access import can, reaches_all_organisations, requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines.calendar import paris_date
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.status import remaining_text
from vigie.errors import DomainError, Forbidden
from vigie.extensions import db
from vigie.formerrors import attach_errors
from vigie.orgs.models import Organisation, OrganisationKind
from vigie.orgs.services import partner_or_404
from vigie.pdf import pdf_response

bp = Blueprint("staff_lists", __name__, url_prefix="/staff-lists")

PROCESSOR_FILE_ENDPOINT = "processor.show"  # the partner's processor file, where grants are recorded


def controller_side(user: Any) -> bool:
    """The DPO and the auditor: every partner's lists."""
    return reaches_all_organisations(user, Permission.COMPLIANCE_VIEW)


def _reject(err: DomainError) -> None:
    """Roll back the request's work; a refusal is not a form error: the central handler answers it."""
    db.session.rollback()
    if isinstance(err, Forbidden):
        raise err


def _processor_file_url(organisation_id: int) -> str:
    return url_for(PROCESSOR_FILE_ENDPOINT, org_id=organisation_id)


@dataclass(frozen=True)
class Clock:
    """A due time as the pages show it: a status word and the time left (or overdue by)."""

    status: str  # open | due_soon | overdue
    label: str
    late: bool
    text: str
    due_iso: str


def clock(due_at: datetime, now: datetime, soon_days: int = 1) -> Clock:
    late = now > due_at
    if late:
        status, label = "overdue", _("overdue")
    elif (due_at - now).total_seconds() <= soon_days * 86400:
        status, label = "due_soon", _("due soon")
    else:
        status, label = "open", _("on time")
    return Clock(status, label, late, remaining_text(due_at - now), due_at.isoformat())


def request_state(staff_request: StaffListRequest, now: datetime) -> tuple[str, str]:
    """(css status, label) of a request."""
    if staff_request.status == StaffRequestStatus.PENDING:
        if now > staff_request.due_at:
            return "overdue", _("overdue")
        return "open", str(REQUEST_STATUS_LABELS["pending"])
    if staff_request.status == StaffRequestStatus.FULFILLED:
        on_time = (
            staff_request.fulfilled_at is not None and staff_request.fulfilled_at <= staff_request.due_at
        )
        return ("met_on_time" if on_time else "met_late"), (
            _("certified on time") if on_time else _("certified late")
        )
    return "cancelled", str(REQUEST_STATUS_LABELS["cancelled"])


def seal_context(seal: Verification) -> dict[str, Any]:
    return {
        "seal": seal,
        "seal_label": SEAL_LABELS[seal.reason],
        "seal_explanation": SEAL_EXPLANATIONS[seal.reason],
    }


# --- the overview -------------------------------------------------------------------------------------


@bp.route("/")
@requires(Permission.COMPLIANCE_VIEW)
def index() -> tuple[str, int]:
    """The DPO and the auditor: every active partner, its pending request, last list and next review.
    A partner: its own lists (the history page)."""
    if not controller_side(current_user):
        return render_history(current_user.organisation)
    now = utcnow()
    partners = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.PARTNER, Organisation.active.is_(True))
        .order_by(Organisation.name)
    ).all()
    last_certified = dict(
        db.session.execute(
            sa.select(
                StaffListSnapshot.organisation_id, sa.func.max(StaffListSnapshot.certified_at)
            ).group_by(StaffListSnapshot.organisation_id)
        ).all()
    )
    pending = {
        r.organisation_id: r
        for r in db.session.scalars(
            sa.select(StaffListRequest).where(StaffListRequest.status == StaffRequestStatus.PENDING)
        )
    }
    reviews = {
        d.organisation_id: d
        for d in db.session.scalars(
            sa.select(Deadline).where(Deadline.kind == REVIEW_KIND, Deadline.state == DeadlineState.OPEN)
        )
    }
    rows = []
    for partner in partners:
        waiting = pending.get(partner.id)
        review = reviews.get(partner.id)
        rows.append(
            {
                "org": partner,
                "last": last_certified.get(partner.id),
                "request": waiting,
                "request_state": request_state(waiting, now) if waiting else None,
                "review": review,
                "review_clock": clock(review.due_at, now, soon_days=30) if review else None,
            }
        )
    return render_template(
        "staff_lists/index.html", rows=rows, may_ask=can(current_user, Permission.COMPLIANCE_CONTROL)
    ), 200


# --- asking a partner ---------------------------------------------------------------------------------


def render_ask(
    organisation: Organisation, form: AskForm | None = None, status: int = 200, message: str | None = None
) -> tuple[str, int]:
    now = utcnow()
    default = services.default_due_date(now)
    if form is None:
        form = AskForm(formdata=None, due_date=default)
    return render_template(
        "staff_lists/ask.html",
        org=organisation,
        form=form,
        default_due=default,
        today=paris_date(now),
        waiting=services.pending_request(organisation.id),
        message=message,
    ), status


@bp.route("/partners/<int:org_id>/ask", methods=["GET", "POST"])
@requires(Permission.COMPLIANCE_CONTROL, org_arg="org_id")
def ask(org_id: int) -> Response | tuple[str, int]:
    organisation = partner_or_404(org_id)
    if request.method == "GET":
        return render_ask(organisation)
    form = AskForm()
    if not form.validate():
        return render_ask(organisation, form, 422)
    try:
        staff_request = services.request_staff_list(
            current_user, organisation, form.due_date.data, form.note.data
        )
    except DomainError as err:
        _reject(err)
        attach_errors(form, err)
        return render_ask(partner_or_404(org_id), form, err.status, err.message)
    due = staff_request.due_date
    db.session.commit()
    flash(
        _(
            "%(org)s is asked for its list of authorised staff, due on %(date)s; its users are e-mailed.",
            org=organisation.name,
            date=due.strftime("%d/%m/%Y"),
        ),
        "success",
    )
    return redirect(url_for("staff_lists.history", org_id=org_id))


@bp.route("/requests/<int:staff_request_id>/cancel", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def cancel(staff_request_id: int) -> Response | tuple[str, int]:
    staff_request = db.get_or_404(StaffListRequest, staff_request_id)
    org_id = staff_request.organisation_id
    form = CancelForm()
    if not form.validate():
        return render_history(staff_request.organisation, cancel_form=form, status=422)
    try:
        services.cancel_request(current_user, staff_request, form.reason.data or "")
    except DomainError as err:
        _reject(err)
        attach_errors(form, err)
        return render_history(
            partner_or_404(org_id), cancel_form=form, status=err.status, message=err.message
        )
    db.session.commit()
    flash(_("The request is withdrawn."), "success")
    return redirect(url_for("staff_lists.history", org_id=org_id))


# --- a partner's lists --------------------------------------------------------------------------------


def render_history(
    organisation: Organisation,
    cancel_form: CancelForm | None = None,
    status: int = 200,
    message: str | None = None,
) -> tuple[str, int]:
    now = utcnow()
    snapshots = services.snapshots_of(organisation.id)
    requests = services.requests_of(organisation.id)
    waiting = next((r for r in requests if r.status == StaffRequestStatus.PENDING), None)
    control = can(current_user, Permission.COMPLIANCE_CONTROL)
    review = next_review(organisation.id)
    return render_template(
        "staff_lists/history.html",
        org=organisation,
        snapshots=[(s, services.verify_snapshot(s), len(services.snapshot_rows(s))) for s in snapshots],
        requests=[(r, request_state(r, now)) for r in requests],
        waiting=waiting,
        waiting_clock=clock(waiting.due_at, now) if waiting else None,
        review=review,
        review_clock=clock(review.due_at, now, soon_days=30) if review else None,
        may_ask=control and organisation.kind == OrganisationKind.PARTNER,
        may_certify=services.may_certify(current_user, organisation.id)
        and organisation.kind == OrganisationKind.PARTNER,
        cancel_form=(cancel_form or CancelForm(formdata=None)) if control and waiting else None,
        seal_labels=SEAL_LABELS,
        everyone=controller_side(current_user),
        message=message,
    ), status


@bp.route("/partners/<int:org_id>")
@requires(Permission.COMPLIANCE_VIEW, org_arg="org_id")
def history(org_id: int) -> tuple[str, int]:
    return render_history(partner_or_404(org_id))


# --- certification ------------------------------------------------------------------------------------


def render_certify(
    form: CertifyForm | None = None, status: int = 200, message: str | None = None
) -> tuple[str, int]:
    organisation = current_user.organisation
    now = utcnow()
    waiting = services.pending_request(organisation.id)
    return render_template(
        "staff_lists/certify.html",
        org=organisation,
        rows=services.current_rows(organisation.id, paris_date(now)),
        today=paris_date(now),
        waiting=waiting,
        waiting_clock=clock(waiting.due_at, now) if waiting else None,
        form=form or CertifyForm(formdata=None),
        processor_file_url=_processor_file_url(organisation.id),
        scope_label=scope_label,
        message=message,
    ), status


@bp.route("/certify", methods=["GET", "POST"])
@requires(Permission.COMPLIANCE_EDIT)
def certify() -> Response | tuple[str, int]:
    """A partner certifies its own current list (asked by the DPO or of its own accord)."""
    organisation = current_user.organisation
    if organisation.kind != OrganisationKind.PARTNER or not services.may_certify(
        current_user, organisation.id
    ):
        abort(403)
    if request.method == "GET":
        return render_certify()
    form = CertifyForm()
    if not form.validate():
        return render_certify(form, 422)
    try:
        snapshot = services.certify_staff_list(current_user, organisation, bool(form.confirm.data))
    except DomainError as err:
        _reject(err)
        attach_errors(form, err)
        return render_certify(form, err.status, err.message)
    snapshot_id = snapshot.id
    db.session.commit()
    flash(_("Your list of authorised staff is certified and sent to the Département."), "success")
    return redirect(url_for("staff_lists.snapshot", staff_snapshot_id=snapshot_id))


# --- one certified list -------------------------------------------------------------------------------


def load_snapshot(snapshot_id: int) -> StaffListSnapshot:
    snapshot = db.session.scalar(
        services.visible_snapshots(current_user).where(StaffListSnapshot.id == snapshot_id)
    )
    if snapshot is None:
        abort(404)
    return snapshot


@bp.route("/snapshots/<int:staff_snapshot_id>")
@requires(Permission.COMPLIANCE_VIEW)
def snapshot(staff_snapshot_id: int) -> tuple[str, int]:
    snap = load_snapshot(staff_snapshot_id)
    previous = services.previous_snapshot(snap)
    return render_template(
        "staff_lists/snapshot.html",
        snapshot=snap,
        rows=services.snapshot_rows(snap),
        previous=previous,
        scope_label=scope_label,
        **seal_context(services.verify_snapshot(snap)),
    ), 200


@bp.route("/snapshots/<int:staff_snapshot_id>/list.pdf")
@requires(Permission.COMPLIANCE_VIEW)
def snapshot_pdf(staff_snapshot_id: int) -> Response:
    snap = load_snapshot(staff_snapshot_id)
    result = exports.snapshot_pdf(snap, services.snapshot_rows(snap), services.verify_snapshot(snap))
    return pdf_response(result, exports.filename(snap, "pdf"))


@bp.route("/snapshots/<int:staff_snapshot_id>/list.csv")
@requires(Permission.COMPLIANCE_VIEW)
def snapshot_csv(staff_snapshot_id: int) -> Response:
    snap = load_snapshot(staff_snapshot_id)
    text = exports.snapshot_csv(snap, services.snapshot_rows(snap), services.verify_snapshot(snap))
    response = Response(text, content_type="text/csv; charset=utf-8")
    response.headers.set("Content-Disposition", "attachment", filename=exports.filename(snap, "csv"))
    return response


# --- what changed between two lists -------------------------------------------------------------------


def _snapshot_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    abort(400)


@bp.route("/partners/<int:org_id>/changes")
@requires(Permission.COMPLIANCE_VIEW, org_arg="org_id")
def changes(org_id: int) -> tuple[str, int]:
    """Two lists of the partner (`before`, `after`: by default the last one and the one before it): who
    was added, who was removed, whose function or scope changed."""
    organisation = partner_or_404(org_id)
    snapshots = services.snapshots_of(org_id)  # newest first
    by_id = {s.id: s for s in snapshots}
    from_id, to_id = _snapshot_arg("before"), _snapshot_arg("after")
    if (from_id is not None and from_id not in by_id) or (to_id is not None and to_id not in by_id):
        abort(404)  # another partner's list, or none: as absent as a missing one
    newer = by_id[to_id] if to_id is not None else (snapshots[0] if snapshots else None)
    older = by_id[from_id] if from_id is not None else (services.previous_snapshot(newer) if newer else None)
    if (
        older is not None
        and newer is not None
        and (older.certified_at, older.id) > (newer.certified_at, newer.id)
    ):
        older, newer = newer, older
    diff = None
    if newer is not None:
        diff = services.diff_rows(
            services.snapshot_rows(older) if older else [], services.snapshot_rows(newer)
        )
    return render_template(
        "staff_lists/changes.html",
        org=organisation,
        snapshots=snapshots,
        older=older,
        newer=newer,
        older_seal=services.verify_snapshot(older) if older else None,
        newer_seal=services.verify_snapshot(newer) if newer else None,
        seal_labels=SEAL_LABELS,
        diff=diff,
        scope_label=scope_label,
    ), 200
