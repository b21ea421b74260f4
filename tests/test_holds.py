"""Seats only for real people: a public registration holds its place only once its email link is
followed; "already registered" sends at most one email an hour; no email starts with the name;
coordinators cancel spam in bulk; registration is rate limited per address and workshop."""

import re
from datetime import timedelta

import pytest

from tests.helpers import applicant, confirmation_link, follow_confirmation_link, form_data
from workshops.models import (
    AuditEvent,
    EmailKind,
    OutboxMessage,
    OutboxStatus,
    Registration,
    RegistrationSource,
    RegistrationStatus,
    Role,
    Workshop,
)
from workshops.models.base import utcnow
from workshops.services import checkin, outbox
from workshops.services import registration as registrations
from workshops.services.errors import NotAllowed
from workshops.services.registration import Outcome

Status = RegistrationStatus


def kinds(db, address):
    return [
        m.kind
        for m in db.session.scalars(
            db.select(OutboxMessage).filter_by(recipient=address).order_by(OutboxMessage.id)
        )
    ]


def person(db, email):
    return db.session.scalars(
        db.select(Registration).filter_by(email=email).order_by(Registration.id.desc())
    ).first()


def expire(db, registration):
    """Thirty-one minutes pass for this hold."""
    registration.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


def test_a_new_workshop_asks_for_the_email_link_by_default(app, client, auth, make_user, db):
    assert Workshop.__table__.c.confirm_contact.default.arg is True
    auth.login(make_user(Role.COORDINATOR))
    page = client.get("/staff/workshops/new").get_data(as_text=True)
    [checkbox] = re.findall(r'<input[^>]*name="confirm_contact"[^>]*>', page)
    assert "checked" in checkbox


