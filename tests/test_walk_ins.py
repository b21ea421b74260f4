"""Walk-ins: registered at the door, or found under their email and name, and let in at a session."""

import pytest

from tests.helpers import applicant
from workshops.models import Attendance, Registration, RegistrationStatus, Role
from workshops.services import registration as registrations
from workshops.services.errors import NotAllowed
from workshops.services.walk_ins import WalkInOutcome, admit_walk_in, same_name


@pytest.fixture
def actor(make_user):
    return make_user(Role.ORGANISER)


def attendances(db) -> list[Attendance]:
    return db.session.scalars(db.select(Attendance)).all()


def test_a_new_walk_in_at_a_session_is_let_in_even_outside_its_hours(make_workshop, actor, db):
    workshop = make_workshop()  # next year: no session is running
    walk_in = admit_walk_in(workshop, applicant(1, consent=False), actor, workshop.sessions[0])
    assert walk_in.outcome == WalkInOutcome.REGISTERED_AND_CHECKED_IN and walk_in.check_in.ok
    assert walk_in.registration.source.value == "walk_in" and walk_in.registration.consent_at is None
    (attendance,) = attendances(db)
    assert (attendance.registration_id, attendance.session_id) == (
        walk_in.registration.id,
        workshop.sessions[0].id,
    )
    assert (attendance.method.value, attendance.by_user_id, attendance.device) == (
        "walk_in",
        actor.id,
        "walk-in",
    )


def test_without_a_session_the_walk_in_is_only_registered(make_workshop, actor, db):
    workshop = make_workshop(onsite_capacity=1)
    first = admit_walk_in(workshop, applicant(1), actor)
    assert first.outcome == WalkInOutcome.REGISTERED and first.check_in is None
    assert first.registration.status == RegistrationStatus.CONFIRMED
    second = admit_walk_in(workshop, applicant(2), actor, workshop.sessions[0])
    assert second.outcome == WalkInOutcome.WAITLISTED and second.check_in is None
    assert attendances(db) == []


def test_someone_registered_before_is_let_in_under_the_same_name_only(make_workshop, actor, db):
    workshop = make_workshop()
    registered = registrations.register(workshop.id, applicant(1, full_name="Li Hua")).registration
    session = workshop.sessions[0]
    assert same_name("Li Hua", " li  hua ") and same_name("李 华", "李华") and not same_name("李华", "李")
    someone_else = admit_walk_in(workshop, applicant(1, full_name="Wang Fang"), actor, session)
    assert someone_else.outcome == WalkInOutcome.CONTACT_OF_SOMEONE_ELSE and someone_else.check_in is None
    assert someone_else.registration.id == registered.id and attendances(db) == []
    assert admit_walk_in(workshop, applicant(1, full_name="lihua"), actor).outcome == (
        WalkInOutcome.ALREADY_REGISTERED  # from the staff page: nobody is checked in
    )
    found = admit_walk_in(workshop, applicant(1, full_name="LI HUA"), actor, session)
    assert found.outcome == WalkInOutcome.FOUND_AND_CHECKED_IN and found.registration.id == registered.id
    again = admit_walk_in(workshop, applicant(1, full_name="Li Hua"), actor, session)
    assert again.outcome == WalkInOutcome.ALREADY_CHECKED_IN and len(attendances(db)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(Registration)) == 1


def test_someone_on_the_waiting_list_is_not_let_in(make_workshop, actor, db):
    workshop = make_workshop(onsite_capacity=0)
    registrations.register(workshop.id, applicant(1))
    waiting = admit_walk_in(workshop, applicant(1), actor, workshop.sessions[0])
    assert waiting.outcome == WalkInOutcome.ALREADY_REGISTERED and waiting.check_in is None
    assert waiting.registration.status == RegistrationStatus.WAITLISTED and attendances(db) == []


def test_another_workshops_session_is_refused_before_anyone_is_registered(make_workshop, actor, db):
    workshop, other = make_workshop(), make_workshop(title_en="Another")
    with pytest.raises(NotAllowed):
        admit_walk_in(workshop, applicant(1), actor, other.sessions[0])
    assert db.session.scalars(db.select(Registration)).all() == []


def test_the_staff_page_says_the_email_is_registered_already(client, auth, make_workshop, make_user, db):
    workshop = make_workshop()
    registrations.register(workshop.id, applicant(1, full_name="刘洋"))
    auth.login(make_user(Role.COORDINATOR))
    data = {
        "full_name": "刘洋",
        "email": "person1@example.org",
        "organisation_type": "enterprise",
        "gender": "man",
        "mode": "onsite",
        "language": "zh",
    }
    page = client.post(f"/staff/workshops/{workshop.id}/walk-in", data=data, follow_redirects=True)
    assert "This email or mobile number is already registered (Confirmed)." in page.get_data(as_text=True)


def test_a_walk_in_does_not_confirm_someone_elses_hold_of_their_address(make_workshop, actor, db):
    # A spammer registered the walk-in's address under another name: at the door, that hold is not
    # the person standing there (they are told so; nobody is let in, the hold stays unconfirmed).
    workshop = make_workshop(confirm_contact=True)
    hold = registrations.register(workshop.id, applicant(1, full_name="Spam Bot")).registration
    assert hold.status == RegistrationStatus.UNVERIFIED
    walk_in = admit_walk_in(workshop, applicant(1, full_name="Li Hua"), actor, workshop.sessions[0])
    assert walk_in.outcome == WalkInOutcome.CONTACT_OF_SOMEONE_ELSE and walk_in.check_in is None
    db.session.refresh(hold)
    assert hold.status == RegistrationStatus.UNVERIFIED and attendances(db) == []
    # The same name is the person's own hold: staff vouch for it and let them in.
    own = admit_walk_in(workshop, applicant(1, full_name="spam  bot"), actor, workshop.sessions[0])
    assert own.registration.id == hold.id and own.registration.status == RegistrationStatus.CONFIRMED
    assert own.check_in is not None and own.check_in.ok
