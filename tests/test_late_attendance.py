"""Late attendance: whoever is recorded as attended after the survey invitations went out is invited
at the next sweep and reminded on their own schedule, once each; the response rate counts the
people invited, not everyone who attended."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import meeting_exports as export
from tests.test_concurrency import run_together
from tests.test_surveys import answers, attendee, registered
from workshops.extensions import db as _db
from workshops.models import (
    OutboxMessage,
    Programme,
    Registration,
    RegistrationStatus,
    Role,
    SurveyInvitation,
    WorkshopStatus,
)
from workshops.models.base import utcnow
from workshops.services import checkin, feedback, meeting_reports, privacy, reports, survey_links, surveys
from workshops.services import registration as registrations

M = timedelta(minutes=1)
DAY = timedelta(days=1)


@pytest.fixture
def ended(make_workshop):
    """A two-day workshop that ended an hour ago (Day 2 ended 16 hours ago)."""
    now = utcnow()
    return make_workshop(starts_at=now - 2 * DAY, ends_at=now - timedelta(hours=1), onsite_capacity=80)


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR)


@pytest.fixture
def survey(ended, coordinator):
    survey = surveys.survey_for(ended)
    surveys.apply_template(survey, coordinator)
    return survey


def messages(db, kind: str) -> list[str]:
    """The recipients of the outbox's messages of this kind, in the order they were written."""
    return list(
        db.session.scalars(sa.select(OutboxMessage.recipient).filter_by(kind=kind).order_by(OutboxMessage.id))
    )


def invitations(db) -> dict[str, tuple]:
    rows = db.session.execute(
        sa.select(Registration.email, SurveyInvitation.invited_at, SurveyInvitation.reminded_at).join(
            Registration, Registration.id == SurveyInvitation.registration_id
        )
    )
    return {email: (invited_at, reminded_at) for email, invited_at, reminded_at in rows}


def survey_links_in(mailbox, address: str) -> list[str]:
    """The personal survey links in the emails the real SMTP server got for this address."""
    bodies = [message.get_body(("plain",)).get_content() for message in mailbox.to(address)]
    return [link for body in bodies for link in re.findall(r"https?://\S+/s/\S+", body)]


def rate(survey) -> tuple:
    result = feedback.summary(survey)
    return result["invited"], result["responded"], result["response_rate"]


# ---- the story: a meeting report imported the next morning ----------------------------------


def test_a_meeting_report_imported_after_the_invitations_invites_its_people_at_the_next_sweep(
    ended, survey, coordinator, db, mailbox
):
    mailbox.start()
    door = attendee(ended, 1, language="en")  # checked in at the door: invited when the workshop ends
    online = [
        registered(ended, 2, mode="online", full_name="王芳", email="wang.fang@example.org", language="zh"),
        registered(
            ended, 3, mode="online", full_name="Maria Fernandes", email="maria@example.org", language="en"
        ),
    ]
    registered(ended, 4, mode="online", full_name="李娜", email="li.na@example.org")  # never joined
    assert surveys.send_due_invitations() == {"invited": 1, "reminded": 0}
    assert rate(survey) == (1, 0, 0.0)

    # The next morning the coordinator imports the Zoom participants report of Day 2.
    day2 = ended.sessions[1]
    t = day2.starts_at
    report = export.zoom_current(
        [
            ("李明", "host@example.org", t - 10 * M, t + 8 * 60 * M, 490, "No"),  # the host
            ("Fang (王芳)", "WANG.FANG@Example.org", t + 1 * M, t + 181 * M, 180, "No"),
            ("Maria Fernandes", "maria@example.org", t, t + 240 * M, 240, "No"),
            ("李娜", "li.na@example.org", t, t + 5 * M, 5, "No"),  # too short to count
        ],
        t,
        day2.ends_at,
    )
    job = meeting_reports.preview_report(ended, day2, "participants_81234567890.csv", report, 30, coordinator)
    meeting_reports.import_now(job, coordinator)
    assert surveys.send_due_invitations() == {"invited": 2, "reminded": 0}
    assert surveys.send_due_invitations() == {"invited": 0, "reminded": 0}  # once

    assert len(mailbox.to(door.email)) == 2  # the walk-in's confirmation and one invitation
    for person in online:
        [link] = survey_links_in(mailbox, person.email)
        assert link == f"http://workshops.test/s/{survey_links.survey_token(person)}"
    assert not mailbox.to("wang.fang@example.org")[-1]["Subject"].startswith("Tell us")  # in Chinese
    assert mailbox.to("maria@example.org")[-1]["Subject"].startswith("Tell us what you thought")
    assert survey_links_in(mailbox, "li.na@example.org") == []  # five minutes are not attendance
    assert messages(db, "survey_invitation") == [door.email, "wang.fang@example.org", "maria@example.org"]
    assert rate(survey) == (3, 0, 0.0)
    surveys.submit(survey, online[0], answers(survey))
    assert rate(survey) == (3, 1, 33.3)


