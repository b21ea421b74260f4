"""Post-event surveys: building them, inviting attendees, taking answers.

A personal survey link is signed (HMAC of the registration id with the app's
secret), so no extra secret is stored and it reveals nothing else: it is not
the ticket page's link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from blinker import Namespace
from celery import shared_task
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    Answer,
    Attendance,
    Channel,
    EmailKind,
    OutboxMessage,
    Question,
    Registration,
    RegistrationStatus,
    Response,
    Survey,
    SurveyInvitation,
    SurveyParticipation,
    Workshop,
    WorkshopStatus,
)
from ..models.base import lock_for_update, utcnow
from ..models.survey import QUESTION_KINDS
from . import audit, outbox, places, sms
from .contacts import InvalidMobile, nfkc, normalise_mobile
from .errors import InvalidInput, NotAllowed

MAX_TEXT = 5000

# The standard training-evaluation template (keys let a programme compare workshops).
TEMPLATE = [
    (
        "relevance",
        "rating",
        "Relevance",
        "相关性",
        "How relevant was the workshop to your work?",
        "本次研讨会与您的工作相关程度如何？",
    ),
    (
        "content",
        "rating",
        "Content",
        "内容",
        "How would you rate the quality of the content?",
        "您如何评价内容质量？",
    ),
    (
        "facilitators",
        "rating",
        "Facilitators",
        "主讲人",
        "How would you rate the facilitators?",
        "您如何评价主讲人／主持人？",
    ),
    (
        "organisation",
        "rating",
        "Organisation",
        "组织",
        "How well were the organisation and logistics handled?",
        "会务组织和后勤安排如何？",
    ),
    (
        "knowledge_before",
        "rating",
        "Learning",
        "收获",
        "Your knowledge of the topic before the workshop",
        "参加研讨会前您对该主题的了解程度",
    ),
    (
        "knowledge_after",
        "rating",
        "Learning",
        "收获",
        "Your knowledge of the topic after the workshop",
        "参加研讨会后您对该主题的了解程度",
    ),
    (
        "apply",
        "single",
        "Learning",
        "收获",
        "Do you intend to apply what you learned?",
        "您是否打算应用所学内容？",
    ),
    (
        "recommend",
        "nps",
        "Overall",
        "总体",
        "How likely are you to recommend this workshop to a colleague?",
        "您向同事推荐本次研讨会的可能性有多大？",
    ),
    (
        "most_useful",
        "long_text",
        "Overall",
        "总体",
        "What was the most useful part?",
        "您认为最有用的部分是什么？",
    ),
    (
        "suggestions",
        "long_text",
        "Overall",
        "总体",
        "What should we improve next time?",
        "对下次活动有什么改进建议？",
    ),
]
APPLY_OPTIONS = [
    {"en": "Yes, right away", "zh": "是，马上应用"},
    {"en": "Yes, later", "zh": "是，以后应用"},
    {"en": "Not sure", "zh": "不确定"},
    {"en": "No", "zh": "否"},
]
RATING_ENDS = {
    "low_label_en": "Very poor",
    "low_label_zh": "很差",
    "high_label_en": "Excellent",
    "high_label_zh": "很好",
}
KNOWLEDGE_ENDS = {
    "low_label_en": "None",
    "low_label_zh": "完全不了解",
    "high_label_en": "Expert",
    "high_label_zh": "非常了解",
}


# Sent after a person's answers are committed. Certificates listen (the survey may have been
# the last step to one): they build on surveys, so surveys tell rather than call them.
answers_received = Namespace().signal("survey-answers-received")


# ---- building ----------------------------------------------------------------


def existing_survey(workshop: Workshop) -> Survey | None:
    """The workshop's survey if it has one (a reader's page creates nothing)."""
    return db.session.scalar(select(Survey).where(Survey.workshop_id == workshop.id))


def with_survey(workshops: list[Workshop]) -> set[int]:
    """Which of these workshops have a survey (the ones whose feedback summary opens)."""
    ids = [w.id for w in workshops]
    return (
        set(db.session.scalars(select(Survey.workshop_id).where(Survey.workshop_id.in_(ids))))
        if ids
        else set()
    )


def survey_for(workshop: Workshop) -> Survey:
    """The workshop's survey, created empty on first use."""
    survey = db.session.scalar(select(Survey).where(Survey.workshop_id == workshop.id))
    if survey is None:
        survey = Survey(workshop=workshop)
        db.session.add(survey)
        db.session.commit()
    return survey


