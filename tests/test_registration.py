"""Participants register without an account: seats per mode, waiting list, approval."""

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import applicant, form_data
from workshops.models import OutboxMessage, Registration, RegistrationStatus, Role, Workshop, WorkshopStatus
from workshops.services import outbox
from workshops.services import registration as registrations
from workshops.services.errors import InvalidInput, NotAllowed
from workshops.services.registration import Outcome

Status = RegistrationStatus


def statuses(db, workshop):
    rows = db.session.scalars(
        db.select(Registration).filter_by(workshop_id=workshop.id).order_by(Registration.id)
    )
    return [r.status.value for r in rows]


def emails_of_kind(db, kind):
    return [
        m.recipient
        for m in db.session.scalars(db.select(OutboxMessage).filter_by(kind=kind).order_by(OutboxMessage.id))
    ]


def test_participant_registers_and_lands_on_the_ticket_page(client, make_workshop, db, tmp_path):
    workshop = make_workshop()
    response = client.post(f"/workshops/{workshop.id}/register", data=form_data())
    assert response.status_code == 302
    registration = db.session.scalars(db.select(Registration)).one()
    assert response.headers["Location"].startswith(f"/r/{registration.manage_token}")
    assert registration.status == Status.CONFIRMED and registration.consent_at is not None
    assert len(registration.manage_token) >= 43 and len(registration.ticket_token) >= 43  # 256 bits

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You are registered. See you there!" in page
    qr = client.get(f"/r/{registration.manage_token}/ticket.png")
    assert qr.mimetype == "image/png"
    (tmp_path / "qr.png").write_bytes(qr.data)
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(tmp_path / "qr.png")], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert decoded == registration.ticket_token  # only the opaque token, no personal data
    assert emails_of_kind(db, "confirmation") == ["person0@example.org"]


def test_full_mode_puts_the_next_registrant_on_the_waiting_list(app, make_workshop, db):
    workshop = make_workshop(onsite_capacity=1)
    assert registrations.register(workshop.id, applicant(1)).outcome == Outcome.CONFIRMED
    assert registrations.register(workshop.id, applicant(2)).outcome == Outcome.WAITLISTED
    assert registrations.register(workshop.id, applicant(3, mode="online")).outcome == Outcome.CONFIRMED
    assert emails_of_kind(db, "waitlisted") == ["person2@example.org"]


def test_form_offers_the_waiting_list_when_a_mode_is_full(client, make_workshop):
    workshop = make_workshop(onsite_capacity=0)
    page = client.get(f"/workshops/{workshop.id}").get_data(as_text=True)
    assert "full: join the waiting list" in page


def test_cancellation_promotes_the_earliest_waitlisted_of_that_mode(app, make_workshop, db):
    workshop = make_workshop(onsite_capacity=1, online_capacity=1)
    first = registrations.register(workshop.id, applicant(1)).registration
    registrations.register(workshop.id, applicant(2, mode="online"))
    registrations.register(workshop.id, applicant(3, mode="online"))  # waits for online
    second = registrations.register(workshop.id, applicant(4)).registration
    registrations.register(workshop.id, applicant(5))
    promoted = registrations.cancel(first)
    assert [p.id for p in promoted] == [second.id]
    assert statuses(db, workshop) == ["cancelled", "confirmed", "waitlisted", "confirmed", "waitlisted"]
    assert emails_of_kind(db, "promoted") == ["person4@example.org"]


def test_the_waiting_list_sweep_gives_seats_freed_outside_the_app(app, make_workshop, db):
    workshop = make_workshop(onsite_capacity=1, online_capacity=1)
    registrations.register(workshop.id, applicant(1))
    waiting = [registrations.register(workshop.id, applicant(n)).registration for n in (2, 3)]
    assert registrations.promote_waiting_lists() == 0  # no seat free
    # An operator raised the capacity with SQL: nobody was promoted then.
    db.session.execute(db.update(Workshop).where(Workshop.id == workshop.id).values(onsite_capacity=2))
    db.session.commit()
    assert registrations.promote_waiting_lists() == 1
    assert statuses(db, workshop) == ["confirmed", "confirmed", "waitlisted"]
    assert emails_of_kind(db, "promoted") == [waiting[0].email]
    assert registrations.promote_waiting_lists() == 0