# ---- reminders on each person's own schedule --------------------------------------------------


def test_a_manual_check_in_the_next_day_is_reminded_days_after_its_own_invitation(ended, survey, db):
    """Decided: a reminder goes ``reminder_after_days`` after the person's own invitation, so a late
    attendee gets as long to answer before being reminded as everyone else."""
    assert survey.reminder_after_days == 3
    early = attendee(ended, 1)
    now = utcnow()
    assert surveys.send_due_invitations(now=now)["invited"] == 1
    late = registered(ended, 2)
    checkin.redeem(ended.sessions[1], registration=late, override=True)  # the coordinator, next day
    assert surveys.send_due_invitations(now=now + DAY) == {"invited": 1, "reminded": 0}
    assert surveys.send_due_invitations(now=now + 3 * DAY) == {"invited": 0, "reminded": 1}
    assert messages(db, "survey_reminder") == [early.email]
    assert surveys.send_due_invitations(now=now + 3 * DAY + timedelta(hours=12)) == {
        "invited": 0,
        "reminded": 0,
    }
    assert surveys.send_due_invitations(now=now + 4 * DAY) == {"invited": 0, "reminded": 1}
    assert surveys.send_due_invitations(now=now + 30 * DAY) == {"invited": 0, "reminded": 0}
    assert messages(db, "survey_reminder") == [early.email, late.email]
    assert messages(db, "survey_invitation") == [early.email, late.email]
    sent = invitations(db)
    assert sent[early.email] == (now, now + 3 * DAY) and sent[late.email] == (now + DAY, now + 4 * DAY)


def test_a_phone_that_syncs_its_offline_scans_after_the_invitations_gets_its_people_invited(
    client, auth, make_user, ended, survey, db
):
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(ended)
    db.session.commit()
    online_already = attendee(ended, 1)
    scanned_offline = registered(ended, 2)
    assert surveys.send_due_invitations()["invited"] == 1
    # The door phone of Day 2 lost the Wi-Fi and comes back online now, with its queue.
    day2 = ended.sessions[1]
    auth.login(organiser)
    batch = {
        "scans": [
            {
                "session_id": day2.id,
                "token": scanned_offline.ticket_token,
                "nonce": "phone-a-1",
                "device": "phone-a",
                "scanned_at": (day2.starts_at + 20 * M).isoformat(),
            }
        ]
    }
    [result] = client.post("/api/v1/checkin/sync", json=batch).json["results"]
    assert result["reason"] == "ok"
    assert surveys.send_due_invitations() == {"invited": 1, "reminded": 0}
    client.post("/api/v1/checkin/sync", json=batch)  # the same queue sent again
    assert surveys.send_due_invitations() == {"invited": 0, "reminded": 0}
    assert messages(db, "survey_invitation") == [online_already.email, scanned_offline.email]


