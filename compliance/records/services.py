"""The rules of the record of processing (GDPR art. 30). Views, exports and the demo call these; they
flush, never commit.

Who does what: the DPO writes the controller's record (30(1)) and any partner's record; a partner writes
its own record (30(2)) and reads the controller's, since it carries out that processing; the auditor reads
everything. Every save adds a version; a version is never changed nor deleted.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from compliance.records.models import LegalBasis, ProcessingRecord, ProcessingRecordVersion, RecordKind
from vigie.auth.access import can, reaches_all_organisations
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.errors import Conflict, Forbidden, NotFound, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation, OrganisationKind

LINE_MAX = 300  # characters of a one-line answer (a name)
TEXT_MAX = 10000  # characters of a free-text answer

KIND_LABELS = {
    RecordKind.CONTROLLER: _l("Controller's record (GDPR art. 30(1))"),
    RecordKind.PROCESSOR: _l("Processor's record (GDPR art. 30(2))"),
}
LEGAL_BASIS_LABELS = {
    LegalBasis.CONSENT: _l("Consent (GDPR art. 6(1)(a))"),
    LegalBasis.CONTRACT: _l("Performance of a contract (GDPR art. 6(1)(b))"),
    LegalBasis.LEGAL_OBLIGATION: _l("Legal obligation (GDPR art. 6(1)(c))"),
    LegalBasis.VITAL_INTERESTS: _l("Vital interests (GDPR art. 6(1)(d))"),
    LegalBasis.PUBLIC_TASK: _l("Task carried out in the public interest (GDPR art. 6(1)(e))"),
    LegalBasis.LEGITIMATE_INTERESTS: _l("Legitimate interests (GDPR art. 6(1)(f))"),
}
# Art. 6(3): the basis of points (c) and (e) is laid down by Union or Member State law: say which.
BASES_NAMING_A_LAW = frozenset({LegalBasis.LEGAL_OBLIGATION, LegalBasis.PUBLIC_TASK})


@dataclass(frozen=True)
class RecordField:
    """One entry of a record: its column, its label, whether it must be filled, and its shape."""

    key: str
    label: Any  # a lazy string
    required: bool = True
    shape: str = "text"  # "line" (one line), "text", "bool", "basis" (GDPR 6(1))
    hint: Any = None


# Both records name their transfers outside the EU the same way (GDPR 30(1)(e) and 30(2)(c)).
TRANSFER_FIELDS: tuple[RecordField, ...] = (
    RecordField(
        "transfers_outside_eu", _l("Transfers outside the European Union"), required=False, shape="bool"
    ),
    RecordField(
        "transfers",
        _l("Transfers: countries, recipients and safeguards"),
        required=False,
        hint=_l("Required when data leaves the European Union (GDPR art. 44-49)."),
    ),
)

CONTROLLER_FIELDS: tuple[RecordField, ...] = (
    RecordField("name", _l("Name of the processing"), shape="line"),
    RecordField("controller_name", _l("Controller"), shape="line"),
    RecordField(
        "controller_contact", _l("Controller's contact details"), hint=_l("Address, telephone, e-mail.")
    ),
    RecordField("dpo_name", _l("Data protection officer"), shape="line"),
    RecordField("dpo_contact", _l("Data protection officer's contact details")),
    RecordField("purposes", _l("Purposes of the processing")),
    RecordField("legal_basis", _l("Legal basis"), shape="basis"),
    RecordField(
        "legal_basis_details",
        _l("Legal basis: the text and details"),
        required=False,
        hint=_l(
            "For a legal obligation or a public-interest task, the law that lays it down (GDPR art. 6(3))."
        ),
    ),
    RecordField("data_subjects", _l("Categories of data subjects")),
    RecordField("data_categories", _l("Categories of personal data")),
    RecordField(
        "recipients",
        _l("Categories of recipients"),
        hint=_l("Who receives the data, processors included, and in which countries."),
    ),
    *TRANSFER_FIELDS,
    RecordField("retention", _l("Retention periods"), hint=_l("How long each category of data is kept.")),
    RecordField("security_measures", _l("Technical and organisational security measures")),
)

PROCESSOR_FIELDS: tuple[RecordField, ...] = (
    RecordField("name", _l("Processing carried out for the controller"), shape="line"),
    RecordField("processor_name", _l("Processor"), shape="line"),
    RecordField(
        "processor_contact", _l("Processor's contact details"), hint=_l("Address, telephone, e-mail.")
    ),
    RecordField("dpo_name", _l("Processor's data protection officer"), shape="line"),
    RecordField("dpo_contact", _l("Processor's data protection officer's contact details")),
    RecordField("controller_name", _l("Controller on whose behalf the processor acts"), shape="line"),
    RecordField("controller_contact", _l("Controller's contact details")),
    RecordField(
        "processing_categories",
        _l("Categories of processing carried out on behalf of the controller"),
        hint=_l("What the library does with the data for the Département: registrations, user support…"),
    ),
    RecordField(
        "sub_processors",
        _l("Sub-processors"),
        required=False,
        hint=_l("The companies the partner relies on, bound by the same obligations (convention art. 11)."),
    ),
    *TRANSFER_FIELDS,
    RecordField("security_measures", _l("Technical and organisational security measures")),
)

FIELDS = {RecordKind.CONTROLLER: CONTROLLER_FIELDS, RecordKind.PROCESSOR: PROCESSOR_FIELDS}
# Every content column once, in the controller's order then the processor's (the CSV of a record set).
ALL_KEYS: tuple[str, ...] = tuple(dict.fromkeys(f.key for f in (*CONTROLLER_FIELDS, *PROCESSOR_FIELDS)))


def fields_for(kind: RecordKind) -> tuple[RecordField, ...]:
    return FIELDS[kind]


def label_of(kind: RecordKind, key: str) -> Any:
    """The label of a column in a record of this kind (the first kind that has it otherwise)."""
    for f in (*FIELDS[kind], *CONTROLLER_FIELDS, *PROCESSOR_FIELDS):
        if f.key == key:
            return f.label
    raise KeyError(key)


# --- who may read and write ----------------------------------------------------------------------------


def may_read(user: Any, record: ProcessingRecord) -> bool:
    """The controller's record is read by everyone in compliance (partners carry out that processing);
    a partner's record by its partner, the DPO and the auditor."""
    if record.kind == RecordKind.CONTROLLER:
        return can(user, Permission.COMPLIANCE_VIEW)
    return can(user, Permission.COMPLIANCE_VIEW, record.organisation_id)