def test_raising_capacity_promotes_from_the_waiting_list(client, auth, make_user, make_workshop, db):
    from tests.test_scheduling import workshop_form

    workshop = make_workshop(onsite_capacity=1)
    for n in range(3):
        registrations.register(workshop.id, applicant(n))
    auth.login(make_user(Role.COORDINATOR))
    year = workshop.local(workshop.starts_at).year
    client.post(
        f"/staff/workshops/{workshop.id}/edit",
        data=workshop_form(
            onsite_capacity="2",
            online_capacity="200",
            starts_at=f"{year}-03-31T09:00",
            ends_at=f"{year}-04-01T17:00",
            registration_closes_at="",
            notify="no",  # the form's city and link differ too: saved without a change notice
        ),
    )
    db.session.expire_all()
    assert statuses(db, workshop) == ["confirmed", "confirmed", "waitlisted"]
    assert emails_of_kind(db, "promoted") == ["person1@example.org"]


def test_approval_keeps_people_pending_until_a_coordinator_decides(app, make_user, make_workshop, db):
    coordinator = make_user(Role.COORDINATOR)
    workshop = make_workshop(approval_required=True, onsite_capacity=1)
    one = registrations.register(workshop.id, applicant(1))
    two = registrations.register(workshop.id, applicant(2))
    three = registrations.register(workshop.id, applicant(3))
    assert {one.outcome, two.outcome} == {Outcome.PENDING}
    assert registrations.approve(one.registration, coordinator).outcome == Outcome.CONFIRMED
    assert registrations.approve(two.registration, coordinator).outcome == Outcome.WAITLISTED
    with pytest.raises(InvalidInput):
        registrations.reject(three.registration, coordinator, reason="  ")
    registrations.reject(three.registration, coordinator, reason="Places are for pilot enterprises only")
    assert statuses(db, workshop) == ["confirmed", "waitlisted", "rejected"]
    rejection = db.session.scalars(db.select(OutboxMessage).filter_by(kind="rejected")).one()
    outbox.render(rejection)
    assert "Places are for pilot enterprises only" in rejection.body_text
    # Rejecting the confirmed person frees the seat for the approved waitlisted one.
    registrations.reject(one.registration, coordinator, reason="Duplicate nomination")
    assert statuses(db, workshop) == ["rejected", "confirmed", "rejected"]


def test_second_registration_with_the_same_email_resends_the_confirmation(client, make_workshop, db):
    workshop = make_workshop()
    client.post(f"/workshops/{workshop.id}/register", data=form_data())
    response = client.post(
        f"/workshops/{workshop.id}/register",
        data=form_data(email="PERSON0@example.org", full_name="Someone else"),
    )
    assert response.status_code == 200
    assert "Check your inbox" in response.get_data(as_text=True)
    assert statuses(db, workshop) == ["confirmed"]
    # Sent within the hour already: not again (tests/test_holds.py re-sends an hour later).
    assert emails_of_kind(db, "confirmation") == ["person0@example.org"]


def test_a_cancelled_person_may_register_again(app, make_workshop, db):
    workshop = make_workshop()
    first = registrations.register(workshop.id, applicant(1)).registration
    registrations.cancel(first)
    assert registrations.register(workshop.id, applicant(1)).outcome == Outcome.CONFIRMED
    assert statuses(db, workshop) == ["cancelled", "confirmed"]


def test_database_refuses_two_active_registrations_for_one_email(app, make_workshop, db):
    from sqlalchemy.exc import IntegrityError

    workshop = make_workshop()
    for _ in range(2):
        db.session.add(
            Registration(
                workshop=workshop,
                full_name="X",
                email="same@example.org",
                mode="onsite",
                status=Status.CONFIRMED,
            )
        )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("full_name", "", "Enter your full name."),
        ("full_name", "x" * 201, "Use at most 200 characters."),
        ("email", "not-an-email", "Enter a valid email address"),
        ("mobile", "call me maybe", "A phone number has digits only"),
        ("mobile", "1.38123E+10", "lost digits"),
        ("mobile", "23812345678", "A Chinese mobile number has 11 digits and starts with 1."),
        ("mode", "in-person", "Not a valid choice."),
        ("organisation_type", "cartel", "Not a valid choice."),
        ("gender", "x", "Not a valid choice."),
        ("consent", None, "Please agree to the privacy notice to register."),
        ("needs", "n" * 1001, "Field cannot be longer than 1000 characters."),
    ],
)
def test_bad_registration_input_gets_a_message_and_writes_nothing(
    client, make_workshop, db, field, value, message
):
    workshop = make_workshop()
    response = client.post(f"/workshops/{workshop.id}/register", data=form_data(**{field: value}))
    assert response.status_code in (400, 422)
    assert message in response.get_data(as_text=True)
    assert statuses(db, workshop) == []
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0


