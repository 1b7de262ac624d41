"""The breach forms: the partner's declaration, and the DPO's and the partner's follow-up forms on the
breach's page. Times are typed as Paris wall-clock times (datetime-local) and handed to the services as
aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from compliance.breaches.models import NotificationKind, RiskLevel
from compliance.breaches.register import ACTION_STATUS_LABELS
from compliance.breaches.services import BreachData
from vigie.timeutil import PARIS

TEXT_MAX = 5000  # characters of a free-text answer
LINE_MAX = 200

# --- labels of the choices (the statuses' labels are compliance.breaches.register's, shared with the
# exports and the API) -------------------------------------------------------------------------------

RISK_LABELS = {
    RiskLevel.NONE: _l("no risk"),
    RiskLevel.RISK: _l("risk"),
    RiskLevel.HIGH: _l("high risk"),
}
RISK_HINTS = {
    RiskLevel.NONE: _l(
        "Unlikely to result in a risk for the people: documented in the register, not notified."
    ),
    RiskLevel.RISK: _l("A risk for the people: the CNIL is notified within 72 hours of awareness."),
    RiskLevel.HIGH: _l("A high risk: the CNIL is notified and the people affected are informed."),
}
NATURE_LABELS = {
    "confidentiality": _l("Confidentiality"),
    "integrity": _l("Integrity"),
    "availability": _l("Availability"),
}
# Plain words for the partner: what each nature means, with everyday examples.
NATURE_HINTS = {
    "confidentiality": _l(
        "Personal data was seen, copied or sent by or to people who should not have it "
        "(a lost USB key, an e-mail sent to the wrong person, an intrusion)."
    ),
    "integrity": _l(
        "Personal data was changed or damaged without authorisation "
        "(records altered by mistake, files encrypted by a ransomware)."
    ),
    "availability": _l(
        "Personal data was lost or could not be reached for a while "
        "(a deleted file, a server out of order, a stolen computer without a backup)."
    ),
}
NOTIFICATION_KIND_LABELS = {
    NotificationKind.INITIAL: _l("initial notification"),
    NotificationKind.COMPLEMENTARY: _l("complementary notification"),
}

# --- Paris wall-clock times --------------------------------------------------------------------------


class NonexistentLocalTime(ValueError):
    """A wall-clock time the clocks skipped (the spring change: 2:00 to 3:00 does not exist)."""


def paris_to_utc(local: datetime) -> datetime:
    """A naive Paris wall-clock time as an aware UTC datetime.

    A time in the hour skipped in spring does not exist: NonexistentLocalTime. A time in the hour
    repeated in autumn happened twice: the first occurrence (summer time) is taken, the earlier instant,
    so a clock started from it never runs late.
    """
    aware = local.replace(tzinfo=PARIS, fold=0)
    if aware.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != local:
        raise NonexistentLocalTime(local.isoformat())
    return aware.astimezone(UTC)


class ParisDateTimeField(DateTimeLocalField):
    """<input type="datetime-local">, read and shown in Europe/Paris; `data` is aware, in UTC."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
        super().__init__(*args, tz=PARIS, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        for fmt in self.strptime_format:
            try:
                local = datetime.strptime(str(valuelist[0]).strip(), fmt)
                break
            except ValueError:
                continue
        else:
            self.data = None
            raise ValueError(str(_l("Give a date and a time, for example 28/03/2025 10:00.")))
        try:
            self.data = paris_to_utc(local)
        except NonexistentLocalTime:
            self.data = None
            raise ValueError(
                str(
                    _l(
                        "This time does not exist in Paris: the clocks went forward from 2:00 to 3:00 "
                        "that night. Give a time before 2:00 or from 3:00."
                    )
                )
            ) from None


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# --- the declaration --------------------------------------------------------------------------------


class BreachForm(FlaskForm):
    """The partner's declaration (or the DPO's on a partner's behalf, with `organisation_id`)."""

    organisation_id = SelectField(
        _l("Partner concerned"), coerce=int, validators=[InputRequired(_l("Choose the partner."))]
    )
    # What happened
    summary = TextAreaField(
        _l("What happened?"),
        validators=[DataRequired(_l("Say what happened.")), Length(max=TEXT_MAX)],
        render_kw={"rows": 4},
    )
    circumstances = TextAreaField(
        _l("Circumstances"), validators=[Optional(), Length(max=TEXT_MAX)], render_kw={"rows": 3}
    )
    # When
    started_at = ParisDateTimeField(_l("When did it start?"), validators=[Optional()])
    # The order of the times (start, end, discovery) and "not in the future" are the service's rules.
    ended_at = ParisDateTimeField(_l("When did it end?"), validators=[Optional()])
    discovered_at = ParisDateTimeField(_l("When was it discovered?"), validators=[Optional()])
    # Nature
    natures = MultiCheckboxField(
        _l("Nature of the breach"),
        choices=[SelectChoice(code, label) for code, label in NATURE_LABELS.items()],
        validate_choice=True,
    )
    # Cause
    cause = TextAreaField(_l("What caused it?"), validators=[Optional(), Length(max=TEXT_MAX)])
    # Who and what is affected
    data_categories = TextAreaField(
        _l("What kinds of personal data?"), validators=[Optional(), Length(max=TEXT_MAX)]
    )
    subject_categories = TextAreaField(_l("Whose data is it?"), validators=[Optional(), Length(max=TEXT_MAX)])
    subjects_count = IntegerField(
        _l("About how many people?"),
        validators=[Optional(), NumberRange(min=0, message=_l("A number of people cannot be negative."))],
    )
    records_count = IntegerField(
        _l("About how many records?"),
        validators=[Optional(), NumberRange(min=0, message=_l("A number of records cannot be negative."))],
    )
    # Consequences and measures
    consequences = TextAreaField(
        _l("What could happen to the people concerned?"), validators=[Optional(), Length(max=TEXT_MAX)]
    )
    measures_taken = TextAreaField(
        _l("What have you done already?"), validators=[Optional(), Length(max=TEXT_MAX)]
    )
    measures_proposed = TextAreaField(
        _l("What do you propose to do next?"), validators=[Optional(), Length(max=TEXT_MAX)]
    )
    # Contact point
    contact_name = StringField(_l("Name and function"), validators=[Optional(), Length(max=LINE_MAX)])
    contact_email = EmailField(
        _l("E-mail address"),
        validators=[Optional(), Email(_l("Give a valid e-mail address.")), Length(max=254)],
    )
    contact_phone = StringField(_l("Telephone"), validators=[Optional(), Length(max=40)])

    def data_for_service(self) -> BreachData:
        def text(name: str) -> str | None:
            value = self[name].data
            return value.strip() if isinstance(value, str) and value.strip() else None

        return BreachData(
            summary=(self.summary.data or "").strip(),
            circumstances=text("circumstances"),
            cause=text("cause"),
            natures=list(self.natures.data or []),
            started_at=self.started_at.data,
            ended_at=self.ended_at.data,
            discovered_at=self.discovered_at.data,
            data_categories=text("data_categories"),
            subject_categories=text("subject_categories"),
            subjects_count=self.subjects_count.data,
            records_count=self.records_count.data,
            consequences=text("consequences"),
            measures_taken=text("measures_taken"),
            measures_proposed=text("measures_proposed"),
            contact_name=text("contact_name"),
            contact_email=text("contact_email"),
            contact_phone=text("contact_phone"),
        )


# --- the follow-up forms of the breach's page --------------------------------------------------------
# Several forms share the page: each has a prefix (unique names and ids). The CSRF token is checked for
# every POST by CSRFProtect (vigie.extensions.csrf) and written by the templates with csrf_token().


class _PageForm(FlaskForm):
    class Meta:
        csrf = False  # checked by CSRFProtect for the whole application; see above


class AcknowledgeForm(_PageForm):
    aware_at = ParisDateTimeField(_l("The Département was aware earlier, on"), validators=[Optional()])
    reason = TextAreaField(
        _l("How did the Département learn of it then?"),
        validators=[Optional(), Length(max=TEXT_MAX)],
        render_kw={"rows": 2},
    )


class AwarenessForm(_PageForm):
    aware_at = ParisDateTimeField(
        _l("The Département became aware on"),
        validators=[InputRequired(_l("Give the time the Département became aware."))],
    )
    reason = TextAreaField(
        _l("How did the Département learn of it then?"),
        validators=[DataRequired(_l("Give the reason.")), Length(max=TEXT_MAX)],
        render_kw={"rows": 2},
    )


class AssessmentForm(_PageForm):
    risk_level = RadioField(
        _l("Risk for the people"),
        choices=[SelectChoice(level.value, label) for level, label in RISK_LABELS.items()],
        validators=[InputRequired(_l("Choose the risk: none, risk or high."))],
    )
    risk_reasoning = TextAreaField(
        _l("Reasoning"),
        validators=[
            DataRequired(_l("Give the reasoning: it is kept in the register.")),
            Length(max=TEXT_MAX),
        ],
        render_kw={"rows": 4},
    )
    communication_due = DateField(_l("Inform the people affected by"), validators=[Optional()])


class NotificationForm(_PageForm):
    kind = RadioField(
        _l("Notification"),
        choices=[SelectChoice(k.value, label) for k, label in NOTIFICATION_KIND_LABELS.items()],
        validators=[InputRequired(_l("Choose initial or complementary."))],
        default=NotificationKind.INITIAL.value,
    )
    notified_at = ParisDateTimeField(
        _l("Notified to the CNIL on"),
        validators=[InputRequired(_l("Give the time of the notification."))],
    )
    cnil_reference = StringField(_l("CNIL reference"), validators=[Optional(), Length(max=100)])
    summary = TextAreaField(
        _l("What was notified"), validators=[Optional(), Length(max=TEXT_MAX)], render_kw={"rows": 3}
    )
    late_reasons = TextAreaField(
        _l("Reasons for the delay"), validators=[Optional(), Length(max=TEXT_MAX)], render_kw={"rows": 3}
    )


class CommunicationForm(_PageForm):
    informed_at = ParisDateTimeField(
        _l("The people were informed on"), validators=[InputRequired(_l("Give the date and time."))]
    )
    channel = StringField(
        _l("How"),
        validators=[
            DataRequired(_l("Say how they were informed (letter, e-mail, notice…).")),
            Length(max=200),
        ],
    )
    reached = IntegerField(
        _l("Number of people reached"),
        validators=[
            InputRequired(_l("Give the number of people reached.")),
            NumberRange(min=0, message=_l("A number of people cannot be negative.")),
        ],
    )


class ActionForm(_PageForm):
    description = TextAreaField(
        _l("Action"),
        validators=[DataRequired(_l("Describe the action.")), Length(max=TEXT_MAX)],
        render_kw={"rows": 2},
    )
    owner = StringField(
        _l("Who carries it out"), validators=[DataRequired(_l("Say who carries it out.")), Length(max=200)]
    )
    due_date = DateField(_l("Due date"), validators=[Optional()])


class ActionStatusForm(_PageForm):
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice(s.value, label) for s, label in ACTION_STATUS_LABELS.items()],
    )


class CloseForm(_PageForm):
    closure_summary = TextAreaField(
        _l("Closing summary"),
        validators=[DataRequired(_l("Write the closing summary.")), Length(max=TEXT_MAX)],
        render_kw={"rows": 4},
    )


PAGE_FORMS: dict[str, type[_PageForm]] = {
    "acknowledge": AcknowledgeForm,
    "awareness": AwarenessForm,
    "assessment": AssessmentForm,
    "notification": NotificationForm,
    "communication": CommunicationForm,
    "action": ActionForm,
    "close": CloseForm,
}