def test_the_form_holds_the_seat_until_the_email_link_is_followed(client, make_workshop, mailbox, db):
    mailbox.start()
    workshop = make_workshop(confirm_contact=True)
    response = client.post(f"/workshops/{workshop.id}/register", data=form_data(1))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Check your inbox" in page and "/r/" not in page  # no ticket page before the link
    hold = person(db, "person1@example.org")
    assert hold.status == Status.UNVERIFIED and hold.holds_seat
    assert utcnow() + timedelta(minutes=29) < hold.hold_expires_at <= utcnow() + timedelta(minutes=30)
    [message] = mailbox.to("person1@example.org")  # the link only: no ticket, no QR code
    assert message["Subject"].startswith("Confirm your email to keep your place")
    text = message.get_body(("plain",)).get_content()
    assert hold.manage_token not in text and hold.ticket_token not in text
    assert registrations.seats_held(workshop, "onsite") == 1  # the hold counts against capacity

    path = confirmation_link(mailbox, "person1@example.org")
    client.get(path)  # a mail scanner opening the link confirms nothing
    db.session.refresh(hold)
    assert hold.status == Status.UNVERIFIED

    response = client.post(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/r/{hold.manage_token}")
    db.session.refresh(hold)
    assert hold.status == Status.CONFIRMED and hold.hold_expires_at is None
    assert kinds(db, "person1@example.org") == ["contact_check", "confirmation"]
    assert "You are registered" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.post(path).status_code == 302  # the link followed twice: the same answer
    assert kinds(db, "person1@example.org") == ["contact_check", "confirmation"]


def test_two_people_cannot_both_get_the_last_seat(app, make_workshop, db):
    workshop = make_workshop(onsite_capacity=1, confirm_contact=True)
    first = registrations.register(workshop.id, applicant(1)).registration
    second = registrations.register(workshop.id, applicant(2)).registration
    assert first.holds_seat and not second.holds_seat
    assert registrations.confirm_contact(_token(second)).status == Status.WAITLISTED
    assert registrations.confirm_contact(_token(first)).status == Status.CONFIRMED
    assert registrations.seats_held(workshop, "onsite") == 1


def _token(registration):
    from workshops.services.confirmation_links import confirmation_token

    return confirmation_token(registration)


def test_an_expired_hold_passes_its_seat_to_the_waiting_list(app, make_workshop, db):
    workshop = make_workshop(onsite_capacity=1, confirm_contact=True)
    hold = registrations.register(workshop.id, applicant(1)).registration
    waiting = registrations.register(workshop.id, applicant(2)).registration
    registrations.confirm_contact(_token(waiting))
    assert waiting.status == Status.WAITLISTED
    expire(db, hold)
    assert registrations.seats_held(workshop, "onsite") == 0  # counted out before any sweep

    assert registrations.expire_holds() == 1
    db.session.refresh(hold)
    db.session.refresh(waiting)
    assert hold.status == Status.CANCELLED and waiting.status == Status.CONFIRMED
    # No email about the expiry (the person, never confirmed, is erased: see below).
    assert [
        m.kind for m in db.session.scalars(db.select(OutboxMessage).filter_by(registration_id=hold.id))
    ] == ["contact_check"]
    assert kinds(db, "person2@example.org")[-1] == "promoted"
    with pytest.raises(NotAllowed, match="expired"):
        registrations.confirm_contact(_token(hold))


def test_expiry_does_not_wait_for_the_sweep(app, make_workshop, db):
    workshop = make_workshop(onsite_capacity=1, confirm_contact=True)
    hold = registrations.register(workshop.id, applicant(1)).registration
    expire(db, hold)
    # The same person again (or anyone) finds the seat free: the next seat decision expires it.
    again = registrations.register(workshop.id, applicant(1))
    assert again.outcome == Outcome.UNVERIFIED and again.registration.id != hold.id
    assert again.registration.holds_seat
    db.session.refresh(hold)
    assert hold.status == Status.CANCELLED


def test_an_expired_link_says_so(client, make_workshop, mailbox, db):
    mailbox.start()
    workshop = make_workshop(confirm_contact=True)
    client.post(f"/workshops/{workshop.id}/register", data=form_data(1))
    hold = person(db, "person1@example.org")
    expire(db, hold)
    response = follow_confirmation_link(client, mailbox, "person1@example.org")
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    db.session.refresh(hold)
    assert hold.status == Status.CANCELLED
    forged = client.post("/confirm/1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert forged.status_code == 410 and "not valid" in forged.get_data(as_text=True)


def test_the_beat_sweeps_holds():
    from workshops.extensions import beat_schedule

    entries = {entry["task"]: entry["schedule"] for entry in beat_schedule(60).values()}
    assert entries["registrations.expire_holds"] <= 60


def test_a_hold_never_checks_in(app, make_workshop, db):
    workshop = make_workshop(confirm_contact=True)
    hold = registrations.register(workshop.id, applicant(1)).registration
    result = checkin.redeem(workshop.sessions[0], token=hold.ticket_token, override=True)
    assert not result.ok and result.attendance is None
    result = checkin.redeem(workshop.sessions[0], registration=hold, override=True)
    assert not result.ok


def test_approval_comes_after_the_email_link(app, make_workshop, db):
    workshop = make_workshop(confirm_contact=True, approval_required=True)
    hold = registrations.register(workshop.id, applicant(1)).registration
    assert hold.status == Status.UNVERIFIED and not hold.holds_seat  # pending takes no seat
    assert registrations.confirm_contact(_token(hold)).status == Status.PENDING
    assert kinds(db, "person1@example.org") == ["contact_check", "pending"]


def test_staff_made_and_phone_only_registrations_need_no_link(app, make_workshop, db):
    workshop = make_workshop(confirm_contact=True)
    walk_in = registrations.register(workshop.id, applicant(1), source=RegistrationSource.WALK_IN)
    imported = registrations.register(workshop.id, applicant(2), source=RegistrationSource.IMPORT)
    assert walk_in.outcome == imported.outcome == Outcome.CONFIRMED
    # No SMS set up: a phone-only person cannot be sent a link; the per-address limit is theirs.
    phone_only = registrations.register(workshop.id, applicant(3, email=""))
    assert phone_only.outcome == Outcome.CONFIRMED


def test_the_switch_off_confirms_at_once(app, make_workshop, db):
    workshop = make_workshop(confirm_contact=False)
    assert registrations.register(workshop.id, applicant(1)).outcome == Outcome.CONFIRMED


def test_the_api_holds_too_and_answers_no_ticket_link(client, make_workshop, db):
    workshop = make_workshop(confirm_contact=True)
    payload = {k: v for k, v in form_data(1).items() if k != "consent"} | {"consent": True}
    response = client.post(f"/api/v1/workshops/{workshop.id}/registrations", json=payload)
    assert response.status_code == 202
    assert response.json == {"outcome": "unverified", "status": "unverified", "ticket_url": None}
    assert kinds(db, "person1@example.org") == ["contact_check"]


def test_the_staff_list_shows_holds(client, auth, make_user, make_workshop, db):
    workshop = make_workshop(confirm_contact=True)
    registrations.register(workshop.id, applicant(1, full_name="Hold Person"))
    auth.login(make_user(Role.COORDINATOR))
    page = client.get(f"/staff/workshops/{workshop.id}/registrations").get_data(as_text=True)
    assert "Email not confirmed yet (hold)" in page and "held until" in page


# -- "already registered" ---------------------------------------------------------------------


@pytest.mark.parametrize("confirm_contact", [True, False])
def test_25_registrations_of_one_address_send_one_email(client, make_workshop, mailbox, db, confirm_contact):
    mailbox.start()
    workshop = make_workshop(confirm_contact=confirm_contact)
    pages = set()
    for n in range(25):
        response = client.post(
            f"/workshops/{workshop.id}/register",
            data=form_data(1, email="victim@example.org", full_name=f"Buy pills now {n}"),
        )
        if n or confirm_contact:
            pages.add(response.get_data(as_text=True))
    assert len(mailbox.to("victim@example.org")) == 1  # the first message, and no re-send within the hour
    assert len(pages) == 1  # new or known, re-sent or not: one page, naming nobody
    assert "victim@example.org" not in pages.pop()
    assert db.session.scalar(db.select(db.func.count()).select_from(Registration)) == 1


def test_already_registered_resends_after_an_hour(app, make_workshop, db):
    workshop = make_workshop()
    registrations.register(workshop.id, applicant(1))
    registrations.register(workshop.id, applicant(1))
    assert kinds(db, "person1@example.org") == ["confirmation"]
    for message in db.session.scalars(db.select(OutboxMessage)):
        message.created_at = utcnow() - timedelta(minutes=61)
    db.session.commit()
    result = registrations.register(workshop.id, applicant(1))
    assert result.outcome == Outcome.ALREADY_REGISTERED
    assert kinds(db, "person1@example.org") == ["confirmation", "confirmation"]
    registrations.register(workshop.id, applicant(1))
    assert kinds(db, "person1@example.org") == ["confirmation", "confirmation"]


# -- the name is never the first words ----------------------------------------------------------

EVERY_KIND = [
    EmailKind.CONTACT_CHECK,
    EmailKind.CONFIRMATION,
    EmailKind.PROMOTED,
    EmailKind.WAITLISTED,
    EmailKind.PENDING,
    EmailKind.REJECTED,
    EmailKind.CANCELLED,
    EmailKind.SURVEY_INVITATION,
    EmailKind.SURVEY_REMINDER,
    EmailKind.CERTIFICATE_READY,
]


def _visible_text(html: str) -> str:
    body = re.sub(r"(?s)<head>.*?</head>", "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_email_starts_with_the_participants_name(app, make_workshop, db, language):
    from workshops.services import announcements

    attacker_text = "WIN A PRIZE at evil.example"
    workshop = make_workshop()
    registration = registrations.register(
        workshop.id, applicant(1, full_name=attacker_text, language=language)
    ).registration
    rendered = []
    for kind in EVERY_KIND:
        message = OutboxMessage(kind=kind, recipient=registration.email, registration=registration)
        outbox.render(message)
        rendered.append(message)
    rendered.append(
        announcements._message_for(
            registration, announcements.Announcement("active", "Subject", "Body", "主题", "正文")
        )
    )
    for message in rendered:
        assert attacker_text in message.body_text  # the greeting is there...
        assert not message.body_text.strip().startswith(attacker_text)  # ...after our own sentence
        assert not _visible_text(message.body_html).startswith(attacker_text)
        assert not message.subject.startswith(attacker_text)
        first_line = message.body_text.strip().splitlines()[0]
        assert attacker_text not in first_line


# -- spam, in bulk ------------------------------------------------------------------------------


def test_coordinator_cancels_many_as_spam_in_one_action(client, auth, make_user, make_workshop, db):
    workshop = make_workshop(onsite_capacity=2)
    spam = [registrations.register(workshop.id, applicant(n)).registration for n in (1, 2)]
    waiting = registrations.register(workshop.id, applicant(3)).registration
    hold_workshop = make_workshop(title_en="Other", confirm_contact=True)
    unsent_hold = registrations.register(hold_workshop.id, applicant(4)).registration
    assert waiting.status == Status.WAITLISTED
    coordinator = make_user(Role.COORDINATOR)
    auth.login(coordinator)
    before = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))
    response = client.post(
        f"/staff/workshops/{workshop.id}/registrations/spam",
        data={"registration": [str(r.id) for r in spam] + [str(unsent_hold.id)]},  # one of another workshop
        follow_redirects=True,
    )
    assert "2 registrations cancelled as spam; no email was sent." in response.get_data(as_text=True)
    for registration in spam:
        db.session.refresh(registration)
        assert registration.status == Status.CANCELLED
    db.session.refresh(unsent_hold)
    db.session.refresh(waiting)
    assert unsent_hold.status == Status.UNVERIFIED  # not this workshop's: untouched
    assert waiting.status == Status.CONFIRMED  # the seats passed on
    new = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.id > before)).all()
    assert [(m.kind, m.recipient) for m in new] == [("promoted", "person3@example.org")]
    [event] = db.session.scalars(db.select(AuditEvent).filter_by(action="registration.cancel_spam")).all()
    assert event.actor_id == coordinator.id and event.details["count"] == 2
    assert sorted(event.details["registrations"]) == sorted(r.id for r in spam)