def test_messages_come_in_chinese_for_chinese_readers(client, make_workshop):
    workshop = make_workshop()
    client.get("/language/zh")
    response = client.post(f"/workshops/{workshop.id}/register", data=form_data(full_name=""))
    assert "请输入您的姓名。" in response.get_data(as_text=True)


def test_honeypot_catches_bots(client, make_workshop, db):
    workshop = make_workshop()
    response = client.post(
        f"/workshops/{workshop.id}/register", data=form_data(website="http://spam.example")
    )
    assert response.status_code == 400
    assert statuses(db, workshop) == []


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"registration_closes_at": datetime.now(UTC) - timedelta(hours=1)},
            "Registration for this workshop is closed.",
        ),
        (
            {"registration_opens_at": datetime.now(UTC) + timedelta(days=3)},
            "Registration has not opened yet.",
        ),
        ({"status": WorkshopStatus.CANCELLED}, "This workshop has been cancelled; registration is closed."),
    ],
)
def test_closed_registration_is_explained(client, make_workshop, db, change, message):
    workshop = make_workshop()
    for name, value in change.items():
        setattr(workshop, name, value)
    db.session.commit()
    assert message in client.get(f"/workshops/{workshop.id}").get_data(as_text=True)
    response = client.post(f"/workshops/{workshop.id}/register", data=form_data())
    assert response.status_code == 409 and message in response.get_data(as_text=True)
    assert statuses(db, workshop) == []


def test_draft_workshop_takes_no_registrations(client, make_workshop):
    workshop = make_workshop(status=WorkshopStatus.DRAFT)
    assert client.post(f"/workshops/{workshop.id}/register", data=form_data()).status_code == 404


def test_tampered_ticket_token_is_not_found(client, make_workshop):
    workshop = make_workshop()
    client.post(f"/workshops/{workshop.id}/register", data=form_data())
    for url in ("/r/not-a-real-token", "/r/" + "a" * 300, "/r/x/ticket.png", "/r/x/calendar.ics"):
        assert client.get(url).status_code == 404
    assert client.post("/r/x/cancel").status_code == 404


def test_participant_cancels_from_the_ticket_page(client, make_workshop, db):
    workshop = make_workshop(onsite_capacity=1)
    client.post(f"/workshops/{workshop.id}/register", data=form_data(1))
    client.post(f"/workshops/{workshop.id}/register", data=form_data(2))
    first = db.session.scalars(db.select(Registration).order_by(Registration.id)).first()
    response = client.post(f"/r/{first.manage_token}/cancel", follow_redirects=True)
    assert "Your registration is cancelled." in response.get_data(as_text=True)
    assert statuses(db, workshop) == ["cancelled", "confirmed"]
    again = client.post(f"/r/{first.manage_token}/cancel", follow_redirects=True)
    assert "already cancelled" in again.get_data(as_text=True)


def test_participant_switches_mode_only_into_a_free_seat(client, make_workshop, db):
    workshop = make_workshop(onsite_capacity=1, online_capacity=1)
    client.post(f"/workshops/{workshop.id}/register", data=form_data(1, mode="online"))
    client.post(f"/workshops/{workshop.id}/register", data=form_data(2, mode="onsite"))
    client.post(f"/workshops/{workshop.id}/register", data=form_data(3, mode="online"))  # waitlisted online
    online, onsite, waiting = db.session.scalars(db.select(Registration).order_by(Registration.id)).all()
    refused = client.post(f"/r/{online.manage_token}/mode", data={"mode": "onsite"}, follow_redirects=True)
    assert "There is no free seat in that mode." in refused.get_data(as_text=True)
    registrations.cancel(onsite)
    client.post(f"/r/{online.manage_token}/mode", data={"mode": "onsite"})
    db.session.expire_all()
    assert [r.mode.value for r in (online, onsite, waiting)] == ["onsite", "onsite", "online"]
    # The online seat it left went to the waiting list.
    assert [r.status.value for r in (online, onsite, waiting)] == ["confirmed", "cancelled", "confirmed"]


def test_onsite_only_workshop_refuses_online_registrations(app, make_workshop):
    workshop = make_workshop(format="onsite", online_capacity=0)
    with pytest.raises(InvalidInput) as error:
        registrations.register(workshop.id, applicant(1, mode="online"))
    assert "mode" in error.value.errors


def test_unknown_workshop_is_refused_by_the_service(app):
    with pytest.raises(NotAllowed):
        registrations.register(424242, applicant(1))