def test_nobody_is_reminded_who_answered_or_after_the_survey_closed_and_zero_days_means_none(
    ended, survey, db
):
    now = utcnow()
    answered, closing, _other = attendee(ended, 1), attendee(ended, 2), attendee(ended, 3)
    surveys.send_due_invitations(now=now)
    surveys.submit(survey, answered, answers(survey))
    survey.reminder_after_days = 0
    db.session.commit()
    assert surveys.send_due_invitations(now=now + 10 * DAY) == {"invited": 0, "reminded": 0}
    survey.reminder_after_days = 3
    survey.closes_at = now + 20 * DAY
    db.session.commit()
    assert surveys.send_due_invitations(now=now + 10 * DAY)["reminded"] == 2  # not the one who answered
    assert set(messages(db, "survey_reminder")) == {closing.email, _other.email}
    late = registered(ended, 4)
    checkin.redeem(ended.sessions[0], registration=late, override=True)
    assert surveys.send_due_invitations(now=now + 21 * DAY) == {"invited": 0, "reminded": 0}  # closed
    assert late.email not in invitations(db)


# ---- who is never invited -----------------------------------------------------------------------


def test_cancelled_rejected_and_unreachable_people_are_not_invited_nor_counted(
    app, ended, survey, db, tmp_path
):
    stays = attendee(ended, 1)
    leaves = attendee(ended, 2)
    registrations.cancel(leaves)
    turned_down = attendee(ended, 3)
    registrations.reject(turned_down, None, "Not from a pilot enterprise")
    phone_only = attendee(ended, 4, email="", mobile="+86 139 0000 0004")
    assert surveys.send_due_invitations() == {"invited": 1, "reminded": 0}
    assert messages(db, "survey_invitation") == [stays.email]
    assert rate(survey) == (1, 0, 0.0)
    # Where texts are sent, the person with only a mobile is reached by one: invited then.
    app.config.update(SMS_PROVIDER="log", SMS_LOG_FILE=str(tmp_path / "sms.log"))
    assert surveys.send_due_invitations() == {"invited": 1, "reminded": 0}
    assert messages(db, "survey_invitation")[-1] == "+8613900000004"
    assert rate(survey) == (2, 0, 0.0)
    # Invited, then cancelled: no reminder, and no longer counted as invited.
    registrations.cancel(stays)
    assert surveys.send_due_invitations(now=utcnow() + 5 * DAY) == {"invited": 0, "reminded": 1}
    assert messages(db, "survey_reminder") == ["+8613900000004"]
    assert rate(survey) == (1, 0, 0.0)
    assert db.session.get(Registration, phone_only.id).status == RegistrationStatus.CONFIRMED


def test_a_cancelled_workshop_invites_nobody(ended, survey, db):
    attendee(ended, 1)
    ended.status = WorkshopStatus.CANCELLED
    db.session.commit()
    assert surveys.send_due_invitations() == {"invited": 0, "reminded": 0}
    assert messages(db, "survey_invitation") == [] and rate(survey) == (0, 0, None)


def test_a_survey_without_questions_or_not_yet_open_invites_nobody(ended, make_workshop, db):
    empty = surveys.survey_for(ended)  # no questions
    attendee(ended, 1)
    assert surveys.send_due_invitations() == {"invited": 0, "reminded": 0}
    surveys.apply_template(empty, None)
    empty.opens_at = utcnow() + DAY
    db.session.commit()
    assert surveys.send_due_invitations() == {"invited": 0, "reminded": 0}
    assert surveys.send_due_invitations(now=utcnow() + 2 * DAY)["invited"] == 1


# ---- between features ---------------------------------------------------------------------