@dataclass
class QuestionDetails:
    kind: str
    text_en: str = ""
    text_zh: str = ""
    section_en: str = ""
    section_zh: str = ""
    required: bool = True
    options: list | None = None
    low_label_en: str = ""
    low_label_zh: str = ""
    high_label_en: str = ""
    high_label_zh: str = ""
    key: str = ""


def _check_question(details: QuestionDetails) -> None:
    errors = {}
    if details.kind not in QUESTION_KINDS:
        errors["kind"] = _l("Choose a question type.")
    if not (details.text_en.strip() or details.text_zh.strip()):
        errors["text_en"] = _l("Write the question in English or Chinese.")
    if (
        details.kind in ("single", "multiple")
        and len([o for o in details.options or [] if o.get("en") or o.get("zh")]) < 2
    ):
        errors["options"] = _l("Give at least two choices, one per line.")
    if errors:
        raise InvalidInput(errors)


def add_question(survey: Survey, details: QuestionDetails, actor) -> Question:
    _check_question(details)
    position = max((q.position for q in survey.questions), default=0) + 1
    question = Question(
        survey=survey, position=position, **{**details.__dict__, "options": details.options or []}
    )
    db.session.add(question)
    db.session.flush()
    audit.record("survey.question_add", question, actor, survey_id=survey.id)
    db.session.commit()
    return question


def update_question(question: Question, details: QuestionDetails, actor) -> Question:
    _check_question(details)
    for name, value in details.__dict__.items():
        if name != "key":
            setattr(question, name, value if value is not None else [])
    audit.record("survey.question_edit", question, actor, survey_id=question.survey_id)
    db.session.commit()
    return question


def delete_question(question: Question, actor) -> None:
    audit.record(
        "survey.question_delete", question, actor, survey_id=question.survey_id, text=question.text_en
    )
    db.session.delete(question)
    db.session.commit()


def move_question(question: Question, step: int, actor) -> None:
    """Swap with the neighbour above (step -1) or below (+1)."""
    siblings = question.survey.questions
    index = siblings.index(question)
    other = index + step
    if 0 <= other < len(siblings):
        neighbour = siblings[other]
        question.position, neighbour.position = neighbour.position, question.position
        if question.position == neighbour.position:  # repair equal positions from older data
            question.position += step
        audit.record("survey.question_move", question, actor, step=step)
        db.session.commit()


def apply_template(survey: Survey, actor) -> int:
    """Add the standard training-evaluation questions (skipping ones already there)."""
    present = {q.key for q in survey.questions if q.key}
    position = max((q.position for q in survey.questions), default=0)
    added = 0
    for key, kind, section_en, section_zh, text_en, text_zh in TEMPLATE:
        if key in present:
            continue
        position += 1
        ends = KNOWLEDGE_ENDS if key.startswith("knowledge") else RATING_ENDS if kind == "rating" else {}
        db.session.add(
            Question(
                survey=survey,
                position=position,
                key=key,
                kind=kind,
                section_en=section_en,
                section_zh=section_zh,
                text_en=text_en,
                text_zh=text_zh,
                required=kind not in ("long_text", "short_text"),
                options=APPLY_OPTIONS if key == "apply" else [],
                **ends,
            )
        )
        added += 1
    audit.record("survey.template", survey, actor, added=added)
    db.session.commit()
    return added


