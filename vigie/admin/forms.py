from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import CheckboxInput, ListWidget

from vigie.auth.roles import ROLE_LABELS, Role


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (rendered in a fieldset by the template)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices() -> list[tuple[str, str]]:
    return [(role.value, str(ROLE_LABELS[role])) for role in Role]


class UserEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    roles = CheckboxesField(
        _l("Roles"),
        choices=role_choices,
        validators=[DataRequired(message=_l("Choose at least one role."))],
    )
    submit = SubmitField(_l("Save"))


class UserCreateForm(UserEditForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(), Email(), Length(max=254)],
        render_kw={"autocomplete": "off"},
    )
    submit = SubmitField(_l("Create and send the invitation"))
