"""The forms of a partner's processor file. Several share one page: each has a prefix (unique names and
ids); the CSRF token of every POST is checked by CSRFProtect (vigie.extensions.csrf) and written by the
templates with csrf_token(). The rules (dates, e-mail addresses, scopes) are the services'; the forms
only read what was typed."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from compliance.processor.services import GrantData, SubProcessorData
from vigie.errors import ValidationFailed

SCOPE_LABELS = {
    "registrations": _l("Registrations"),
    "user_support": _l("User support"),
    "statistics": _l("Statistics"),
    "administration": _l("Administration"),
}
WARNING_LABELS = {
    "clauses_missing": _l("No data-protection clauses"),
    "outside_eu": _l("Data outside the EU"),
}


def given(value: date | None) -> date:
    """A day its form's validators require (InputRequired): present once the form is valid."""
    if value is None:
        raise ValidationFailed(str(_l("Some information is invalid.")))
    return value


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


class DayField(DateField):
    """<input type="date">: a day, with a plain message when it is not one."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Give a date, for example 31/05/2025."))) from None


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _PageForm(FlaskForm):
    class Meta:
        csrf = False  # checked by CSRFProtect for the whole application; see above


class DpoForm(_PageForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the DPO's name.")), Length(max=200)])
    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(_l("Give an e-mail address.")),
            Email(_l("Give a valid e-mail address.")),
            Length(max=254),
        ],
    )
    phone = StringField(_l("Telephone"), validators=[Optional(), Length(max=40)])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=500)], render_kw={"rows": 2})
    cnil_designation = StringField(_l("CNIL designation number"), validators=[Optional(), Length(max=40)])
    since = DayField(_l("DPO since"), validators=[Optional()])


class GrantForm(_PageForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the person's name.")), Length(max=200)])
    email = EmailField(
        _l("E-mail address"),
        validators=[Optional(), Email(_l("Give a valid e-mail address.")), Length(max=254)],
    )
    function = StringField(_l("Function"), validators=[Optional(), Length(max=200)])
    scope = MultiCheckboxField(
        _l("What the person may do"),
        choices=[SelectChoice(code, label) for code, label in SCOPE_LABELS.items()],
        validators=[DataRequired(_l("Tick at least one."))],
        validate_choice=True,
    )
    granted_on = DayField(
        _l("Authorised from"), validators=[InputRequired(_l("Give the day the authorisation starts."))]
    )

    def data_for_service(self) -> GrantData:
        return GrantData(
            name=(self.name.data or "").strip(),
            granted_on=given(self.granted_on.data),
            email=_text(self.email.data),
            function=_text(self.function.data),
            scope=list(self.scope.data or []),
        )


class RevokeForm(_PageForm):
    revoked_on = DayField(
        _l("Ends on"), validators=[InputRequired(_l("Give the day the authorisation ends."))]
    )
    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(_l("Say why the authorisation ends.")), Length(max=500)],
    )


class SubProcessorForm(_PageForm):
    company = StringField(
        _l("Company"), validators=[DataRequired(_l("Give the company's name.")), Length(max=200)]
    )
    service = StringField(
        _l("Service provided"),
        validators=[DataRequired(_l("Say what service it provides.")), Length(max=300)],
    )
    data_concerned = TextAreaField(
        _l("Personal data concerned"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 2}
    )
    clauses_in_place = BooleanField(_l("Data-protection clauses signed (GDPR art. 28)"))
    clauses_signed_on = DayField(_l("Clauses signed on"), validators=[Optional()])
    data_outside_eu = BooleanField(_l("Data stored or accessed outside the European Union"))
    location = StringField(_l("Where the data is"), validators=[Optional(), Length(max=200)])

    def data_for_service(self) -> SubProcessorData:
        return SubProcessorData(
            company=(self.company.data or "").strip(),
            service=(self.service.data or "").strip(),
            data_concerned=_text(self.data_concerned.data),
            clauses_in_place=bool(self.clauses_in_place.data),
            clauses_signed_on=self.clauses_signed_on.data,
            data_outside_eu=bool(self.data_outside_eu.data),
            location=_text(self.location.data),
        )


class EndSubProcessorForm(_PageForm):
    ended_on = DayField(_l("Ended on"), validators=[InputRequired(_l("Give the day it ended."))])