def copy_questions(survey: Survey, source: Survey, actor) -> int:
    """Copy another workshop's questions to the end of this survey."""
    position = max((q.position for q in survey.questions), default=0)
    fields = (
        "key",
        "section_en",
        "section_zh",
        "text_en",
        "text_zh",
        "kind",
        "required",
        "options",
        "low_label_en",
        "low_label_zh",
        "high_label_en",
        "high_label_zh",
    )
    for question in source.questions:
        position += 1
        db.session.add(
            Question(survey=survey, position=position, **{f: getattr(question, f) for f in fields})
        )
    audit.record("survey.copy", survey, actor, source_survey_id=source.id, questions=len(source.questions))
    db.session.commit()
    return len(source.questions)


def update_settings(
    survey: Survey,
    *,
    anonymous: bool,
    opens_at,
    closes_at,
    reminder_after_days: int,
    intro_en: str,
    intro_zh: str,
    actor,
) -> None:
    if opens_at and closes_at and closes_at <= opens_at:
        raise InvalidInput({"closes_at": _l("The survey must close after it opens.")})
    if not 0 <= reminder_after_days <= 60:
        raise InvalidInput({"reminder_after_days": _l("Between 0 and 60 days.")})
    if anonymous != survey.anonymous and has_responses(survey):
        raise InvalidInput(
            {
                "anonymous": _l(
                    "Answers have come in: the survey can no longer change between anonymous and named."
                )
            }
        )
    survey.anonymous, survey.opens_at, survey.closes_at = anonymous, opens_at, closes_at
    survey.reminder_after_days, survey.intro_en, survey.intro_zh = reminder_after_days, intro_en, intro_zh
    audit.record("survey.settings", survey, actor, anonymous=anonymous)
    db.session.commit()


def has_responses(survey: Survey) -> bool:
    return bool(db.session.scalar(select(exists().where(Response.survey_id == survey.id))))


# ---- who is asked, and when ----------------------------------------------------


def opens_at(survey: Survey) -> datetime:
    return survey.opens_at or survey.workshop.ends_at


def is_open(survey: Survey, moment: datetime | None = None) -> bool:
    moment = moment or utcnow()
    return (
        bool(survey.questions)
        and opens_at(survey) <= moment
        and (survey.closes_at is None or moment < survey.closes_at)
    )


def attended():
    """A condition: the registration was checked in to at least one session (or joined online)."""
    return exists().where(Attendance.registration_id == Registration.id)


def _answered_by(survey: Survey):
    """Where answering is recorded per person: an anonymous survey's answers name nobody, so
    its participation rows do."""
    if survey.anonymous:
        return SurveyParticipation, SurveyParticipation.registration_id
    return Response, Response.registration_id


def has_answered(survey: Survey, registration: Registration) -> bool:
    table, column = _answered_by(survey)
    answered = select(exists().where(table.survey_id == survey.id, column == registration.id))
    return bool(db.session.scalar(answered))


def answered_among(survey: Survey, people) -> set[int]:
    """Which of these people (registration ids, or a query of them) have answered the survey.

    The same rule as ``has_answered``, for many people in one query.
    """
    table, column = _answered_by(survey)
    return set(db.session.scalars(select(column).where(table.survey_id == survey.id, column.in_(people))))


def taking_part():
    """A condition: the registration is one of the workshop's people (confirmed).

    Only they are invited or reminded, and only they count as invited: someone cancelled or
    rejected (their workshop cancelled, or who asked to be forgotten) is asked nothing more
    and drops out of the response rate.
    """
    return Registration.status == RegistrationStatus.CONFIRMED


def invited():
    """A condition: the person was invited to their workshop's survey and still takes part.

    The response rate's "invited", on the summary page, its downloads, the API and the
    programme report: it counts whom the sweep asked, not everyone who attended.
    """
    return taking_part() & exists().where(SurveyInvitation.registration_id == Registration.id)


def answered():
    """A condition: the person answered their workshop's survey (a named survey's response, or the
    participation row an anonymous one keeps, and erasing a person leaves)."""
    return or_(
        exists().where(Response.registration_id == Registration.id),
        exists().where(SurveyParticipation.registration_id == Registration.id),
    )


