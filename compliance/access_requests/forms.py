"""Forms of the request and inquiry pages. They parse and check formats; the rules (who may, what is
required when) are the services' (compliance.access_requests.services), whose errors come back on the
fields of the same names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    EmailField,
    Field,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, Optional, StopValidation
from wtforms.widgets import CheckboxInput, DateTimeLocalInput, ListWidget

from compliance.access_requests.models import Outcome, RequestStatus, Right
from vigie.timeutil import PARIS

RIGHT_LABELS = {
    Right.ACCESS: _l("Access to their data (art. 15)"),
    Right.RECTIFICATION: _l("Rectification (art. 16)"),
    Right.ERASURE: _l("Erasure (art. 17)"),
    Right.RESTRICTION: _l("Restriction of processing (art. 18)"),
    Right.PORTABILITY: _l("Data portability (art. 20)"),
    Right.OBJECTION: _l("Objection (art. 21)"),
}
STATUS_LABELS = {RequestStatus.OPEN: _l("open"), RequestStatus.ANSWERED: _l("answered")}
OUTCOME_LABELS = {
    Outcome.GRANTED: _l("granted"),
    Outcome.PARTIAL: _l("partly granted"),
    Outcome.REFUSED: _l("refused"),
}

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


class ParisDateTimeField(Field):
    """A date and time typed in Europe/Paris (datetime-local), kept as an aware UTC datetime.

    A time that does not exist in Paris (the hour skipped when the clocks go forward) is refused; a
    time that happens twice (the hour repeated in October) is taken as the first one, in summer time.
    """

    widget = DateTimeLocalInput()

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(str(v) for v in self.raw_data)
        if isinstance(self.data, datetime):
            return self.data.astimezone(PARIS).strftime(LOCAL_FORMAT)
        return ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = " ".join(str(v) for v in valuelist).strip()
        if not text:
            self.data = None
            return
        try:
            naive = datetime.strptime(text[:16], LOCAL_FORMAT)
        except ValueError:
            self.data = None
            raise ValueError(_("Give a date and a time (day, month, year, hours, minutes).")) from None
        moment = naive.replace(tzinfo=PARIS).astimezone(UTC)
        if moment.astimezone(PARIS).replace(tzinfo=None) != naive:
            self.data = None
            raise ValueError(
                _(
                    "This time does not exist in Paris: the clocks went forward by an hour that night. "
                    "Give the time as the clock showed it."
                )
            )
        self.data = moment


class ChoiceRadioField(RadioField):
    """Radio buttons; none chosen gives `message` (and only it), an unknown value "Not a valid choice"."""

    def __init__(self, label: Any = None, message: Any = None, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.message = message

    def pre_validate(self, form: Any) -> None:
        if not self.raw_data or not self.raw_data[0]:
            raise StopValidation(str(self.message) if self.message else None)
        super().pre_validate(form)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def paris_now() -> datetime:
    """Now, to the minute, as the default of a time field."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


class RequestForm(FlaskForm):
    """The intake of a request. `received_by_organisation_id` offers what the user may choose: its own
    organisation for a partner, the Département or a partner for the DPO (see the view)."""

    right = SelectField(
        _l("Right exercised"), choices=[SelectChoice(r.value, label) for r, label in RIGHT_LABELS.items()]
    )
    subject_name = StringField(_l("The person's name"), validators=[Length(max=200)])
    subject_email = EmailField(
        _l("E-mail address"), validators=[Optional(), Email(), Length(max=254)], filters=[_strip]
    )
    subject_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    subject_address = TextAreaField(_l("Postal address"), validators=[Optional(), Length(max=1000)])
    request_text = TextAreaField(_l("The request, in the person's words"), validators=[Length(max=20000)])
    received_by_organisation_id = SelectField(_l("Received by"), coerce=int)
    received_at = ParisDateTimeField(
        _l("Received on"),
        validators=[InputRequired(message=_l("Say when the request arrived."))],
        default=paris_now,
    )
    channel = StringField(_l("Channel"), validators=[Optional(), Length(max=100)])


class IdentityForm(FlaskForm):
    identity_requested_at = ParisDateTimeField(_l("Proof of identity asked on"), validators=[Optional()])
    identity_received_at = ParisDateTimeField(_l("Proof of identity received on"), validators=[Optional()])
    identity_method = StringField(
        _l("How the identity was checked"), validators=[Optional(), Length(max=200)]
    )


class ExtensionForm(FlaskForm):
    extension_reason = TextAreaField(_l("Reasons for the extension"), validators=[Length(max=5000)])
    extension_notified_at = ParisDateTimeField(
        _l("The person was informed on"),
        validators=[InputRequired(message=_l("Say when the person was informed."))],
        default=paris_now,
    )


class InquiriesForm(FlaskForm):
    """Ask one or several partners at once: one inquiry each, with the same search details."""

    organisation_ids = MultiCheckboxField(_l("Partners to ask"), coerce=int)
    search_details = TextAreaField(
        _l("What the partners need to find the person"), validators=[Length(max=5000)]
    )
    requested_at = ParisDateTimeField(_l("Asked on"), validators=[Optional()])


class AnswerForm(FlaskForm):
    outcome = ChoiceRadioField(
        _l("Answer"),
        message=_l("Choose the answer: granted, partial or refused."),
        choices=[SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()],
    )
    legal_ground = TextAreaField(
        _l("Legal ground of a refusal or partial answer"), validators=[Length(max=5000)]
    )
    answer_channel = StringField(_l("Sent by"), validators=[Length(max=100)])
    answered_at = ParisDateTimeField(
        _l("Sent on"),
        validators=[InputRequired(message=_l("Say when the answer was sent."))],
        default=paris_now,
    )
    answer_text = TextAreaField(_l("The answer"), validators=[Length(max=50000)])


class InquiryAnswerForm(FlaskForm):
    holds_data = ChoiceRadioField(
        _l("Does your library hold data about this person?"),
        message=_l("Say whether your library holds data about the person."),
        choices=[
            SelectChoice("yes", _l("Yes: we describe it, or attach an export")),
            SelectChoice("no", _l("No: we hold nothing about this person")),
        ],
    )
    details = TextAreaField(_l("What your library holds"), validators=[Length(max=20000)])
    attachment = FileField(_l("Export (one file)"))