def test_spam_cancel_withdraws_the_unsent_link(client, auth, make_user, make_workshop, db):
    workshop = make_workshop(confirm_contact=True)
    hold = registrations.register(workshop.id, applicant(1)).registration
    message = db.session.scalars(db.select(OutboxMessage).filter_by(registration_id=hold.id)).one()
    message.status = OutboxStatus.PENDING  # not sent yet (a worker busy elsewhere)
    db.session.commit()
    auth.login(make_user(Role.COORDINATOR))
    client.post(f"/staff/workshops/{workshop.id}/registrations/spam", data={"registration": [str(hold.id)]})
    assert db.session.scalars(db.select(OutboxMessage).filter_by(registration_id=hold.id)).all() == []
    assert registrations.seats_held(workshop, "onsite") == 0


def test_spam_cancel_needs_a_selection_and_a_coordinator(client, auth, make_user, make_workshop, db):
    workshop = make_workshop()
    victim = registrations.register(workshop.id, applicant(1)).registration
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(make_workshop(title_en="Their own"))
    organiser.workshops.append(workshop)
    db.session.commit()
    auth.login(organiser)
    url = f"/staff/workshops/{workshop.id}/registrations/spam"
    assert client.post(url, data={"registration": [str(victim.id)]}).status_code == 403
    auth.logout()
    assert client.post(url, data={"registration": [str(victim.id)]}).status_code in (302, 401)
    db.session.refresh(victim)
    assert victim.status == Status.CONFIRMED

    auth.login(make_user(Role.COORDINATOR))
    response = client.post(url, data={}, follow_redirects=True)
    assert "Select the registrations to cancel as spam." in response.get_data(as_text=True)