@dataclass(frozen=True)
class ResponseRate:
    """How many were invited, and how many of those answered."""

    invited: int = 0
    answered: int = 0

    @property
    def percent(self) -> float | None:
        return round(100 * self.answered / self.invited, 1) if self.invited else None


def response_rates(workshop_ids: list[int], *where) -> dict[int, ResponseRate]:
    """Each workshop's response rate: of the people invited, how many answered.

    Both figures count the same people, so the rate never passes 100%: an answer from
    someone no longer taking part still counts in the figures of the answers, not here.
    ``where``: conditions on the registrations (a filter of the summary page).
    """
    rows = db.session.execute(
        select(
            Registration.workshop_id,
            func.count(),
            func.coalesce(func.sum(case((answered(), 1), else_=0)), 0),
        )
        .where(Registration.workshop_id.in_(workshop_ids), invited(), *where)
        .group_by(Registration.workshop_id)
    )
    return {workshop_id: ResponseRate(count, int(yes)) for workshop_id, count, yes in rows}


def response_rate(survey: Survey, *where) -> ResponseRate:
    return response_rates([survey.workshop_id], *where).get(survey.workshop_id, ResponseRate())


def _reachable():
    """A condition: an invitation can reach the person (an email, or a mobile where texts go)."""
    # An erased person (the retention purge keeps them confirmed, for the figures) is asked nothing.
    if sms.sends(EmailKind.SURVEY_INVITATION):
        return and_(~Registration.erased, or_(Registration.email != "", Registration.mobile != ""))
    return and_(~Registration.erased, Registration.email != "")


def _inviting(survey: Survey, now: datetime) -> bool:
    """Whether the survey asks people now: open, and its workshop over (and not cancelled)."""
    workshop = survey.workshop
    return workshop.ends_at <= now and workshop.status != WorkshopStatus.CANCELLED and is_open(survey, now)


def _open_surveys(now: datetime):
    """The ids of the surveys that ask people now (``_inviting``, in SQL)."""
    return (
        select(Survey.id)
        .correlate(None)
        .join(Workshop, Workshop.id == Survey.workshop_id)
        .where(
            Workshop.ends_at <= now,
            Workshop.status != WorkshopStatus.CANCELLED,  # nobody is asked about a workshop called off
            func.coalesce(Survey.opens_at, Workshop.ends_at) <= now,
            or_(Survey.closes_at.is_(None), Survey.closes_at > now),
            exists().where(Question.survey_id == Survey.id),
        )
    )


def _waiting_for_invitation():
    """A condition on a survey and a registration: an attendee of the survey's workshop who takes
    part, can be reached, and has not been invited."""
    return and_(
        Registration.workshop_id == Survey.workshop_id,
        taking_part(),
        attended(),
        _reachable(),
        ~exists().where(
            SurveyInvitation.survey_id == Survey.id, SurveyInvitation.registration_id == Registration.id
        ),
    )


def _unreminded(survey_id):
    """Invitations of the survey still waiting for their reminder: the person takes part and
    has not answered."""
    return (
        select(SurveyInvitation, Registration)
        .join(Registration, Registration.id == SurveyInvitation.registration_id)
        .where(SurveyInvitation.survey_id == survey_id, SurveyInvitation.reminded_at.is_(None))
        .where(taking_part(), ~answered(), ~Registration.erased)  # erased: counted, never asked
    )


