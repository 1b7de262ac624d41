from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


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
    submit = SubmitField(_l("Save"))
