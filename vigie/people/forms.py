from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from vigie.people.services import MAX_QUERY_LENGTH


class PersonSearchForm(FlaskForm):
    """Posted with its CSRF token: it writes the search log, and keeps the query out of URLs."""

    q = StringField(_l("Name or e-mail address"), validators=[DataRequired(), Length(max=MAX_QUERY_LENGTH)])