def may_edit(user: Any, record_or_kind: ProcessingRecord | RecordKind, organisation_id: int) -> bool:
    kind = record_or_kind.kind if isinstance(record_or_kind, ProcessingRecord) else record_or_kind
    if kind == RecordKind.CONTROLLER:
        return can(user, Permission.COMPLIANCE_CONTROL, organisation_id)
    return can(user, Permission.COMPLIANCE_EDIT, organisation_id)


def visible_records(user: Any) -> sa.Select[Any]:
    """The records the user may read: the controller's first, then the partners' by name."""
    stmt = (
        sa.select(ProcessingRecord)
        .join(Organisation, ProcessingRecord.organisation_id == Organisation.id)
        .options(selectinload(ProcessingRecord.versions), selectinload(ProcessingRecord.organisation))
        .order_by(
            sa.case((ProcessingRecord.kind == RecordKind.CONTROLLER, 0), else_=1),
            Organisation.name,
            ProcessingRecord.id,
        )
    )
    if reaches_all_organisations(user, Permission.COMPLIANCE_VIEW):
        return stmt
    if can(user, Permission.COMPLIANCE_VIEW):
        return stmt.where(
            sa.or_(
                ProcessingRecord.kind == RecordKind.CONTROLLER,
                ProcessingRecord.organisation_id == user.organisation_id,
            )
        )
    return stmt.where(sa.false())