def _surveys_due(now: datetime) -> list[int]:
    """The open surveys with someone to invite or to remind now, in id order (so that two
    sweeps take the surveys' locks in the same order)."""
    open_ids = _open_surveys(now)
    to_invite = set(
        db.session.scalars(
            select(Survey.id).where(Survey.id.in_(open_ids), exists().where(_waiting_for_invitation()))
        )
    )
    # Each person is reminded a set number of days after their own invitation; the earliest
    # invitation still waiting tells whether a survey has a reminder due. Counted here, not in
    # SQL, because date arithmetic differs between the databases.
    waiting = db.session.execute(
        select(Survey.id, Survey.reminder_after_days, func.min(SurveyInvitation.invited_at))
        .join(SurveyInvitation, SurveyInvitation.survey_id == Survey.id)
        .join(Registration, Registration.id == SurveyInvitation.registration_id)
        .where(
            Survey.id.in_(open_ids),
            Survey.reminder_after_days > 0,
            SurveyInvitation.reminded_at.is_(None),
            taking_part(),
            ~answered(),
            ~Registration.erased,
        )
        .group_by(Survey.id, Survey.reminder_after_days)
    )
    to_remind = {
        survey_id
        for survey_id, days, earliest in waiting
        if earliest is not None and earliest + timedelta(days=days) <= now
    }
    return sorted(to_invite | to_remind)


def _sweep(survey_id: int, now: datetime) -> tuple[int, int]:
    """Invite and remind whoever is due in one survey, in one transaction: (invited, reminded).

    The survey's row is locked first and everything is read again after: a second sweep
    waits, then finds these people invited or reminded already.
    """
    lock_for_update(db.session, Survey.__table__, Survey.id == survey_id)
    survey = db.session.get(Survey, survey_id, with_for_update=True, populate_existing=True)
    if survey is None or not _inviting(survey, now):
        db.session.rollback()
        return 0, 0
    invited = reminded = 0
    people = db.session.scalars(
        select(Registration)
        .join(Survey, Survey.workshop_id == Registration.workshop_id)
        .where(Survey.id == survey_id, _waiting_for_invitation())
        .order_by(Registration.id)
    ).all()
    # Someone who answered already (with the link from the room poster) is not asked again, but
    # counts as invited: they were given the link.
    done = answered_among(survey, [registration.id for registration in people])
    for registration in people:
        if not registration.email and not sms.number_for(registration, EmailKind.SURVEY_INVITATION):
            continue  # a mobile that cannot take a text: nobody to ask
        if registration.id not in done:
            outbox.queue_registration_email(registration, EmailKind.SURVEY_INVITATION)
        db.session.add(SurveyInvitation(survey_id=survey_id, registration_id=registration.id, invited_at=now))
        invited += 1
    if survey.reminder_after_days:
        due_before = now - timedelta(days=survey.reminder_after_days)
        for invitation, registration in db.session.execute(
            _unreminded(survey_id).where(SurveyInvitation.invited_at <= due_before).order_by(Registration.id)
        ):
            outbox.queue_registration_email(registration, EmailKind.SURVEY_REMINDER)
            invitation.reminded_at = now
            reminded += 1
    try:
        db.session.commit()
    except IntegrityError:  # another sweep invited someone first (SQLite has no row lock to wait on)
        db.session.rollback()
        return 0, 0
    return invited, reminded


def send_due_invitations(now: datetime | None = None) -> dict:
    """Invite attendees once their workshop has ended, and whoever is recorded as attended later
    at the next sweep; remind each, once, a set number of days after their own invitation,
    unless they have answered. Each person is invited once, however many sweeps run at once.
    """
    now = now or utcnow()
    invited = reminded = 0
    for survey_id in _surveys_due(now):
        more_invited, more_reminded = _sweep(survey_id, now)
        invited, reminded = invited + more_invited, reminded + more_reminded
    if invited or reminded:
        outbox.kick()
    return {"invited": invited, "reminded": reminded}


# The room poster's lookup sends a person's link at most this often, whoever asks how often.
LINK_RESEND_INTERVAL = timedelta(hours=1)
# Messages that carry the personal survey link: after any of them, the person has it.
LINK_KINDS = (EmailKind.SURVEY_LINK, EmailKind.SURVEY_INVITATION, EmailKind.SURVEY_REMINDER)