def test_someone_who_answered_with_the_posters_link_before_the_sweep_is_counted_not_emailed(
    client, ended, survey, db
):
    first = attendee(ended, 1)
    surveys.send_due_invitations()
    late = registered(ended, 2)
    checkin.redeem(ended.sessions[1], registration=late, override=True)
    surveys.send_link(ended, late.email)  # at the room poster, before the next sweep
    [link_email] = list(db.session.scalars(sa.select(OutboxMessage).filter_by(kind="survey_link")))
    assert link_email.recipient == late.email
    client.post(f"/s/{survey_links.survey_token(late)}", data=answers(survey))
    assert rate(survey) == (1, 0, 0.0)  # not invited yet: their answer is in the figures, not the rate
    assert surveys.send_due_invitations() == {"invited": 1, "reminded": 0}
    assert messages(db, "survey_invitation") == [first.email]  # not asked again
    assert rate(survey) == (2, 1, 50.0)
    assert surveys.send_due_invitations(now=utcnow() + 5 * DAY)["reminded"] == 1  # only the first
    assert messages(db, "survey_reminder") == [first.email]


@pytest.mark.parametrize("anonymous", [False, True], ids=["named", "anonymous"])
def test_erasing_an_invited_person_breaks_nothing_and_the_counts_drop(
    client, auth, coordinator, ended, survey, db, anonymous
):
    survey.anonymous = anonymous
    db.session.commit()
    people = [attendee(ended, n) for n in range(6)]
    surveys.send_due_invitations()
    for person in people[:5]:
        surveys.submit(survey, person, answers(survey, relevance="5"))
    assert rate(survey) == (6, 5, 83.3)
    privacy.delete(db.session.get(Registration, people[0].id))  # "Delete my data"
    assert rate(survey) == (5, 4, 80.0)
    relevance = next(i for i in feedback.summary(survey)["questions"] if i.question.key == "relevance")
    assert relevance.count == 5  # the numbers of their answers stay in the figures
    # The retention purge keeps the programme's figures: the rate does not change.
    privacy.erase(db.session.get(Registration, people[1].id), at_request=False)
    db.session.commit()
    assert rate(survey) == (5, 4, 80.0)
    assert surveys.send_due_invitations(now=utcnow() + 5 * DAY) == {"invited": 0, "reminded": 1}
    assert messages(db, "survey_reminder") == [people[5].email]
    auth.login(coordinator)
    base = f"/staff/workshops/{ended.id}/survey"
    page = client.get(f"{base}/summary")
    assert page.status_code == 200 and "4 answered of 5 invited" in page.get_data(as_text=True)
    for download in ("summary.pdf", "summary.xlsx", "responses.csv"):
        assert client.get(f"{base}/{download}").status_code == 200
    api = client.get(f"/api/v1/workshops/{ended.id}/survey/summary").json
    assert (api["invited"], api["responded"], api["response_rate"]) == (5, 4, 80.0)


def test_people_erased_by_the_retention_purge_are_never_written_to(app, ended, survey, db):
    """The purge keeps an erased person confirmed (the figures stay) with a pseudonym on the
    .invalid domain: no sweep invites or reminds that address, whoever was or was not invited."""
    never_invited = attendee(ended, 1, email="", mobile="+86 139 0000 0001")  # texts are off
    invited = attendee(ended, 2)
    assert surveys.send_due_invitations() == {"invited": 1, "reminded": 0}
    for person in (never_invited, invited):
        privacy.erase(db.session.get(Registration, person.id), at_request=False)
    db.session.commit()
    app.config.update(SMS_PROVIDER="log")
    assert surveys.send_due_invitations(now=utcnow() + 5 * DAY) == {"invited": 0, "reminded": 0}
    written = db.session.scalars(db.select(OutboxMessage.recipient)).all()
    assert not [address for address in written if address.endswith("@invalid")]
    assert rate(survey)[0] == 1  # the one invited still counts as invited