def test_the_spam_form_is_csrf_protected(make_app, make_workshop, make_user, db):
    from tests.conftest import PASSWORD

    app = make_app(WTF_CSRF_ENABLED=True)
    workshop = make_workshop()
    victim = registrations.register(workshop.id, applicant(1)).registration
    user = make_user(Role.COORDINATOR)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    response = client.post(
        f"/staff/workshops/{workshop.id}/registrations/spam", data={"registration": [str(victim.id)]}
    )
    assert response.status_code == 400
    db.session.refresh(victim)
    assert victim.status == Status.CONFIRMED


# -- rate limit ---------------------------------------------------------------------------------


def test_registration_is_limited_per_address_and_workshop(make_app, make_workshop):
    workshop = make_workshop()
    other = make_workshop(title_en="Other")
    app = make_app(RATELIMIT_ENABLED=True, REGISTRATION_RATE_LIMIT_PER_WORKSHOP="3 per hour")
    client = app.test_client()
    api = f"/api/v1/workshops/{workshop.id}/registrations"
    form = f"/workshops/{workshop.id}/register"
    codes = [client.post(form, data=form_data(n)).status_code for n in range(2)]
    payload = {k: v for k, v in form_data(2).items() if k != "consent"} | {"consent": True}
    codes.append(client.post(api, json=payload).status_code)
    codes.append(client.post(f"/workshops/{workshop.id}/register", data=form_data(3)).status_code)
    assert codes == [302, 302, 201, 429]  # the form and the API share one budget
    refused = client.post(api, json=payload | {"email": "x@example.org"}, headers={"Accept-Language": "zh"})
    assert (
        refused.status_code == 429
        and refused.json["message"] == "您的网络连接为本活动提交的报名过多，请稍后再试。"
    )
    assert client.post(f"/workshops/{other.id}/register", data=form_data(4)).status_code == 302
    refused = client.post(
        f"/workshops/{workshop.id}/register", data=form_data(5), headers={"Accept-Language": "zh-CN"}
    )
    assert refused.status_code == 429 and "请" in refused.get_data(as_text=True)
    another_address = client.post(
        f"/workshops/{workshop.id}/register", data=form_data(6), environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert another_address.status_code == 302


def test_a_walk_in_or_nomination_vouches_for_an_unconfirmed_hold(app, make_workshop, db):
    workshop = make_workshop(confirm_contact=True, onsite_capacity=1)
    hold = registrations.register(workshop.id, applicant(1)).registration
    walk_in = registrations.register(workshop.id, applicant(1), source=RegistrationSource.WALK_IN)
    assert walk_in.registration.id == hold.id and walk_in.outcome == Outcome.CONFIRMED
    assert kinds(db, "person1@example.org") == ["contact_check", "confirmation"]


def test_the_donor_report_does_not_count_holds(app, make_workshop, db):
    from workshops.models import Programme
    from workshops.services import reports

    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    workshop = make_workshop(confirm_contact=True, programme=programme)
    registrations.register(workshop.id, applicant(1))
    registrations.register(workshop.id, applicant(2), source=RegistrationSource.IMPORT)
    # Still to come, it is listed apart (with its registrations) and counts in no figure.
    report = reports.programme_report(programme, start=workshop.starts_at - timedelta(days=1))
    assert report["registrations"] == 0 and report["planned"][0]["registrations"] == 1


def test_a_hold_declined_by_staff_sends_nothing_and_frees_its_seat(app, make_workshop, make_user, db):
    workshop = make_workshop(confirm_contact=True, onsite_capacity=1)
    hold = registrations.register(workshop.id, applicant(1)).registration
    registrations.reject(hold, make_user(Role.COORDINATOR), "Looks automated")
    assert kinds(db, "person1@example.org") == ["contact_check"]
    assert registrations.seats_held(workshop, "onsite") == 0


def test_a_phone_only_person_gets_the_link_by_text_where_texts_are_sent(client, make_workshop, db, tmp_path):
    log = tmp_path / "sms.log"
    client.application.config.update(SMS_PROVIDER="log", SMS_LOG_FILE=str(log), SMS_SIGN_NAME="")
    workshop = make_workshop(confirm_contact=True)
    response = client.post(f"/workshops/{workshop.id}/register", data=form_data(1, email=None, language="zh"))
    assert response.status_code == 200 and "Check your inbox" in response.get_data(as_text=True)
    hold = db.session.scalars(db.select(Registration)).one()
    assert hold.status == Status.UNVERIFIED and hold.holds_seat
    [text] = db.session.scalars(db.select(OutboxMessage)).all()
    assert (text.channel, text.kind) == ("sms", "contact_check")
    sent = log.read_text(encoding="utf-8")
    assert "请在30分钟内确认" in sent and hold.manage_token not in sent
    path = re.search(r"https?://[^/\s]+(/confirm/\S+)", sent).group(1)
    assert client.post(path).status_code == 302
    db.session.refresh(hold)
    assert hold.status == Status.CONFIRMED
    assert [m.kind for m in db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id))] == [
        "contact_check",
        "confirmation",
    ]


