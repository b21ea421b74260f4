from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from ..models import AttendanceMode, Gender, OrganisationType, RegistrationStatus, WorkshopFormat
from ..routing import MAX_ID
from ..services.checkin import CHECKS, Reason


def Id(**kwargs) -> fields.Int:  # noqa: N802  (reads like a field class)
    """An id sent by a client: a bigger number than the database holds is refused (422)."""
    return fields.Int(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class SessionSchema(Schema):
    id = fields.Int(dump_only=True)
    title_en = fields.Str()
    title_zh = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    room = fields.Str()


class WorkshopSchema(Schema):
    id = fields.Int(dump_only=True)
    programme_id = fields.Int(allow_none=True)
    title_en = fields.Str()
    title_zh = fields.Str()
    description_en = fields.Str()
    description_zh = fields.Str()
    format = fields.Str(metadata={"enum": ["onsite", "online", "hybrid"]})
    status = fields.Str(metadata={"enum": ["draft", "published", "cancelled"]})
    city = fields.Str()
    venue = fields.Str()
    timezone = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    registration_opens_at = fields.AwareDateTime(allow_none=True)
    registration_closes_at = fields.AwareDateTime(allow_none=True)
    onsite_capacity = fields.Int()
    online_capacity = fields.Int()
    approval_required = fields.Bool()
    training_hours = fields.Float()  # hours, e.g. 12.5
    seats_left = fields.Dict(
        keys=fields.Str(), values=fields.Int(), metadata={"description": "Free seats per mode"}
    )


class WorkshopDetailSchema(WorkshopSchema):
    sessions = fields.List(fields.Nested(SessionSchema))


def _filter(values, **kwargs) -> fields.Str:
    """A filter naming one of a fixed list ("" for all): anything else is refused (422) in words."""
    choices = ["", *(str(value) for value in values)]
    return fields.Str(
        load_default="",
        validate=validate.OneOf(
            choices, error=_l("This filter has no such value; choose one from the list.")
        ),
        metadata={"enum": choices},
        **kwargs,
    )


class WorkshopQuerySchema(Schema):
    city = fields.Str(load_default="")
    format = _filter(WorkshopFormat)


class RegistrationInSchema(Schema):
    """What a participant sends to register (the same rules as the web form)."""

    full_name = fields.Str(required=True)
    # Checked by the registration service, which answers in the person's language.
    email = fields.Str(
        metadata={
            "format": "email",
            "description": "An email or a mobile is needed (both if the workshop asks)",
        }
    )
    mode = fields.Str(required=True, metadata={"enum": ["onsite", "online"]})
    consent = fields.Bool(
        required=True,
        metadata={"description": "Agreement to the privacy notice (must be true)", "enum": [True]},
    )
    latin_name = fields.Str()
    mobile = fields.Str(metadata={"description": "Any common format; stored in E.164 (+86 assumed)"})
    organisation = fields.Str()
    organisation_type = fields.Str(
        metadata={"enum": ["enterprise", "tvet", "government", "employers", "workers", "research", "other"]}
    )
    job_title = fields.Str()
    gender = fields.Str(metadata={"enum": ["woman", "man", "another", "undisclosed"]})
    place_code = fields.Str(
        metadata={
            "description": "Where the person comes from: a GB/T 2260 prefecture-level city (4 digits, 3204"
            " Changzhou; a municipality is its one city, 1101 Beijing) or province (2 digits, 32 Jiangsu)"
        }
    )
    city = fields.Str(
        metadata={
            "description": "A place as text: matched to the list (江苏常州, Beijing) when no place_code is"
            " given, kept as written otherwise (outside mainland China, not in the list)"
        }
    )
    needs = fields.Str()
    language = fields.Str(metadata={"enum": ["en", "zh"]})


class RegistrationOutcomeSchema(Schema):
    outcome = fields.Str(
        metadata={
            "enum": ["confirmed", "waitlisted", "pending", "unverified"],
            "description": "unverified also for an email or mobile registered already (nobody learns who is)",
        }
    )
    status = fields.Str()
    ticket_url = fields.Str(
        allow_none=True,
        metadata={
            "description": "The personal ticket page (none for a hold or a known address: it is emailed)"
        },
    )


class RegistrationSchema(Schema):
    """A registration as staff see it (tokens are never exposed). An organiser gets the fields of
    their registrations page only: id, workshop_id, names, contacts, organisation, its type, city,
    mode, status and source."""

    id = fields.Int()
    workshop_id = fields.Int()
    full_name = fields.Str()
    latin_name = fields.Str()
    email = fields.Str()
    mobile = fields.Str()
    organisation = fields.Str()
    organisation_type = fields.Str()
    job_title = fields.Str()
    gender = fields.Str()
    place_code = fields.Str(metadata={"description": "GB/T 2260 city (4 digits) or province (2), or empty"})
    city = fields.Str(metadata={"description": "The place as written where it is not in the list"})
    mode = fields.Str()
    status = fields.Str()
    source = fields.Str()
    language = fields.Str()
    needs = fields.Str()
    consent_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class RegistrationQuerySchema(Schema):
    status = _filter(RegistrationStatus)
    mode = _filter(AttendanceMode)
    organisation_type = _filter(OrganisationType)
    city = fields.Str(
        load_default="",
        metadata={"description": "A GB/T 2260 code (a province includes its cities), or a place as written"},
    )
    q = fields.Str(load_default="", metadata={"description": "Search name, email, phone or organisation"})


def _plausible_scan_time(value) -> None:
    # Only what would overflow on the way to UTC is refused (the check-in service decides how far
    # a phone's clock is believed): a queued scan with a reset clock must not block its batch.
    if not 2 <= value.year <= 9998:
        raise ValidationError(gettext("Not a plausible scan time."))  # at request time: a plain str


class CheckinInSchema(Schema):
    """One scan: a ticket token (from the QR) or a registration id (from search)."""

    session_id = Id(required=True)
    token = fields.Str(load_default="", metadata={"description": "The text of the ticket QR code"})
    registration_id = Id(load_default=None, allow_none=True, metadata={"description": "For search check-in"})
    nonce = fields.Str(
        load_default="",
        metadata={
            "description": "Client id of this scan: the same scan sent again (same nonce, person and"
            " session) gets the first answer"
        },
    )
    device = fields.Str(load_default="")
    # How a scanner admits people (join links and meeting reports have their own ways in).
    method = fields.Str(load_default="qr", validate=validate.OneOf(["qr", "search", "walk_in", "manual"]))
    scanned_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        validate=_plausible_scan_time,
        metadata={"description": "When an offline device scanned (believed up to 7 days back)"},
    )
    override = fields.Bool(
        load_default=False,
        metadata={
            "description": "Admit although the session is not running (organisers and coordinators;"
            " ignored for a volunteer's link)"
        },
    )


class PersonSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    organisation = fields.Str()
    mode = fields.Str()
    status = fields.Str()


class CheckinOutSchema(Schema):
    reason = fields.Str(metadata={"enum": [reason.value for reason in Reason]})
    ok = fields.Bool()
    message = fields.Str(metadata={"description": "The reason in the reader's language"})
    person = fields.Nested(PersonSchema, allow_none=True)
    attendance_id = fields.Int(allow_none=True)
    checked_in_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "First check-in (ok or already)"}
    )
    checked_in_by = fields.Str(allow_none=True)
    nonce = fields.Str()


class CheckinSyncSchema(Schema):
    scans = fields.List(fields.Nested(CheckinInSchema), required=True)


class CheckinSyncOutSchema(Schema):
    results = fields.List(fields.Nested(CheckinOutSchema))


class RosterEntrySchema(Schema):
    id = fields.Int()
    ticket_sha256 = fields.Str()
    name = fields.Str()
    organisation = fields.Str()
    mode = fields.Str()
    status = fields.Str()
    checked_in_at = fields.Str(allow_none=True)


class CounterSchema(Schema):
    checked_in = fields.Int()
    expected = fields.Int()


class DecisionStepSchema(Schema):
    reason = fields.Str(
        metadata={
            "description": "The answer when the check holds",
            "enum": [reason.value for reason in Reason],
        }
    )
    check = fields.Str(metadata={"description": "What is tested of the scan", "enum": list(CHECKS)})
    statuses = fields.List(
        fields.Str(), metadata={"description": "The registration statuses `status` looks for"}
    )