@dataclass(frozen=True)
class Contact:
    """What someone typed at the poster, read as an email or a full mobile number (E.164)."""

    email: str = ""
    mobile: str = ""

    @property
    def key(self) -> str:
        """The same for every spelling of one address or number (the rate limit counts by it)."""
        return self.email or self.mobile


def read_contact(raw: str | None) -> Contact:
    """An email (lower-cased) or a full mobile; a part of a number is nobody's (Contact())."""
    text = nfkc(raw)
    if not text or len(text) > 254:
        return Contact()
    if "@" in text:
        return Contact(email=text.lower())
    try:
        return Contact(mobile=normalise_mobile(text))
    except InvalidMobile:
        return Contact()


def find_attendee(workshop: Workshop, contact: str) -> Registration | None:
    """The attendee with exactly this email or mobile number (the whole number, not its end)."""
    read = read_contact(contact)
    if read.email:
        condition = Registration.email == read.email
    elif read.mobile:
        condition = Registration.mobile == read.mobile
    else:
        return None
    return db.session.scalar(
        select(Registration)
        .where(Registration.workshop_id == workshop.id, condition, attended())
        .order_by(Registration.id)
        .limit(1)
    )


def poster_state(workshop: Workshop, now: datetime | None = None) -> str:
    """What the room poster's page can offer: "open", "not_yet" (before the survey opens) or
    "closed" (closed, or no questions). It is the same for everyone and names nobody."""
    now = now or utcnow()
    survey = db.session.scalar(select(Survey).where(Survey.workshop_id == workshop.id))
    if survey is None or not survey.questions or workshop.status == WorkshopStatus.CANCELLED:
        return "closed"  # a cancelled workshop invites nobody: its poster sends nothing either
    if is_open(survey, now):
        return "open"
    return "not_yet" if now < opens_at(survey) else "closed"


def send_link(workshop: Workshop, contact: str, now: datetime | None = None) -> None:
    """The room poster: send an attendee their personal link, and tell the asker nothing.

    Whoever types a colleague's address learns nothing from the answer (the page says the
    same for everyone) and gets no link: it goes to the address or the number that was typed,
    as registered, by email or by text (a text when a number was typed and texts are set up).
    Anyone's lookups send one person at most one link message an hour (an invitation or a
    reminder counts), so the poster cannot be used to flood an inbox.
    """
    now = now or utcnow()
    if poster_state(workshop, now) != "open":
        return  # a closed survey's link leads nowhere: sending it would only be a message
    registration = find_attendee(workshop, contact)
    if registration is None:
        return
    lock_for_update(db.session, Registration.__table__, Registration.id == registration.id)
    db.session.scalar(select(Registration.id).where(Registration.id == registration.id).with_for_update())
    recent = db.session.scalar(
        select(
            exists().where(
                OutboxMessage.registration_id == registration.id,
                OutboxMessage.kind.in_([str(kind) for kind in LINK_KINDS]),
                OutboxMessage.created_at > now - LINK_RESEND_INTERVAL,
            )
        )
    )
    if recent:
        db.session.rollback()
        return
    if read_contact(contact).mobile and sms.number_for(registration, EmailKind.SURVEY_INVITATION):
        # A text says what the invitation's text says: the provider's template is the one
        # registered for invitations, and both carry the same personal link.
        outbox.queue_registration_email(registration, EmailKind.SURVEY_INVITATION, channels=(Channel.SMS,))
    else:
        outbox.queue_registration_email(registration, EmailKind.SURVEY_LINK, channels=(Channel.EMAIL,))
    db.session.commit()
    outbox.kick()


# ---- answering -------------------------------------------------------------------