def record_set(user: Any) -> list[ProcessingRecord]:
    """What the user's export of "the whole record" holds: the DPO and the auditor every record, a partner
    the controller's and its own."""
    return list(db.session.scalars(visible_records(user)))


def readable_record(user: Any, record_id: int) -> ProcessingRecord | None:
    """The record if the user may read it; None when it is missing or not theirs (the same answer)."""
    record = db.session.get(ProcessingRecord, record_id)
    if record is None or not may_read(user, record):
        return None
    return record


def record_of(organisation_id: int, kind: RecordKind) -> ProcessingRecord | None:
    return db.session.scalar(
        sa.select(ProcessingRecord).where(
            ProcessingRecord.organisation_id == organisation_id, ProcessingRecord.kind == kind
        )
    )


def controller_record() -> ProcessingRecord | None:
    """The controller's record (the first active controller's, should there be several)."""
    return db.session.scalar(
        sa.select(ProcessingRecord)
        .join(Organisation, ProcessingRecord.organisation_id == Organisation.id)
        .where(ProcessingRecord.kind == RecordKind.CONTROLLER, Organisation.active.is_(True))
        .order_by(Organisation.id)
    )


def controller_for(user: Any) -> Organisation | None:
    """The controller whose record the user writes: its own organisation when it is the controller,
    otherwise the first active controller."""
    own = getattr(user, "organisation", None)
    if own is not None and own.kind == OrganisationKind.CONTROLLER:
        return own
    return db.session.scalar(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.CONTROLLER, Organisation.active.is_(True))
        .order_by(Organisation.id)
    )


def partners_without_record() -> list[Organisation]:
    """Active partners that have not written their record yet (the DPO's to-do list)."""
    written = sa.select(ProcessingRecord.organisation_id).where(ProcessingRecord.kind == RecordKind.PROCESSOR)
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .where(
                Organisation.kind == OrganisationKind.PARTNER,
                Organisation.active.is_(True),
                Organisation.id.not_in(written),
            )
            .order_by(Organisation.name)
        )
    )


# --- the content of a version ---------------------------------------------------------------------------


def _clean(f: RecordField, raw: Any, errors: dict[str, str]) -> Any:
    if f.shape == "bool":
        return bool(raw)
    if f.shape == "basis":
        if raw in (None, ""):
            return None
        try:
            return LegalBasis(raw)
        except ValueError:
            errors[f.key] = _("Choose one of the legal bases of GDPR art. 6(1).")
            return None
    text = "" if raw is None else str(raw).strip()
    if f.shape == "line":
        text = " ".join(text.split())
    limit = LINE_MAX if f.shape == "line" else TEXT_MAX
    if len(text) > limit:
        errors[f.key] = _("At most %(max)d characters.", max=limit)
    return text or None


