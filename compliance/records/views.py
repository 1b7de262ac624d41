"""Pages of the record of processing (GDPR art. 30): the list, a record's current version, its forms, its
history, one version, two versions compared, and the PDF and CSV exports.

Who sees what is compliance.records.services': a record the user may not read is as absent as a missing
one (404); a record the user reads but may not write answers 403 to its form. Views parse, call one
service, commit once and redirect; on a domain error they roll back and show the form again with what
was typed and the errors next to the fields (422; 409 when someone saved meanwhile).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from compliance.records import exports, services
from compliance.records.forms import RecordForm, record_form
from compliance.records.models import ProcessingRecord, ProcessingRecordVersion, RecordKind
from vigie.auth.access import reaches_all_organisations, requires
from vigie.auth.roles import Permission
from vigie.errors import Conflict, DomainError, Forbidden
from vigie.extensions import db
from vigie.formerrors import attach_errors
from vigie.orgs.models import Organisation
from vigie.orgs.services import partner_or_404

bp = Blueprint("records", __name__, url_prefix="/records")
Result = Response | str | tuple[str, int]


def labels() -> dict[str, Any]:
    return {"kind_labels": services.KIND_LABELS}


def _load(record_id: int) -> ProcessingRecord:
    """The record if the user may read it; otherwise a 404, as for a missing one."""
    record = services.readable_record(current_user, record_id)
    if record is None:
        abort(404)
    return record


def _version(record: ProcessingRecord, number: int) -> ProcessingRecordVersion:
    version = services.version_of(record, number)
    if version is None:
        abort(404)
    return version


# --- the list ------------------------------------------------------------------------------------------


@bp.route("/")
@requires(Permission.COMPLIANCE_VIEW)
def index() -> str:
    """The controller's record, then the partners' (every partner for the DPO and the auditor, with
    those that have none yet; its own for a partner)."""
    records = services.record_set(current_user)
    controller = [r for r in records if r.kind == RecordKind.CONTROLLER]
    partners = [r for r in records if r.kind == RecordKind.PROCESSOR]
    missing = services.partners_without_record()
    if not reaches_all_organisations(current_user, Permission.COMPLIANCE_VIEW):
        missing = [org for org in missing if org.id == current_user.organisation_id]
    writer = services.controller_for(current_user)
    return render_template(
        "records/index.html",
        controller_records=controller,
        partner_records=partners,
        missing=missing,
        may_create_controller=not controller
        and writer is not None
        and services.may_edit(current_user, RecordKind.CONTROLLER, writer.id),
        may_create=lambda org: services.may_edit(current_user, RecordKind.PROCESSOR, org.id),
        **labels(),
    )


# --- the forms -----------------------------------------------------------------------------------------


def _render_form(
    form: RecordForm,
    organisation: Organisation,
    record: ProcessingRecord | None,
    status: int,
    messages: list[str] | None = None,
) -> tuple[str, int]:
    return (
        render_template(
            "records/form.html",
            form=form,
            organisation=organisation,
            record=record,
            kind=form.kind,
            messages=messages or [],
            **labels(),
        ),
        status,
    )


def _create(organisation: Organisation, kind: RecordKind) -> Result:
    existing = services.record_of(organisation.id, kind)
    if existing is not None:
        flash(_("This record exists already: you are editing it."), "info")
        return redirect(url_for("records.edit", processing_record_id=existing.id))
    if request.method == "GET":
        start = services.starting_values(organisation, kind)
        start["change_note"] = _("First version of the record.")
        return _render_form(record_form(kind, start), organisation, None, 200)
    form = record_form(kind)
    if not form.validate_on_submit():
        return _render_form(form, organisation, None, 422)
    try:
        version = services.create_record(
            current_user, organisation, kind, form.data_for_service(), form.change_note.data
        )
    except Forbidden:
        raise
    except DomainError as err:
        db.session.rollback()
        return _render_form(form, organisation, None, err.status, attach_errors(form, err))
    db.session.commit()
    flash(_("Record saved (version %(number)d).", number=version.number), "success")
    return redirect(url_for("records.show", processing_record_id=version.record_id))


@bp.route("/controller/new", methods=["GET", "POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def create_controller() -> Result:
    """The controller's record (GDPR 30(1)), written by the DPO."""
    organisation = services.controller_for(current_user)
    if organisation is None:
        abort(404)
    return _create(organisation, RecordKind.CONTROLLER)


@bp.route("/partners/<int:org_id>/new", methods=["GET", "POST"])
@requires(Permission.COMPLIANCE_EDIT, org_arg="org_id")
def create_processor(org_id: int) -> Result:
    """A partner's record (GDPR 30(2)), written by the partner or by the DPO."""
    return _create(partner_or_404(org_id), RecordKind.PROCESSOR)


