"""Forms of the staff-list pages. They parse and check formats; the rules (who may, which dates, the
certification's confirmation) are the services' (compliance.staff_lists.services), whose errors come
back on the fields of the same names."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, TextAreaField
from wtforms.validators import InputRequired, Length

# The scopes of a grant (compliance.processor.services.SCOPES), as the lists show them.
SCOPE_LABELS = {
    "registrations": _l("Registrations"),
    "user_support": _l("User support"),
    "statistics": _l("Statistics"),
    "administration": _l("Administration"),
}


def scope_label(code: str) -> str:
    return str(SCOPE_LABELS.get(code, code))


class DayField(DateField):
    """<input type="date">: a day, with a plain message when it is not one."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Give a date, for example 31/05/2025."))) from None


class AskForm(FlaskForm):
    """The DPO asks a partner for its list; the due date comes filled with the default."""

    due_date = DayField(
        _l("List due by"), validators=[InputRequired(message=_l("Give the date the list is due by."))]
    )
    note = TextAreaField(_l("Message to the partner (optional)"), validators=[Length(max=2000)])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Why the request is withdrawn"), validators=[Length(max=2000)])


class CertifyForm(FlaskForm):
    confirm = BooleanField(
        _l(
            "I certify that this list is complete and accurate: these are the only people of our "
            "organisation authorised to see personal data today."
        )
    )


REQUEST_STATUS_LABELS = {
    "pending": _l("waiting for the list"),
    "fulfilled": _l("list certified"),
    "cancelled": _l("withdrawn"),
}

# The seal of a snapshot as the pages, the PDF and the CSV state it (integrity.Verification.reason).
SEAL_LABELS = {
    None: _l("valid"),
    "content_changed": _l("TAMPERED"),
    "signature_mismatch": _l("TAMPERED"),
    "unreadable": _l("TAMPERED"),
    "unknown_key": _l("not verifiable"),
}
SEAL_EXPLANATIONS = {
    None: _l("The list, its hash and its signature are those of the certification."),
    "content_changed": _l("The list no longer matches its hash: it was changed after certification."),
    "signature_mismatch": _l(
        "The hash is not the one Vigie signed: the list and its hash were changed after certification."
    ),
    "unreadable": _l("The stored list cannot be read: it was altered after certification."),
    "unknown_key": _l(
        "It was signed with another server key (the server's secret key has changed since): Vigie "
        "cannot check its signature."
    ),
}