def check_values(kind: RecordKind, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of a version, cleaned (trimmed, empty as None); ValidationFailed names every field in
    error at once."""
    errors: dict[str, str] = {}
    clean = {f.key: _clean(f, values.get(f.key), errors) for f in fields_for(kind)}
    for f in fields_for(kind):
        if f.required and clean[f.key] in (None, "") and f.key not in errors:
            errors[f.key] = _("Required.")
    if clean.get("transfers_outside_eu") and not clean.get("transfers") and "transfers" not in errors:
        errors["transfers"] = _(
            "Data leaves the European Union: name the countries, the recipients and the safeguards "
            "(GDPR art. 46: adequacy decision, standard contractual clauses…)."
        )
    basis = clean.get("legal_basis")
    if kind == RecordKind.CONTROLLER:
        if basis == LegalBasis.LEGITIMATE_INTERESTS:
            # The controller is the Département, a public authority.
            errors["legal_basis"] = _(
                "A public authority cannot rely on legitimate interests for the tasks it carries out "
                "(GDPR art. 6(1), last subparagraph)."
            )
        elif (
            basis in BASES_NAMING_A_LAW
            and not clean.get("legal_basis_details")
            and "legal_basis_details" not in errors
        ):
            errors["legal_basis_details"] = _(
                "Name the law that lays down this task or obligation (GDPR art. 6(3))."
            )
    if errors:
        raise ValidationFailed(_("Some entries of the record are missing or invalid."), errors)
    return clean


def _note(change_note: str | None) -> str:
    note = (change_note or "").strip()
    if not note:
        raise ValidationFailed(
            _("Say what changed: the note is kept in the history."), {"change_note": _("Required.")}
        )
    if len(note) > TEXT_MAX:
        raise ValidationFailed(
            _("The note is too long."), {"change_note": _("At most %(max)d characters.", max=TEXT_MAX)}
        )
    return note


def content_of(version: ProcessingRecordVersion) -> dict[str, Any]:
    return {f.key: version.value(f.key) for f in fields_for(version.record.kind)}


def _add_version(
    actor: Any, record: ProcessingRecord, clean: dict[str, Any], note: str, number: int
) -> ProcessingRecordVersion:
    version = ProcessingRecordVersion(
        record=record,
        number=number,
        saved_at=utcnow(),
        saved_by_id=getattr(actor, "id", None),
        saved_by=str(getattr(actor, "email", None) or "system")[:254],
        change_note=note,
        **clean,
    )
    db.session.add(version)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the caller rolls back on any domain error
        raise Conflict(
            _("Someone saved this record at the same moment: nothing was recorded. Open it again.")
        ) from exc
    return version


def create_record(
    actor: Any,
    organisation: Organisation,
    kind: RecordKind,
    values: Mapping[str, Any],
    change_note: str | None,
) -> ProcessingRecordVersion:
    """Open an organisation's record with its first version. The controller's record belongs to the
    controller (written by the DPO); a processor's record to a partner (written by it or the DPO)."""
    if not may_edit(actor, kind, organisation.id):
        raise Forbidden(_("You may not write this record."))
    wanted = OrganisationKind.CONTROLLER if kind == RecordKind.CONTROLLER else OrganisationKind.PARTNER
    if organisation.kind != wanted:
        raise ValidationFailed(
            _("The controller's record belongs to the controller, a processor's record to a partner."),
            {"organisation_id": _("Not this kind of organisation.")},
        )
    if record_of(organisation.id, kind) is not None:
        raise Conflict(_("%(org)s has its record already: edit it instead.", org=organisation.name))
    errors: dict[str, str] = {}
    try:
        clean = check_values(kind, values)
    except ValidationFailed as err:
        errors.update(err.fields)
        clean = {}
    try:
        note = _note(change_note)
    except ValidationFailed as err:
        errors.update(err.fields)
        note = ""
    if errors:
        raise ValidationFailed(_("Some entries of the record are missing or invalid."), errors)
    record = ProcessingRecord(kind=kind, organisation=organisation)
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError as exc:  # created at the same moment by someone else
        raise Conflict(_("%(org)s has its record already: edit it instead.", org=organisation.name)) from exc
    return _add_version(actor, record, clean, note, 1)


def save_version(
    actor: Any,
    record: ProcessingRecord,
    values: Mapping[str, Any],
    change_note: str | None,
    base_number: int | None = None,
) -> ProcessingRecordVersion:
    """Save the record's new content as its next version.

    `base_number` is the version the author started from: when someone saved another one since, nothing
    is recorded (Conflict), so an edit never silently replaces one the author has not seen. Saving the
    same content again is refused too: the history holds changes."""
    if not may_edit(actor, record, record.organisation_id):
        raise Forbidden(_("You may not write this record."))
    current = record.current
    if current is None:  # a record is created with its first version
        raise NotFound(_("This record has no version."))
    if base_number is not None and base_number != current.number:
        raise Conflict(
            _(
                "Version %(number)d was saved by %(who)s since you opened the form: nothing was recorded. "
                "Your text is kept below; compare it with the current version, then save again.",
                number=current.number,
                who=current.saved_by,
            )
        )
    errors: dict[str, str] = {}
    try:
        clean = check_values(record.kind, values)
    except ValidationFailed as err:
        errors.update(err.fields)
        clean = {}
    try:
        note = _note(change_note)
    except ValidationFailed as err:
        errors.update(err.fields)
        note = ""
    if errors:
        raise ValidationFailed(_("Some entries of the record are missing or invalid."), errors)
    if clean == content_of(current):
        raise ValidationFailed(
            _("Nothing changed since version %(number)d: no new version was recorded.", number=current.number)
        )
    return _add_version(actor, record, clean, note, current.number + 1)


def version_of(record: ProcessingRecord, number: int) -> ProcessingRecordVersion | None:
    return next((v for v in record.versions if v.number == number), None)


# --- showing and comparing -------------------------------------------------------------------------------


def display_value(f: RecordField, value: Any) -> str:
    """A value as the pages and the exports write it."""
    if f.shape == "bool":
        return _("yes") if value else _("no")
    if f.shape == "basis":
        return str(LEGAL_BASIS_LABELS[value]) if value is not None else ""
    return "" if value is None else str(value)


@dataclass(frozen=True)
class FieldComparison:
    field: RecordField
    old: str
    new: str
    # Line by line, for a changed text: ("same" | "removed" | "added", line).
    lines: list[tuple[str, str]] = dataclass_field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.old != self.new


def _line_diff(old: str, new: str) -> list[tuple[str, str]]:
    tags = {" ": "same", "-": "removed", "+": "added"}
    return [
        (tags[line[0]], line[2:])
        for line in difflib.ndiff(old.splitlines(), new.splitlines())
        if line[:1] in tags
    ]


def compare(older: ProcessingRecordVersion, newer: ProcessingRecordVersion) -> list[FieldComparison]:
    """Every field of the record, what each version says, and line by line what changed."""
    if older.record_id != newer.record_id:
        raise ValidationFailed(_("Two versions of the same record are compared."))
    rows = []
    for f in fields_for(older.record.kind):
        old = display_value(f, older.value(f.key))
        new = display_value(f, newer.value(f.key))
        lines = _line_diff(old, new) if old != new and f.shape == "text" else []
        rows.append(FieldComparison(f, old, new, lines))
    return rows


def changed_fields(older: ProcessingRecordVersion, newer: ProcessingRecordVersion) -> list[str]:
    return [row.field.key for row in compare(older, newer) if row.changed]


# --- what a new record's form starts from -----------------------------------------------------------------


def starting_values(organisation: Organisation, kind: RecordKind) -> dict[str, Any]:
    """A new record's form, filled with what Vigie already knows: the organisation's name and address;
    for a partner, its DPO and sub-processors (its processor file) and the controller's identity (the
    controller's record)."""
    if kind == RecordKind.CONTROLLER:
        return {
            "controller_name": organisation.name,
            "controller_contact": organisation.address or "",
            "legal_basis": LegalBasis.PUBLIC_TASK.value,
        }
    from compliance.processor.services import current_dpo, sub_processors_of

    values: dict[str, Any] = {
        "processor_name": organisation.name,
        "processor_contact": organisation.address or "",
    }
    dpo = current_dpo(organisation.id)
    if dpo is not None:
        values["dpo_name"] = dpo.name
        values["dpo_contact"] = "\n".join(v for v in (dpo.email, dpo.phone, dpo.address) if v)
    subs = sub_processors_of(organisation.id)
    if subs:
        values["sub_processors"] = "\n".join(
            f"{s.company} — {s.service}" + (f" ({s.location})" if s.location else "") for s in subs
        )
    controller = controller_record()
    if controller is not None and controller.current is not None:
        values["name"] = controller.current.name or ""
        values["controller_name"] = controller.current.controller_name or ""
        values["controller_contact"] = controller.current.controller_contact or ""
    return values