def _parse(question: Question, raw: list[str]) -> list[tuple[int | None, str]]:
    """Turn submitted values into (number, text) answer rows, or raise a message."""
    values = [v.strip() for v in raw if v is not None and v.strip()]
    if not values:
        if question.required:
            raise ValueError(_l("Please answer this question."))
        return []
    if question.kind in ("rating", "nps"):
        low, high = question.scale[0], question.scale[-1]
        if len(values) != 1 or not values[0].lstrip("-").isdigit() or not low <= int(values[0]) <= high:
            raise ValueError(_l("Choose a number from %(low)d to %(high)d.", low=low, high=high))
        return [(int(values[0]), "")]
    if question.kind in ("single", "multiple"):
        if question.kind == "single" and len(values) > 1:
            raise ValueError(_l("Choose one answer."))
        if any(not v.isdigit() or int(v) >= len(question.options) for v in values):
            raise ValueError(_l("Choose from the answers offered."))
        return [(int(v), "") for v in sorted(set(values), key=int)]
    text = "\n".join(values)
    if len(text) > MAX_TEXT:
        raise ValueError(_l("Please keep the answer under %(n)d characters.", n=MAX_TEXT))
    return [(None, text)]


def submit(survey: Survey, registration: Registration, form: dict[str, list[str]]) -> Response:
    """Store a person's answers: all valid or nothing. Named surveys may be edited until they close.

    ``form`` maps "q<question id>" to the submitted values; a key for a question
    of another survey is refused.
    """
    if registration.workshop_id != survey.workshop_id:
        raise NotAllowed(_l("This link is for another workshop's survey."))
    if not is_open(survey):
        raise NotAllowed(_l("This survey is closed."))
    own = {f"q{q.id}" for q in survey.questions}
    stray = [key for key in form if key.startswith("q") and key not in own]
    if stray:
        raise InvalidInput(
            {
                "form": _l(
                    "An answer was sent for a question that is not in this survey."
                    " Reload the page and try again."
                )
            }
        )
    errors, rows = {}, []
    for question in survey.questions:
        try:
            rows += [
                (question.id, number, text)
                for number, text in _parse(question, form.get(f"q{question.id}", []))
            ]
        except ValueError as error:
            errors[f"q{question.id}"] = error.args[0]
    if errors:
        raise InvalidInput(errors)
    if survey.anonymous:
        if has_answered(survey, registration):
            raise NotAllowed(_l("You have already answered this anonymous survey. Thank you!"))
        db.session.add(SurveyParticipation(survey_id=survey.id, registration_id=registration.id))
        response = Response(survey_id=survey.id, registration_id=None)
    else:
        earlier = db.session.scalar(
            select(Response).where(
                Response.survey_id == survey.id, Response.registration_id == registration.id
            )
        )
        response = earlier or Response(survey_id=survey.id, registration_id=registration.id)
        response.answers.clear()
    response.mode, response.organisation_type = str(registration.mode), str(registration.organisation_type)
    response.gender = str(registration.gender)
    response.city = places.snapshot(registration.place_code, registration.city)
    # Anonymous answers keep only the day, so their time does not point at the person.
    now = utcnow()
    response.submitted_at = (
        now.replace(hour=0, minute=0, second=0, microsecond=0) if survey.anonymous else now
    )
    response.answers.extend(Answer(question_id=q, number=n, text=t) for q, n, t in rows)
    db.session.add(response)
    try:
        db.session.commit()
    except IntegrityError:  # a double submit of the same link
        db.session.rollback()
        raise NotAllowed(_l("Your answers were already received. Thank you!")) from None
    answers_received.send(survey, registration=registration)
    return response


def answers_of(survey: Survey, registration: Registration) -> dict[str, list[str]]:
    """A named survey's earlier answers, to pre-fill the form for editing."""
    if survey.anonymous:
        return {}
    response = db.session.scalar(
        select(Response).where(Response.survey_id == survey.id, Response.registration_id == registration.id)
    )
    if response is None:
        return {}
    values: dict[str, list[str]] = {}
    for answer in response.answers:
        values.setdefault(f"q{answer.question_id}", []).append(
            answer.text if answer.number is None else str(answer.number)
        )
    return values


@shared_task(name="surveys.invite", ignore_result=True)
def send_due_invitations_task() -> dict:
    """Beat: invite attendees when a workshop ends, late attendees at the next sweep, and remind
    each after the set days."""
    return send_due_invitations()