# -- review findings: bad links, strangers, texts, the line, cancelled workshops, erasure ----------


def test_a_malformed_confirmation_link_is_not_valid_never_an_error(client, make_workshop, db):
    workshop = make_workshop(confirm_contact=True)
    hold = registrations.register(workshop.id, applicant(1)).registration
    tokens = [
        "².x",  # a digit to str.isdigit, not to int
        f"{hold.id}.é",  # compare_digest refuses non-ASCII text
        f"{hold.id}.{'é' * 32}",
        "99999999999.x",  # beyond PostgreSQL's integers
        f"{2**31}.x",
        "0.x",
    ]
    for token in tokens:
        assert client.get(f"/confirm/{token}").status_code == 200, token  # the page with the button
        response = client.post(f"/confirm/{token}", headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 410, token
        assert "确认链接无效" in response.get_data(as_text=True), token
    db.session.refresh(hold)
    assert hold.status == Status.UNVERIFIED


def test_spam_cancel_ignores_ids_no_registration_can_have(client, auth, make_user, make_workshop, db):
    workshop = make_workshop()
    spam = registrations.register(workshop.id, applicant(1)).registration
    auth.login(make_user(Role.COORDINATOR))
    url = f"/staff/workshops/{workshop.id}/registrations/spam"
    response = client.post(url, data={"registration": ["²", "999999999999", "2147483648", "０"]})
    assert response.status_code == 302
    page = client.get(f"/staff/workshops/{workshop.id}/registrations").get_data(as_text=True)
    assert "Select the registrations to cancel as spam." in page
    response = client.post(
        url, data={"registration": ["²", "999999999999", str(spam.id)]}, follow_redirects=True
    )
    assert "1 registration cancelled as spam; no email was sent." in response.get_data(as_text=True)


def test_the_api_tells_a_stranger_nothing_about_a_registered_address(client, make_workshop, mailbox, db):
    mailbox.start()
    workshop = make_workshop(confirm_contact=True)
    url = f"/api/v1/workshops/{workshop.id}/registrations"
    payload = {k: v for k, v in form_data(1).items() if k != "consent"} | {"consent": True}
    new = client.post(url, json=payload)
    held = client.post(url, json=payload)  # the hold exists: same answer as a new one
    registrations.confirm_contact(_token(person(db, "person1@example.org")))
    confirmed = client.post(url, json=payload | {"full_name": "Someone Else"})
    by_phone = client.post(url, json=payload | {"email": "other@example.org"})  # known by its mobile
    expected = (202, {"outcome": "unverified", "status": "unverified", "ticket_url": None})
    for response in (new, held, confirmed, by_phone):
        assert (response.status_code, response.json) == expected
    assert person(db, "person1@example.org").status == Status.CONFIRMED
    assert person(db, "other@example.org") is None


def test_the_link_goes_by_email_only_when_there_is_an_email(client, make_workshop, db, tmp_path):
    # Else whoever typed in a stranger's email with their own phone confirms it by text (and the
    # texts are paid for).
    log = tmp_path / "sms.log"
    client.application.config.update(SMS_PROVIDER="log", SMS_LOG_FILE=str(log), SMS_SIGN_NAME="")
    workshop = make_workshop(confirm_contact=True)
    client.post(f"/workshops/{workshop.id}/register", data=form_data(1))  # email and mobile
    hold = person(db, "person1@example.org")
    assert hold.status == Status.UNVERIFIED and hold.mobile
    registrations.resend_confirmation(hold)
    messages = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.channel, m.kind) for m in messages] == [("email", "contact_check")] * 2
    assert not log.exists() or "/confirm/" not in log.read_text(encoding="utf-8")


