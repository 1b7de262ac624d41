from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional


def optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(str(value))


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("partner", _l("Partner (processor)")),
            SelectChoice("controller", _l("Controller")),
            SelectChoice("other", _l("Other body")),
        ],
    )
    siren = StringField(_l("SIREN"), validators=[Optional(), Length(max=11)])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=1000)])
    computerised_libraries = BooleanField(_l("Its libraries are computerised"), default=True)
    # The commune or communauté de communes a library belongs to (choices set by the view).
    parent_id = SelectField(_l("Belongs to"), coerce=optional_int, validators=[Optional()], choices=[])
    submit = SubmitField(_l("Save"))


class PersonForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    function = StringField(_l("Function"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[Optional(), Email(), Length(max=254)])
    phone = TelField(_l("Telephone"), validators=[Optional(), Length(max=40)])
    is_digital_referent = BooleanField(_l("Referent for the digital services (convention art. 3)"))
    submit = SubmitField(_l("Save"))
