from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import select_choices
from ..models import WorkshopFormat
from ..models.survey import QUESTION_KIND_LABELS as KIND_LABELS
from ..services.reminders import MAX_DAYS_BEFORE as MAX_REMINDER_DAYS
from ..services.scheduling import MAX_CAPACITY, TIMEZONES, ProgrammeDetails, SessionDetails, WorkshopDetails
from ..services.surveys import QuestionDetails

TIME_FORMAT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def _text(field) -> str:
    """A text field's value, trimmed; an absent optional field is empty."""
    return (field.data or "").strip()


def _number(field, usual: int) -> int:
    """An optional number field's value, or the usual one when left empty."""
    return usual if field.data is None else field.data


def aware(value: datetime | None, zone: str) -> datetime | None:
    """A wall-clock time typed for a venue, made aware in the venue's zone."""
    return value.replace(tzinfo=ZoneInfo(zone)) if value else None


class WorkshopForm(FlaskForm):
    programme_id = SelectField(_l("Programme"), coerce=int, validators=[Optional()])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=300)])
    title_zh = StringField(_l("Title (Chinese)"), validators=[Length(max=300)])
    description_en = TextAreaField(_l("Description (English)"))
    description_zh = TextAreaField(_l("Description (Chinese)"))
    format = SelectField(
        _l("Format"), choices=lambda: select_choices(WorkshopFormat.choices()), validators=[DataRequired()]
    )
    city = StringField(_l("City"), validators=[Length(max=100)])
    venue = StringField(_l("Venue"), validators=[Length(max=300)])
    meeting_url = URLField(
        _l("Meeting link (shown only to registered online participants)"), validators=[Length(max=500)]
    )
    timezone = SelectField(
        _l("Time zone"), choices=select_choices((z, z) for z in TIMEZONES), default="Asia/Shanghai"
    )
    starts_at = DateTimeLocalField(
        _l("Starts"), format=TIME_FORMAT, validators=[InputRequired(_l("Enter the start date and time."))]
    )
    ends_at = DateTimeLocalField(
        _l("Ends"), format=TIME_FORMAT, validators=[InputRequired(_l("Enter the end date and time."))]
    )
    registration_opens_at = DateTimeLocalField(
        _l("Registration opens"), format=TIME_FORMAT, validators=[Optional()]
    )
    registration_closes_at = DateTimeLocalField(
        _l("Registration closes"), format=TIME_FORMAT, validators=[Optional()]
    )
    onsite_capacity = IntegerField(
        _l("Onsite seats"),
        default=0,
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(
                min=0, max=MAX_CAPACITY, message=_l("Between 0 and %(most)s seats.", most=f"{MAX_CAPACITY:,}")
            ),
        ],
    )
    online_capacity = IntegerField(
        _l("Online seats"),
        default=0,
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(
                min=0, max=MAX_CAPACITY, message=_l("Between 0 and %(most)s seats.", most=f"{MAX_CAPACITY:,}")
            ),
        ],
    )
    approval_required = BooleanField(_l("Registrations need a coordinator's approval"))
    asks_email_and_mobile = BooleanField(
        _l("Registrations need both an email and a mobile number (otherwise either is enough)")
    )
    confirm_contact = BooleanField(
        _l(
            "Public registrations keep their place only once the person follows the link emailed to them"
            " (turn off for closed nominations)"
        ),
        default=True,
    )
    training_hours = DecimalField(
        _l("Training hours"),
        places=1,
        default=Decimal("0"),
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(min=0, message=_l("Training hours cannot be negative.")),
        ],
    )

    sends_reminders = BooleanField(
        _l("Remind participants before the workshop (and online participants an hour before each session)"),
        default=True,
    )
    # Left empty (or not sent by an older page), the usual: 1 day before, at 18:00.
    reminder_days_before = IntegerField(
        _l("Days before the first day"),
        default=1,
        validators=[
            Optional(),
            NumberRange(
                min=0,
                max=MAX_REMINDER_DAYS,
                message=_l("Between 0 and %(most)s days.", most=MAX_REMINDER_DAYS),
            ),
        ],
    )
    reminder_hour = IntegerField(
        _l("At this hour (venue's clock, 0-23)"),
        default=18,
        validators=[Optional(), NumberRange(min=0, max=23, message=_l("An hour between 0 and 23."))],
    )

    def details(self) -> WorkshopDetails:
        zone = self.timezone.data
        return WorkshopDetails(
            title_en=_text(self.title_en),
            title_zh=_text(self.title_zh),
            description_en=_text(self.description_en),
            description_zh=_text(self.description_zh),
            format=WorkshopFormat(self.format.data),
            city=_text(self.city),
            venue=_text(self.venue),
            meeting_url=_text(self.meeting_url),
            timezone=zone,
            starts_at=aware(self.starts_at.data, zone),
            ends_at=aware(self.ends_at.data, zone),
            registration_opens_at=aware(self.registration_opens_at.data, zone),
            registration_closes_at=aware(self.registration_closes_at.data, zone),
            onsite_capacity=self.onsite_capacity.data,
            online_capacity=self.online_capacity.data,
            approval_required=self.approval_required.data,
            asks_email_and_mobile=self.asks_email_and_mobile.data,
            confirm_contact=self.confirm_contact.data,
            training_hours=self.training_hours.data,
            programme_id=self.programme_id.data or None,
            sends_reminders=self.sends_reminders.data,
            reminder_days_before=_number(self.reminder_days_before, 1),
            reminder_hour=_number(self.reminder_hour, 18),
        )


