"""The programme report for the ministry and the donor: who came, how many, what they thought."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from flask import render_template
from sqlalchemy import distinct, func, select

from ..extensions import db
from ..models import (
    Answer,
    Attendance,
    Certificate,
    Programme,
    Question,
    Registration,
    RegistrationStatus,
    Response,
    Survey,
    Workshop,
    WorkshopStatus,
)
from . import audit, pdf
from .feedback import nps_of, too_few
from .privacy import pseudonym
from .spreadsheets import write_xlsx
from .surveys import TEMPLATE, ResponseRate, response_rates

COMPARED = [key for key, kind, *_ in TEMPLATE if kind in ("rating", "nps")]


def _workshops(programme: Programme, start: datetime | None, end: datetime | None) -> list[Workshop]:
    query = select(Workshop).where(
        Workshop.programme_id == programme.id, Workshop.status == WorkshopStatus.PUBLISHED
    )
    if start:
        query = query.where(Workshop.starts_at >= start)
    if end:
        query = query.where(Workshop.starts_at < end)
    return list(db.session.scalars(query.order_by(Workshop.starts_at)))


def programme_report(
    programme: Programme,
    start: datetime | None = None,
    end: datetime | None = None,
    aggregates_only: bool = False,
) -> dict:
    """Workshops held, unique participants and their profile, attendance, satisfaction and NPS.

    For report readers (``aggregates_only``) every survey with too few answers shows no figures,
    named ones too, as on their feedback summary."""
    workshops = _workshops(programme, start, end)
    ids = [w.id for w in workshops] or [-1]
    present = select(Attendance.registration_id).distinct().subquery()
    confirmed = dict(
        db.session.execute(
            select(Registration.workshop_id, func.count())
            .where(Registration.workshop_id.in_(ids), Registration.status == RegistrationStatus.CONFIRMED)
            .group_by(Registration.workshop_id)
        ).all()
    )
    attended = dict(
        db.session.execute(
            select(Registration.workshop_id, func.count())
            .where(Registration.workshop_id.in_(ids), Registration.id.in_(select(present.c.registration_id)))
            .group_by(Registration.workshop_id)
        ).all()
    )
    # Answers of the compared questions: one query, grouped by workshop, question key and value.
    buckets: dict[tuple[int, str], Counter] = {}
    rows = db.session.execute(
        select(Survey.workshop_id, Question.key, Answer.number, func.count())
        .join(Question, Question.survey_id == Survey.id)
        .join(Answer, Answer.question_id == Question.id)
        .where(Survey.workshop_id.in_(ids), Question.key.in_(COMPARED), Answer.number.is_not(None))
        .group_by(Survey.workshop_id, Question.key, Answer.number)
    )
    for workshop_id, key, number, count in rows:
        buckets.setdefault((workshop_id, key), Counter())[number] += count
    issued = dict(
        db.session.execute(
            select(Registration.workshop_id, func.count(Certificate.id))
            .join(Certificate, Certificate.registration_id == Registration.id)
            .where(Registration.workshop_id.in_(ids), Certificate.revoked_at.is_(None))
            .group_by(Registration.workshop_id)
        ).all()
    )
    responses = dict(
        db.session.execute(
            select(Survey.workshop_id, func.count(Response.id))
            .join(Response)
            .where(Survey.workshop_id.in_(ids))
            .group_by(Survey.workshop_id)
        ).all()
    )
    # Who was asked, and how many of them answered: counts of people, not answers, so they are
    # shown for an anonymous survey too (as its number of responses is).
    rates = response_rates(ids)

    # An anonymous survey with too few answers shows no figures here either (the same rule as
    # its own summary): its few answers would be those of the people known to have answered.
    anonymous = set(
        db.session.scalars(select(Survey.workshop_id).where(Survey.workshop_id.in_(ids), Survey.anonymous))
    )
    for workshop_id in {w.id for w in workshops} if aggregates_only else anonymous:
        if too_few(responses.get(workshop_id, 0)):
            buckets = {key: counter for key, counter in buckets.items() if key[0] != workshop_id}

    def mean(workshop_id, key):
        counter = buckets.get((workshop_id, key))
        total = sum(counter.values()) if counter else 0
        if counter is None or not total:
            return None
        return round(sum(v * n for v, n in counter.items()) / total, 2)

    per_workshop = []
    for w in workshops:
        satisfaction = [
            m for m in (mean(w.id, k) for k in ("relevance", "content", "facilitators", "organisation")) if m
        ]
        rate = rates.get(w.id, ResponseRate())
        per_workshop.append(
            {
                "workshop": w,
                "confirmed": confirmed.get(w.id, 0),
                "attended": attended.get(w.id, 0),
                "no_show_rate": round(100 * (1 - attended.get(w.id, 0) / confirmed[w.id]), 1)
                if confirmed.get(w.id)
                else None,
                "responses": responses.get(w.id, 0),
                "invited": rate.invited,
                "answered": rate.answered,
                "response_rate": rate.percent,
                "certificates": issued.get(w.id, 0),
                "satisfaction": round(sum(satisfaction) / len(satisfaction), 2) if satisfaction else None,
                "nps": nps_of(dict(buckets.get((w.id, "recommend"), {}))),
                "means": {key: mean(w.id, key) for key in COMPARED},
            }
        )
    # Unique participants: one person may attend several workshops (the same email, or for
    # someone who gave only a phone the same mobile, counts once).
    people = db.session.execute(
        select(
            func.lower(Registration.email),
            Registration.mobile,
            Registration.gender,
            Registration.organisation_type,
            Registration.city,
            Registration.mode,
        )
        .where(Registration.workshop_id.in_(ids), Registration.id.in_(select(present.c.registration_id)))
        .order_by(Registration.id)
    ).all()
    unique = {}
    for email, mobile, *profile in people:
        # Anonymised registrations carry a pseudonym of the email (or mobile): compare like with like.
        key = email if email.endswith("@invalid") else pseudonym(email or mobile)
        unique[key] = profile  # the latest registration describes the person
    profiles = list(unique.values())
    breakdown = {
        name: Counter(str(p[i]) for p in profiles)
        for i, name in enumerate(("gender", "organisation_type", "city", "mode"))
    }
    registrations_total = db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.workshop_id.in_(ids),
            Registration.status.in_(RegistrationStatus.active()),
            Registration.status != RegistrationStatus.UNVERIFIED,  # an unconfirmed hold is nobody yet
        )
    )
    confirmed_total = sum(confirmed.values())
    attended_total = sum(attended.values())
    overall = ResponseRate(sum(r.invited for r in rates.values()), sum(r.answered for r in rates.values()))
    return {
        "programme": programme,
        "start": start,
        "end": end,
        "workshops": per_workshop,
        "workshops_held": len(workshops),
        "unique_participants": len(unique),
        "attendances": attended_total,
        "certificates": sum(issued.values()),
        "registrations": registrations_total,
        "confirmed": confirmed_total,
        "attendance_rate": round(100 * attended_total / confirmed_total, 1) if confirmed_total else None,
        "invited": overall.invited,
        "answered": overall.answered,
        "response_rate": overall.percent,
        "breakdown": {name: dict(counter.most_common()) for name, counter in breakdown.items()},
        "compared": COMPARED,
        "people_seen": db.session.scalar(
            select(func.count(distinct(func.lower(Registration.email)))).where(
                Registration.workshop_id.in_(ids)
            )
        ),
    }


def report_xlsx(report: dict, actor) -> bytes:
    overview = [
        ["Workshops held", report["workshops_held"]],
        ["Unique participants", report["unique_participants"]],
        ["Registrations (active)", report["registrations"]],
        ["Confirmed", report["confirmed"]],
        ["Attendances", report["attendances"]],
        ["Attendance rate (%)", report["attendance_rate"]],
        ["Certificates issued", report["certificates"]],
        ["Invited to the survey", report["invited"]],
        ["Answered (of those invited)", report["answered"]],
        ["Response rate (%)", report["response_rate"]],
    ]
    workshops = [
        [
            w["workshop"].title_en or w["workshop"].title_zh,
            w["workshop"].starts_at.strftime("%Y-%m-%d"),
            w["workshop"].format.value,
            w["workshop"].city,
            w["confirmed"],
            w["attended"],
            w["no_show_rate"],
            w["invited"],
            w["answered"],
            w["response_rate"],
            w["certificates"],
            w["satisfaction"],
            w["nps"],
        ]
        + [w["means"][k] for k in report["compared"]]
        for w in report["workshops"]
    ]
    sheets = {
        "Overview": (["Programme", report["programme"].name_en or report["programme"].name_zh], overview),
        "Workshops": (
            [
                "Workshop",
                "Starts",
                "Format",
                "City",
                "Confirmed",
                "Attended",
                "No-show (%)",
                "Invited to the survey",
                "Answered (of those invited)",
                "Response rate (%)",
                "Certificates",
                "Satisfaction (1-5)",
                "NPS",
            ]
            + [f"Mean: {k}" for k in report["compared"]],
            workshops,
        ),
    }
    for name, counts in report["breakdown"].items():
        sheets[f"By {name}"] = ([name, "Participants"], [[k, v] for k, v in counts.items()])
    audit.record("programme.report", report["programme"], actor, format="xlsx")
    db.session.commit()
    return write_xlsx(sheets)


def report_pdf(report: dict, actor) -> bytes:
    audit.record("programme.report", report["programme"], actor, format="pdf")
    db.session.commit()
    return pdf.render_pdf(render_template("staff/programme_report_pdf.html", **report))