def test_confirming_a_hold_does_not_jump_the_waiting_list(app, make_workshop, db):
    workshop = make_workshop(confirm_contact=True, onsite_capacity=1)
    first = registrations.register(workshop.id, applicant(1)).registration
    assert first.holds_seat
    waiting = registrations.register(workshop.id, applicant(2), source=RegistrationSource.IMPORT)
    assert waiting.outcome == Outcome.WAITLISTED
    late = registrations.register(workshop.id, applicant(3)).registration
    assert late.status == Status.UNVERIFIED and not late.holds_seat
    expire(db, first)  # the seat is free, but nobody has swept the hold yet
    assert registrations.confirm_contact(_token(late)).status == Status.WAITLISTED
    db.session.refresh(waiting.registration)
    db.session.refresh(first)
    assert waiting.registration.status == Status.CONFIRMED and first.status == Status.CANCELLED


def test_a_free_seat_goes_to_the_waiting_list_before_a_confirmed_hold(app, make_workshop, db):
    workshop = make_workshop(confirm_contact=True, onsite_capacity=1)
    registrations.register(workshop.id, applicant(1), source=RegistrationSource.IMPORT)
    waiting = registrations.register(workshop.id, applicant(2), source=RegistrationSource.IMPORT).registration
    late = registrations.register(workshop.id, applicant(3)).registration
    workshop.onsite_capacity = 2  # raised by a data fix: the waiting list was not promoted yet
    db.session.commit()
    assert registrations.confirm_contact(_token(late)).status == Status.WAITLISTED
    assert waiting.status == Status.WAITLISTED


