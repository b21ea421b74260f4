from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import Length

from ..forms import select_choices
from ..models import AttendanceMode, Gender, OrganisationType
from ..models.i18n import current_language
from ..services import places
from ..services.registration import Applicant


def _province_choices():
    return select_choices([("", _l("Choose your province")), *places.province_choices(current_language())])


def _city_choices():
    """Cities grouped by province (a plain select that works without script; static/js/places.js
    narrows it to the chosen province)."""
    grouped = {"": [("", str(_l("Whole province / city not listed")))]}
    grouped.update(places.city_choices(current_language()))
    return grouped


class ApplicantFields(FlaskForm):
    """The person's details; the rules live in services.registration.check_applicant."""

    full_name = StringField(
        _l("Full name"),
        description=_l("As you want it on your badge and certificate, e.g. 李华 or Maria Fernandes."),
    )
    latin_name = StringField(
        _l("Name in Latin letters (optional)"),
        description=_l("For the English side of the certificate, e.g. Li Hua."),
    )
    email = EmailField(
        _l("Email"), description=_l("Your ticket is sent here. An email or a mobile number is enough.")
    )
    mobile = TelField(
        _l("Mobile phone"),
        description=_l("e.g. 138 0000 0000. Without an email, your ticket link comes by text."),
    )
    organisation = StringField(_l("Organisation"))
    organisation_type = SelectField(
        _l("Type of organisation"), choices=lambda: select_choices(OrganisationType.choices())
    )
    job_title = StringField(_l("Job title"))
    gender = SelectField(
        _l("Gender"),
        choices=lambda: select_choices(Gender.choices()),
        default=Gender.UNDISCLOSED.value,
        description=_l("Used only for anonymous statistics."),
    )
    # Where they come from: the rules (a city of the chosen province, text for "other") are
    # services.places.resolve's, so the choices are not checked here.
    province = SelectField(_l("Province"), choices=_province_choices, validate_choice=False)
    place_code = SelectField(_l("City"), choices=_city_choices, validate_choice=False)
    city = StringField(
        _l("Place, if not in the lists"),
        description=_l("Outside mainland China or not listed, e.g. Geneva, Switzerland."),
    )
    language = SelectField(_l("Language for emails"), choices=[])

    def applicant(self, **extra) -> Applicant:
        data = {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
        return Applicant.from_mapping({**data, **extra})

    def show_place(self, registration) -> None:
        """The stored place in the selects (a staff member editing a registration)."""
        if not self.is_submitted() and registration.place_code:
            self.province.data = registration.place_code[:2]

    def set_language_choices(self, current: str) -> None:
        self.language.choices = select_choices([("zh", "中文"), ("en", "English")])
        if not self.language.data:
            self.language.data = current


class RegistrationForm(ApplicantFields):
    mode = RadioField(_l("How will you attend?"), choices=[])
    needs = TextAreaField(_l("Access or dietary needs (onsite)"), validators=[Length(max=1000)])
    consent = BooleanField(
        _l("I agree that my details are used to run this workshop, as described in the privacy notice.")
    )
    # Honeypot: hidden from people, filled in by bots.
    website = StringField(_l("Leave this field empty"))

    def set_mode_choices(self, workshop) -> None:
        self.mode.choices = select_choices((m, AttendanceMode(m).label) for m in workshop.modes)
        if len(workshop.modes) == 1:
            self.mode.data = workshop.modes[0]


class ModeSwitchForm(FlaskForm):
    mode = SelectField(_l("Attendance"), choices=[])


class ConfirmForm(FlaskForm):
    """A bare form: a button with CSRF protection."""


class WalkInForm(ApplicantFields):
    """At the door: the few details needed to register someone who just arrived."""

    mode = SelectField(_l("Attendance"), choices=[])
    # Asked, not taken from the staff member's screen: the person reads the emails.
    language = RadioField(_l("Language of their emails and texts"), choices=[])

    def set_mode_choices(self, workshop) -> None:
        self.mode.choices = select_choices((m, AttendanceMode(m).label) for m in workshop.modes)
