"""The record forms, one per kind, built from the fields of compliance.records.services (one list of
fields for the forms, the pages, the comparison and the exports). The rules (what is required, the
legal basis, the transfers) are the service's: the form only carries the values and the CSRF token."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from compliance.records.models import RecordKind
from compliance.records.services import LEGAL_BASIS_LABELS, LINE_MAX, TEXT_MAX, fields_for


class RecordForm(FlaskForm):
    """The fields common to both kinds; the record's own fields are added by form_class()."""

    kind: RecordKind
    change_note = TextAreaField(
        _l("What changed, and why"),
        render_kw={"maxlength": TEXT_MAX, "rows": 2},
        description=_l("Kept in the history with your name and the time."),
    )
    # The version the author started from: a version saved meanwhile is not silently replaced.
    base_number = HiddenField()

    def record_fields(self) -> list[Field]:
        return [self[f.key] for f in fields_for(self.kind)]

    def data_for_service(self) -> dict[str, Any]:
        return {f.key: self[f.key].data for f in fields_for(self.kind)}

    def base(self) -> int | None:
        raw = (self.base_number.data or "").strip()
        return int(raw) if raw.isdigit() else None


def _field_for(shape: str, label: Any, hint: Any) -> Field:
    if shape == "bool":
        return BooleanField(label, description=hint or "")
    if shape == "basis":
        choices = [SelectChoice("", _l("— choose a legal basis —"))]
        choices += [SelectChoice(b.value, text) for b, text in LEGAL_BASIS_LABELS.items()]
        return SelectField(label, choices=choices, validate_choice=False, description=hint or "")
    if shape == "line":
        return StringField(label, render_kw={"maxlength": LINE_MAX}, description=hint or "")
    return TextAreaField(label, render_kw={"maxlength": TEXT_MAX, "rows": 4}, description=hint or "")


def _form_class(kind: RecordKind) -> type[RecordForm]:
    attrs: dict[str, Any] = {"kind": kind}
    for f in fields_for(kind):
        attrs[f.key] = _field_for(f.shape, f.label, f.hint)
    return type(f"{kind.value.title()}RecordForm", (RecordForm,), attrs)


FORMS: dict[RecordKind, type[RecordForm]] = {kind: _form_class(kind) for kind in RecordKind}


def record_form(kind: RecordKind, data: dict[str, Any] | None = None) -> RecordForm:
    """The form of a record of this kind: from the request on a POST, else filled with `data`."""
    cls = FORMS[kind]
    if data is None:
        return cls()
    initial = {key: (value.value if hasattr(value, "value") else value) for key, value in data.items()}
    return cls(data=initial)