def test_a_cancelled_workshop_cannot_be_confirmed_into(client, make_workshop, mailbox, db):
    from workshops.models import WorkshopStatus

    mailbox.start()
    workshop = make_workshop(confirm_contact=True)
    client.post(f"/workshops/{workshop.id}/register", data=form_data(1))
    path = confirmation_link(mailbox, "person1@example.org")
    workshop.status = WorkshopStatus.CANCELLED
    db.session.commit()
    with pytest.raises(NotAllowed):
        registrations.confirm_contact(path.rpartition("/")[2])
    response = client.post(path)
    assert response.status_code == 410
    assert "This workshop has been cancelled" in response.get_data(as_text=True)
    assert person(db, "person1@example.org").status == Status.UNVERIFIED
    assert kinds(db, "person1@example.org") == ["contact_check"]


def test_holds_never_confirmed_are_erased_not_kept(client, auth, make_user, make_workshop, db):
    from workshops.services import privacy

    def erased(registration):
        db.session.refresh(registration)
        return (
            registration.status == Status.CANCELLED
            and registration.email.endswith("@invalid")
            and (registration.full_name, registration.mobile, registration.organisation)
            == (privacy.ANONYMOUS, "", "")
        )

    workshop = make_workshop(confirm_contact=True)
    swept = registrations.register(workshop.id, applicant(1, full_name="Victim One")).registration
    inline = registrations.register(workshop.id, applicant(2, full_name="Victim Two")).registration
    kept = registrations.register(workshop.id, applicant(3, full_name="Still Holding")).registration
    expire(db, inline)
    with pytest.raises(NotAllowed):  # following the expired link cancels it there and then
        registrations.confirm_contact(_token(inline))
    assert erased(inline) and not erased(swept)
    expire(db, swept)
    assert registrations.expire_holds() == 1  # the beat's sweep
    assert erased(swept)
    db.session.refresh(kept)
    assert kept.full_name == "Still Holding" and kept.status == Status.UNVERIFIED

    auth.login(make_user(Role.COORDINATOR))
    client.post(f"/staff/workshops/{workshop.id}/registrations/spam", data={"registration": [str(kept.id)]})
    assert erased(kept)