class SessionForm(FlaskForm):
    title_en = StringField(_l("Title (English)"), validators=[Length(max=200)])
    title_zh = StringField(_l("Title (Chinese)"), validators=[Length(max=200)])
    starts_at = DateTimeLocalField(
        _l("Starts"), format=TIME_FORMAT, validators=[InputRequired(_l("Enter the start date and time."))]
    )
    ends_at = DateTimeLocalField(
        _l("Ends"), format=TIME_FORMAT, validators=[InputRequired(_l("Enter the end date and time."))]
    )
    room = StringField(_l("Room"), validators=[Length(max=200)])

    def details(self, zone: str) -> SessionDetails:
        return SessionDetails(
            title_en=_text(self.title_en),
            title_zh=_text(self.title_zh),
            starts_at=aware(self.starts_at.data, zone),
            ends_at=aware(self.ends_at.data, zone),
            room=_text(self.room),
        )


class MoveForm(FlaskForm):
    """A workshop's new start; its end, sessions and registration window move with it."""

    starts_at = DateTimeLocalField(
        _l("New start"), format=TIME_FORMAT, validators=[InputRequired(_l("Enter the start date and time."))]
    )

    def new_start(self, zone: str) -> datetime:
        return self.starts_at.data.replace(tzinfo=ZoneInfo(zone))


class ProgrammeForm(FlaskForm):
    code = StringField(
        _l("Code (for certificate numbers, e.g. QA)"),
        validators=[DataRequired(_l("Enter a code.")), Length(max=16)],
    )
    name_en = StringField(_l("Name (English)"), validators=[Length(max=200)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[Length(max=200)])
    description_en = TextAreaField(_l("Description (English)"))
    description_zh = TextAreaField(_l("Description (Chinese)"))

    def details(self) -> ProgrammeDetails:
        return ProgrammeDetails(
            code=_text(self.code),
            name_en=_text(self.name_en),
            name_zh=_text(self.name_zh),
            description_en=_text(self.description_en),
            description_zh=_text(self.description_zh),
        )


class OrganisersForm(FlaskForm):
    organisers = SelectMultipleField(_l("Organisers who may check people in"), coerce=int)


class CancelForm(FlaskForm):
    """Cancelling a workshop: the reason each person is told, in their language (one is enough:
    it is shown as typed to those whose language has none). Sent again with ``confirmed`` from
    the page that says how many people will be told."""

    reason_en = TextAreaField(_l("Reason, in English (sent to everyone registered)"))
    reason_zh = TextAreaField(_l("Reason, in Chinese (sent to everyone registered)"))
    confirmed = HiddenField()


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason (sent to the person)"), validators=[Length(max=1000)])


class ImportForm(FlaskForm):
    file = FileField(
        _l("Nominations file (.csv or .xlsx)"), validators=[FileRequired(_l("Choose a file to upload."))]
    )


class AnnouncementForm(FlaskForm):
    audience = SelectField(
        _l("Send to"),
        choices=lambda: select_choices(
            [
                ("confirmed", _l("Confirmed participants")),
                ("waitlisted", _l("People on the waiting list")),
                ("pending", _l("People waiting for approval")),
                ("active", _l("Everyone registered (not cancelled)")),
            ]
        ),
    )
    mode = SelectField(_l("Attendance"), choices=[])
    subject_en = StringField(_l("Subject (English)"), validators=[Length(max=200)])
    body_en = TextAreaField(_l("Message (English)"))
    subject_zh = StringField(_l("Subject (Chinese)"), validators=[Length(max=200)])
    body_zh = TextAreaField(_l("Message (Chinese)"))


class CheckInLinkForm(FlaskForm):
    label = StringField(_l("Who is it for (e.g. Volunteer, door B)"), validators=[Length(max=100)])
    hours = IntegerField(
        _l("Valid for (hours)"),
        default=12,
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(min=1, max=24 * 14, message=_l("Between 1 hour and 14 days.")),
        ],
    )


class MeetingReportForm(FlaskForm):
    session_id = SelectField(_l("Session"), coerce=int, choices=[])
    min_minutes = IntegerField(
        _l("Count people who stayed at least (minutes)"),
        default=30,
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(min=0, max=1440, message=_l("Between 0 and 1440 minutes.")),
        ],
    )
    file = FileField(
        _l("Attendance report (.csv or .xlsx from Zoom, Tencent Meeting or Feishu)"),
        validators=[FileRequired(_l("Choose a file to upload."))],
    )