class RosterSchema(Schema):
    workshop_id = fields.Int()
    session_id = fields.Int()
    generated_at = fields.AwareDateTime()
    # The session's admission window, so a phone offline can answer outside_session too.
    admits_from = fields.AwareDateTime()
    admits_until = fields.AwareDateTime()
    decision_order = fields.List(
        fields.Nested(DecisionStepSchema),
        metadata={
            "description": "The server's decision order: the first step whose check holds answers"
            " (an offline phone walks it on what it knows)"
        },
    )
    people = fields.List(fields.Nested(RosterEntrySchema))
    counters = fields.Dict(keys=fields.Str(), values=fields.Nested(CounterSchema))
    # For the decision order's workshop_cancelled step, offline.
    workshop_cancelled = fields.Bool(metadata={"description": "The whole workshop was cancelled"})


class RosterQuerySchema(Schema):
    session_id = Id(required=True)


class SearchQuerySchema(Schema):
    session_id = Id(required=True)
    q = fields.Str(required=True)


class CountersSchema(Schema):
    counters = fields.Dict(keys=fields.Str(), values=fields.Nested(CounterSchema))


class QuestionSummarySchema(Schema):
    id = fields.Int()
    key = fields.Str()
    kind = fields.Str()
    text_en = fields.Str()
    text_zh = fields.Str()
    count = fields.Int()
    mean = fields.Float(allow_none=True)
    median = fields.Float(allow_none=True)
    nps = fields.Int(allow_none=True)
    distribution = fields.Dict(keys=fields.Str(), values=fields.Int())
    options = fields.List(fields.Str())
    texts = fields.List(fields.Str())


class SurveySummarySchema(Schema):
    survey_id = fields.Int()
    workshop_id = fields.Int()
    anonymous = fields.Bool()
    filters = fields.Dict(keys=fields.Str(), values=fields.Str())
    suppressed = fields.Bool(
        metadata={"description": "An anonymous survey's group too small to show: no answers are given"}
    )
    invited = fields.Int(
        metadata={"description": "People invited to the survey who still take part (not every attendee)"}
    )
    responded = fields.Int(allow_none=True, metadata={"description": "How many of the invited answered"})
    response_rate = fields.Float(allow_none=True, metadata={"description": "responded / invited, in %"})
    questions = fields.List(fields.Nested(QuestionSummarySchema))


class SegmentQuerySchema(Schema):
    mode = _filter(AttendanceMode)
    organisation_type = _filter(OrganisationType)
    gender = _filter(Gender)
    city = fields.Str(load_default="")


class CertificateProgressSchema(Schema):
    mode = fields.Str(metadata={"description": "onsite or online: attendance counted in that mode only"})
    done = fields.Int()
    needed = fields.Int()
    unit = fields.Str(metadata={"description": "sessions, or minutes (an online rule in minutes)"})
    met = fields.Bool()


class CertificateStatusSchema(Schema):
    registration_id = fields.Int()
    eligible = fields.Bool()
    sessions_attended = fields.Int(metadata={"description": "Sessions attended in the registered mode"})
    sessions_required = fields.Int(
        allow_none=True,
        metadata={"description": "Sessions the registered mode's rule asks; null when it asks minutes"},
    )
    progress = fields.List(
        fields.Nested(CertificateProgressSchema),
        metadata={"description": "Each mode the person is judged in (registered, or attended in)"},
    )
    survey_required = fields.Bool()
    survey_answered = fields.Bool()
    serial = fields.Str(allow_none=True)
    revoked = fields.Bool()
    missing = fields.List(
        fields.Str(), metadata={"description": "What is still missing, in the reader's language"}
    )


class VerificationSchema(Schema):
    valid = fields.Bool()
    revoked = fields.Bool()
    withdrawn = fields.Bool(metadata={"description": "Withdrawn at the holder's request: no name is given"})
    status = fields.Str(metadata={"description": "The certificate's state, in the reader's language"})
    serial = fields.Str()
    name = fields.Str()
    workshop_title_en = fields.Str()
    workshop_title_zh = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