@bp.route("/<int:processing_record_id>/edit", methods=["GET", "POST"])
@requires(Permission.COMPLIANCE_EDIT)
def edit(processing_record_id: int) -> Result:
    """A new version of the record; the form starts from the current one."""
    record = _load(processing_record_id)
    if not services.may_edit(current_user, record, record.organisation_id):
        abort(403)  # a partner reads the controller's record, the DPO writes it
    current = record.current
    if current is None:
        abort(404)
    if request.method == "GET":
        form = record_form(record.kind, {**services.content_of(current), "base_number": str(current.number)})
        return _render_form(form, record.organisation, record, 200)
    form = record_form(record.kind)
    if not form.validate_on_submit():
        return _render_form(form, record.organisation, record, 422)
    try:
        version = services.save_version(
            current_user, record, form.data_for_service(), form.change_note.data, form.base()
        )
    except Forbidden:
        raise
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Conflict):
            # What was typed stays; saving again (after comparing) builds on the version now current.
            db.session.expire_all()
            latest = services.readable_record(current_user, processing_record_id)
            if latest is not None and latest.current is not None:
                form.base_number.data = str(latest.current.number)
                record = latest
        return _render_form(form, record.organisation, record, err.status, attach_errors(form, err))
    db.session.commit()
    flash(_("Record saved (version %(number)d).", number=version.number), "success")
    return redirect(url_for("records.show", processing_record_id=record.id))


# --- reading -------------------------------------------------------------------------------------------


def _render_version(record: ProcessingRecord, version: ProcessingRecordVersion) -> str:
    item = exports.entry(record, version)
    previous = services.version_of(record, version.number - 1)
    return render_template(
        "records/show.html",
        record=record,
        item=item,
        version=version,
        previous=previous,
        controller=services.controller_record() if record.kind == RecordKind.PROCESSOR else None,
        may_edit=services.may_edit(current_user, record, record.organisation_id),
        **labels(),
    )


@bp.route("/<int:processing_record_id>")
@requires(Permission.COMPLIANCE_VIEW)
def show(processing_record_id: int) -> str:
    record = _load(processing_record_id)
    if record.current is None:
        abort(404)
    return _render_version(record, record.current)


@bp.route("/<int:processing_record_id>/history")
@requires(Permission.COMPLIANCE_VIEW)
def history(processing_record_id: int) -> str:
    """Every version, the latest first, with who saved it, when and why."""
    record = _load(processing_record_id)
    return render_template(
        "records/history.html", record=record, versions=list(reversed(record.versions)), **labels()
    )


@bp.route("/<int:processing_record_id>/versions/<int:record_version>")
@requires(Permission.COMPLIANCE_VIEW)
def version(processing_record_id: int, record_version: int) -> str:
    record = _load(processing_record_id)
    return _render_version(record, _version(record, record_version))


def _number_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        abort(400)
    return int(raw)


@bp.route("/<int:processing_record_id>/compare")
@requires(Permission.COMPLIANCE_VIEW)
def compare(processing_record_id: int) -> str:
    """Two versions field by field (`from` and `to`; by default the previous and the current one)."""
    record = _load(processing_record_id)
    current = record.current
    if current is None:
        abort(404)
    newer_number = _number_arg("to", current.number)
    older_number = _number_arg("from", max(newer_number - 1, 1))
    older, newer = _version(record, older_number), _version(record, newer_number)
    if older.number > newer.number:
        older, newer = newer, older
    rows = services.compare(older, newer)
    return render_template(
        "records/compare.html",
        record=record,
        older=older,
        newer=newer,
        changed=[r for r in rows if r.changed],
        unchanged=[r for r in rows if not r.changed],
        versions=list(reversed(record.versions)),
        **labels(),
    )


# --- exports -------------------------------------------------------------------------------------------


def _export_entry(processing_record_id: int) -> exports.Entry:
    """The record's current version, or the one `?version=` names."""
    record = _load(processing_record_id)
    current = record.current
    if current is None:
        abort(404)
    chosen = _version(record, _number_arg("version", current.number))
    item = exports.entry(record, chosen)
    if item is None:
        abort(404)
    return item


@bp.route("/<int:processing_record_id>/export.pdf")
@requires(Permission.COMPLIANCE_VIEW)
def record_pdf(processing_record_id: int) -> Response:
    item = _export_entry(processing_record_id)
    return exports.pdf([item], exports.record_filename(item, "pdf"), whole_set=False)


@bp.route("/<int:processing_record_id>/export.csv")
@requires(Permission.COMPLIANCE_VIEW)
def record_csv(processing_record_id: int) -> Response:
    item = _export_entry(processing_record_id)
    return exports.csv_response([item], exports.record_filename(item, "csv"))


@bp.route("/export.pdf")
@requires(Permission.COMPLIANCE_VIEW)
def set_pdf() -> Response:
    """Every record the user may read, current versions: the controller's first."""
    items = exports.entries(services.record_set(current_user))
    return exports.pdf(items, exports.set_filename("pdf"), whole_set=True)


@bp.route("/export.csv")
@requires(Permission.COMPLIANCE_VIEW)
def set_csv() -> Response:
    items = exports.entries(services.record_set(current_user))
    return exports.csv_response(items, exports.set_filename("csv"))