class SurveySettingsForm(FlaskForm):
    anonymous = BooleanField(_l("Anonymous (answers not linked to people; one answer each, not editable)"))
    opens_at = DateTimeLocalField(_l("Opens"), format=TIME_FORMAT, validators=[Optional()])
    closes_at = DateTimeLocalField(_l("Closes"), format=TIME_FORMAT, validators=[Optional()])
    reminder_after_days = IntegerField(
        _l("Remind those who have not answered, this many days after their invitation (0 = no reminder)"),
        default=3,
        validators=[
            InputRequired(_l("Enter a number.")),
            NumberRange(min=0, max=60, message=_l("Between 0 and 60 days.")),
        ],
    )
    intro_en = TextAreaField(_l("Introduction (English)"))
    intro_zh = TextAreaField(_l("Introduction (Chinese)"))


QUESTION_KIND_LABELS = list(KIND_LABELS.items())


class QuestionForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=lambda: select_choices(QUESTION_KIND_LABELS))
    text_en = StringField(_l("Question (English)"), validators=[Length(max=500)])
    text_zh = StringField(_l("Question (Chinese)"), validators=[Length(max=500)])
    section_en = StringField(_l("Section (English, optional)"), validators=[Length(max=200)])
    section_zh = StringField(_l("Section (Chinese, optional)"), validators=[Length(max=200)])
    required = BooleanField(_l("Answer required"), default=True)
    options_en = TextAreaField(_l("Choices in English, one per line"))
    options_zh = TextAreaField(_l("Choices in Chinese, one per line (same order)"))
    low_label_en = StringField(_l("Label of 1 (English)"), validators=[Length(max=100)])
    low_label_zh = StringField(_l("Label of 1 (Chinese)"), validators=[Length(max=100)])
    high_label_en = StringField(_l("Label of 5 (English)"), validators=[Length(max=100)])
    high_label_zh = StringField(_l("Label of 5 (Chinese)"), validators=[Length(max=100)])

    def details(self):
        english = [line.strip() for line in (self.options_en.data or "").splitlines() if line.strip()]
        chinese = [line.strip() for line in (self.options_zh.data or "").splitlines() if line.strip()]
        count = max(len(english), len(chinese))
        options = [
            {"en": english[i] if i < len(english) else "", "zh": chinese[i] if i < len(chinese) else ""}
            for i in range(count)
        ]
        return QuestionDetails(
            kind=self.kind.data,
            text_en=_text(self.text_en),
            text_zh=_text(self.text_zh),
            section_en=_text(self.section_en),
            section_zh=_text(self.section_zh),
            required=self.required.data,
            options=options if self.kind.data in ("single", "multiple") else [],
            low_label_en=_text(self.low_label_en),
            low_label_zh=_text(self.low_label_zh),
            high_label_en=_text(self.high_label_en),
            high_label_zh=_text(self.high_label_zh),
        )

    def fill(self, question) -> None:
        self.options_en.data = "\n".join(o.get("en", "") for o in question.options)
        self.options_zh.data = "\n".join(o.get("zh", "") for o in question.options)


class CertificateSettingsForm(FlaskForm):
    certificate_min_sessions = IntegerField(
        _l("Sessions to attend at the venue (empty: all)"),
        validators=[Optional(), NumberRange(min=1, max=50, message=_l("Between 1 and 50."))],
    )
    certificate_online_sessions = IntegerField(
        _l("Sessions to attend online (empty: one)"),
        validators=[Optional(), NumberRange(min=1, max=50, message=_l("Between 1 and 50."))],
    )
    certificate_online_minutes = IntegerField(
        _l("Or instead: minutes online in all, from meeting reports (empty: count sessions)"),
        validators=[Optional(), NumberRange(min=1, max=10000, message=_l("Between 1 and 10,000."))],
    )
    certificate_requires_survey = BooleanField(_l("The feedback survey must be answered too"))


class SignatoryForm(FlaskForm):
    kind = SelectField(
        _l("What"), choices=lambda: select_choices([("signatory", _l("Signatory")), ("logo", _l("Logo"))])
    )
    for_programme = BooleanField(_l("Use for every workshop of the programme"))
    name_en = StringField(_l("Name (English)"), validators=[Length(max=200)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=200)])
    title_zh = StringField(_l("Title (Chinese)"), validators=[Length(max=200)])
    image = FileField(_l("Image (PNG or JPEG: the logo, or the signature)"))
    position = IntegerField(
        _l("Order on the certificate (smaller first; the programme's come before the workshop's)"),
        validators=[Optional(), NumberRange(min=0, max=99, message=_l("Between 0 and 99."))],
    )


class StaffAccountForm(FlaskForm):
    """An admin creates a staff account (a report reader for a ministry department or the donor),
    optionally limited to programmes."""

    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    programmes = SelectMultipleField(_l("Limited to programmes (none: every programme)"), coerce=int)


class ProgrammeLimitsForm(FlaskForm):
    programmes = SelectMultipleField(_l("Limited to programmes (none: every programme)"), coerce=int)
