"""Pages of the inquiries: what a partner is asked (three working days), its answer with an attached
export, and the export's download.

A partner sees its own inquiries only: the request's reference and right and the search details the DPO
wrote, never the person's contact details nor another partner's answer. Records load through
visible_inquiries(), so another partner's inquiry is as absent as a missing one (404).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from compliance.access_requests import services
from compliance.access_requests.forms import RIGHT_LABELS, STATUS_LABELS, InquiryAnswerForm
from compliance.access_requests.models import Inquiry
from compliance.access_requests.views import (
    PAGE_SIZE,
    active_partners,
    apply_domain_error,
    controller_side,
    inquiry_status,
    parse_id,
    reject,
    time_left,
)
from vigie import storage
from vigie.auth.access import can, requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.errors import DomainError
from vigie.extensions import db

bp = Blueprint("inquiries", __name__, url_prefix="/inquiries")


@dataclass(frozen=True)
class InquiryFilter:
    organisation_id: int | None = None
    state: str | None = None  # waiting | answered
    overdue: bool = False  # not answered, past its due time

    @property
    def active(self) -> bool:
        return bool(self.organisation_id or self.state or self.overdue)

    def as_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.organisation_id:
            args["organisation_id"] = self.organisation_id
        if self.state:
            args["state"] = self.state
        if self.overdue:
            args["overdue"] = "1"
        return args


def parse_inquiry_filter(args: Any, everyone: bool) -> tuple[InquiryFilter, dict[str, str]]:
    errors: dict[str, str] = {}
    state = (args.get("state") or "").strip() or None
    if state is not None and state not in {"waiting", "answered"}:
        errors["state"] = _("Choose a state from the list.")
        state = None
    org_id = None
    if everyone:  # a partner's list is its own: no partner filter
        try:
            org_id = parse_id(args.get("organisation_id"))
        except ValueError:
            errors["organisation_id"] = _("A partner is named by its number.")
    overdue = (args.get("overdue") or "").strip()
    if overdue not in {"", "1"}:
        errors["overdue"] = _("Tick the box, or leave it empty.")
    return InquiryFilter(organisation_id=org_id, state=state, overdue=overdue == "1"), errors


@bp.route("/")
@requires(Permission.COMPLIANCE_VIEW)
def index() -> tuple[str, int]:
    now = utcnow()
    everyone = controller_side(current_user)
    flt, errors = parse_inquiry_filter(request.args, everyone)
    context: dict[str, Any] = {
        "flt": flt,
        "filter_errors": errors,
        "everyone": everyone,
        "partners": active_partners() if everyone else [],
        "right_labels": RIGHT_LABELS,
    }
    if errors:
        return render_template("inquiries/index.html", invalid=True, **context), 400
    stmt = services.visible_inquiries(current_user)
    if flt.organisation_id:
        stmt = stmt.where(Inquiry.organisation_id == flt.organisation_id)
    if flt.state == "waiting":
        stmt = stmt.where(Inquiry.answered_at.is_(None))
    elif flt.state == "answered":
        stmt = stmt.where(Inquiry.answered_at.is_not(None))
    if flt.overdue:
        stmt = stmt.where(Inquiry.answered_at.is_(None), Inquiry.due_at < now)
    # Waiting ones first, the most urgent first; then the answered ones, the latest first.
    stmt = stmt.order_by(
        Inquiry.answered_at.is_not(None), Inquiry.due_at, Inquiry.answered_at.desc(), Inquiry.id.desc()
    )
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    listing = db.paginate(stmt, page=page, per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False)
    rows = [(i, inquiry_status(i, now), time_left(i.due_at, now)) for i in listing.items]
    return render_template("inquiries/index.html", invalid=False, listing=listing, rows=rows, **context), 200


def load_inquiry(inquiry_id: int) -> Inquiry:
    inquiry = db.session.scalar(services.visible_inquiries(current_user).where(Inquiry.id == inquiry_id))
    if inquiry is None:
        abort(404)
    return inquiry


def may_answer(inquiry: Inquiry) -> bool:
    """The partner asked, while the inquiry waits (the DPO reads; it does not answer for the partner)."""
    return (
        inquiry.answered_at is None
        and can(current_user, Permission.COMPLIANCE_EDIT, inquiry.organisation_id)
        and not controller_side(current_user)
    )


def render_inquiry(
    inquiry: Inquiry, form: InquiryAnswerForm | None = None, status: int = 200, message: str | None = None
) -> tuple[str, int]:
    now = utcnow()
    answerable = may_answer(inquiry)
    return render_template(
        "inquiries/show.html",
        inquiry=inquiry,
        everyone=controller_side(current_user),
        right_label=RIGHT_LABELS[inquiry.request.right],
        request_status=STATUS_LABELS[inquiry.request.status],
        state=inquiry_status(inquiry, now),
        left=time_left(inquiry.due_at, now),
        form=(form if form is not None else InquiryAnswerForm(formdata=None)) if answerable else None,
        message=message,
        file_lost=bool(form is not None and request.files.get("attachment")),
        upload_mb=max(upload_limit() // (1024 * 1024), 1),
        file_size=size_text(inquiry.attachment_size or 0),
    ), status


@bp.route("/<int:inquiry_id>")
@requires(Permission.COMPLIANCE_VIEW)
def show(inquiry_id: int) -> tuple[str, int]:
    return render_inquiry(load_inquiry(inquiry_id))


def size_text(size: int) -> str:
    """2 345 678 -> "2,2 MB" (in French "2,2 Mo")."""
    if size < 1024:
        return ngettext("%(num)d byte", "%(num)d bytes", size)
    if size < 1024 * 1024:
        return _("%(size)s KB", size=format_decimal(round(size / 1024, 1)))
    return _("%(size)s MB", size=format_decimal(round(size / (1024 * 1024), 1)))


def upload_limit() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES", storage.DEFAULT_MAX_BYTES))


@bp.route("/<int:inquiry_id>/answer", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT)
def answer(inquiry_id: int) -> Response | tuple[str, int]:
    inquiry = load_inquiry(inquiry_id)
    form = InquiryAnswerForm()
    if not form.validate_on_submit():
        return render_inquiry(inquiry, form, 422)
    attachment = None
    upload = form.attachment.data
    if upload is not None and upload.filename:
        # One byte over the limit is enough for storage.check_upload to refuse it: never read more.
        attachment = (upload.filename, upload.stream.read(upload_limit() + 1))
    try:
        services.answer_inquiry(
            current_user, inquiry, form.holds_data.data == "yes", form.details.data, attachment
        )
    except DomainError as err:
        reject(err)
        apply_domain_error(form, err)
        return render_inquiry(load_inquiry(inquiry_id), form, err.status, err.message)
    db.session.commit()
    flash(_("Your answer is sent to the Département."), "success")
    return redirect(url_for("inquiries.show", inquiry_id=inquiry_id))


@bp.route("/<int:inquiry_id>/attachment")
@requires(Permission.COMPLIANCE_VIEW)
def attachment(inquiry_id: int) -> Response:
    """The export a partner attached: for the DPO, the auditor and that partner only (404 otherwise)."""
    inquiry = load_inquiry(inquiry_id)
    if not inquiry.attachment_key:
        abort(404)
    try:
        content = storage.read(inquiry.attachment_key)
    except FileNotFoundError:
        abort(404)
    response = send_file(
        io.BytesIO(content),
        mimetype=inquiry.attachment_type or "application/octet-stream",
        as_attachment=True,
        download_name=inquiry.attachment_name or f"export-{inquiry.id}",
        conditional=False,
        etag=False,
        max_age=None,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