def test_the_programme_report_and_the_summary_use_the_same_invited(ended, survey, coordinator, db):
    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    db.session.add(programme)
    ended.programme = programme
    db.session.commit()
    people = [attendee(ended, n, mode="online" if n % 2 else "onsite") for n in range(4)]
    registered(ended, 9)  # absent
    surveys.send_due_invitations()
    late = registered(ended, 10, mode="online")
    checkin.redeem(ended.sessions[1], registration=late, override=True)  # not swept yet
    for person in people[:3]:
        surveys.submit(survey, person, answers(survey))
    [row] = reports.programme_report(programme)["workshops"]
    assert (row["invited"], row["answered"], row["response_rate"]) == rate(survey) == (4, 3, 75.0)
    online = feedback.summary(survey, feedback.Segment(mode="online"))
    assert (online["invited"], online["responded"]) == (2, 1)
    surveys.send_due_invitations()
    [row] = reports.programme_report(programme)["workshops"]
    assert (row["invited"], row["answered"], row["response_rate"]) == rate(survey) == (5, 3, 60.0)


# ---- two sweeps at once -----------------------------------------------------------------------


def test_sweeps_racing_on_several_workers_invite_and_remind_each_person_once(app, ended, survey, db):
    people = [attendee(ended, n).email for n in range(12)]
    db.session.commit()
    now = utcnow()
    counts: list[dict] = []
    lock = threading.Lock()

    def sweep(moment):
        def run(_n):
            with app.app_context():
                result = surveys.send_due_invitations(now=moment)
                _db.session.remove()
            with lock:
                counts.append(result)

        return run

    run_together(4, sweep(now))
    assert sum(c["invited"] for c in counts) == 12
    db.session.expire_all()
    assert sorted(messages(db, "survey_invitation")) == sorted(people)
    assert len(invitations(db)) == 12
    counts.clear()
    run_together(4, sweep(now + 4 * DAY))
    assert sum(c["reminded"] for c in counts) == 12 and sum(c["invited"] for c in counts) == 0
    db.session.expire_all()
    assert sorted(messages(db, "survey_reminder")) == sorted(people)


# ---- the upgrade ----------------------------------------------------------------------------------


def test_the_upgrade_keeps_who_was_invited_and_reminded_and_invites_only_the_late(ended, survey, db):
    from flask_migrate import downgrade, upgrade

    reminded, answered = attendee(ended, 1), attendee(ended, 2)
    now = utcnow()
    surveys.send_due_invitations(now=now)
    surveys.submit(survey, answered, answers(survey))
    surveys.send_due_invitations(now=now + 4 * DAY)
    late = registered(ended, 3)
    checkin.redeem(ended.sessions[1], registration=late, override=True)  # before the upgrade's sweep
    db.session.commit()
    db.session.close()
    downgrade(revision="f3a9c1e5b7d4-1")  # the flags per survey, as before
    with db.engine.connect() as conn:
        flags = conn.execute(sa.text("SELECT invitations_sent_at, reminders_sent_at FROM survey")).one()
    assert all(flags)
    upgrade()
    kept = invitations(db)
    assert set(kept) == {reminded.email, answered.email}
    assert all(reminded_at is not None for _invited, reminded_at in kept.values())
    assert surveys.send_due_invitations(now=now + 5 * DAY) == {"invited": 1, "reminded": 0}
    assert messages(db, "survey_invitation") == [reminded.email, answered.email, late.email]
    assert messages(db, "survey_reminder") == [reminded.email]


def test_the_survey_page_says_how_many_were_invited(client, auth, coordinator, ended, survey):
    attendee(ended, 1)
    surveys.send_due_invitations()
    auth.login(coordinator)
    page = client.get(f"/staff/workshops/{ended.id}/survey").get_data(as_text=True)
    assert "Invited so far: 1 (0 answered)." in page
    client.get("/language/zh")
    chinese = client.get(f"/staff/workshops/{ended.id}/survey").get_data(as_text=True)
    assert "目前已邀请 1 人（已回复 0 人）。" in chinese
