"""People who give a mobile number and no email: registered, let in, surveyed and certified
like everyone else, and one registration per phone as per email."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.helpers import applicant, form_data
from workshops.models import Registration, RegistrationSource, RegistrationStatus, Role
from workshops.services import certificates, checkin, roster, survey_links, surveys
from workshops.services import registration as registrations
from workshops.services.errors import InvalidInput
from workshops.services.registration import Outcome


def phone_only(n: int = 0, **overrides):
    return applicant(n, email="", mobile=f"138 0012 {n:04d}", **overrides)


def test_a_phone_alone_registers_and_lands_on_the_ticket_page(client, make_workshop, db):
    workshop = make_workshop()
    data = form_data(1, email="", mobile="１３８ ００１２ ０００１")  # typed with a Chinese keyboard
    response = client.post(f"/workshops/{workshop.id}/register", data=data)
    assert response.status_code == 302 and "/r/" in response.headers["Location"]
    person = db.session.scalars(sa.select(Registration)).one()
    assert (person.email, person.mobile, person.status) == (
        "",
        "+8613800120001",
        RegistrationStatus.CONFIRMED,
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Save this page" in page and "Show this QR code at the entrance." in page


def test_neither_email_nor_mobile_is_refused_and_nothing_is_written(client, make_workshop, db):
    workshop = make_workshop()
    response = client.post(f"/workshops/{workshop.id}/register", data=form_data(2, email="", mobile=""))
    assert response.status_code == 422
    assert "Enter an email address or a mobile number" in response.get_data(as_text=True)
    assert db.session.scalars(sa.select(Registration)).all() == []


def test_the_same_phone_written_another_way_is_the_same_person(make_workshop, db):
    workshop = make_workshop()
    first = registrations.register(workshop.id, phone_only(3))
    again = registrations.register(workshop.id, applicant(3, email="", mobile="+86-138-0012-0003"))
    assert first.outcome == Outcome.CONFIRMED and again.outcome == Outcome.ALREADY_REGISTERED
    assert again.registration.id == first.registration.id
    # Another email with the same phone is the same person too (one registration per phone).
    third = registrations.register(workshop.id, applicant(3, email="new@example.org", mobile="13800120003"))
    assert third.outcome == Outcome.ALREADY_REGISTERED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 1


def test_the_database_holds_one_active_registration_per_phone(make_workshop, db):
    workshop = make_workshop()
    first = registrations.register(workshop.id, phone_only(4)).registration
    registrations.register(workshop.id, phone_only(5))  # two people without email do not collide
    db.session.add(
        Registration(
            workshop_id=workshop.id,
            full_name="Someone else",
            email="else@example.org",
            mobile=first.mobile,
            mode="onsite",
            status=RegistrationStatus.CONFIRMED,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    registrations.cancel(db.session.get(Registration, first.id), actor=None)
    again = registrations.register(workshop.id, phone_only(4))  # a cancelled phone may register again
    assert again.outcome == Outcome.CONFIRMED and again.registration.id != first.id


def test_a_workshop_may_ask_for_both(make_workshop, db):
    workshop = make_workshop(asks_email_and_mobile=True)
    with pytest.raises(InvalidInput) as refused:
        registrations.register(workshop.id, applicant(6, mobile=""))
    assert "mobile" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        registrations.register(workshop.id, phone_only(6))
    assert "email" in refused.value.errors
    assert registrations.register(workshop.id, applicant(6)).outcome == Outcome.CONFIRMED


def test_the_api_registers_a_phone_alone(client, make_workshop, db):
    workshop = make_workshop()
    body = {"full_name": "王磊", "mobile": "+86 138 0012 0007", "mode": "onsite", "consent": True}
    response = client.post(f"/api/v1/workshops/{workshop.id}/registrations", json=body)
    assert response.status_code == 201 and response.json["outcome"] == "confirmed"
    assert response.json["ticket_url"]
    assert db.session.scalars(sa.select(Registration.mobile)).one() == "+8613800120007"
    refused = client.post(
        f"/api/v1/workshops/{workshop.id}/registrations", json={**body, "mobile": "1.38E+10"}
    )
    assert refused.status_code == 422 and "mobile" in refused.json["errors"]


def test_a_walk_in_with_a_phone_alone_is_registered_checked_in_and_found(
    client, auth, make_user, make_workshop, db
):
    now = datetime.now(UTC)
    workshop = make_workshop(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=6))
    session = workshop.sessions[0]
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    auth.login(organiser)
    data = {
        "full_name": "赵敏",
        "email": "",
        "mobile": "138 0012 0008",
        "organisation": "常州恒泰",
        "organisation_type": "enterprise",
        "gender": "woman",
        "mode": "onsite",
        "language": "zh",
    }
    page = client.post(
        f"/staff/workshops/{workshop.id}/walk-in?session_id={session.id}", data=data, follow_redirects=True
    ).get_data(as_text=True)
    assert "赵敏 is registered and checked in." in page
    person = db.session.scalars(sa.select(Registration)).one()
    assert person.email == "" and person.source == RegistrationSource.WALK_IN
    # The door finds her by the phone as she says it, and her ticket scans.
    assert roster.registrations(workshop, roster.RosterFilter(q="138-0012-0008")) == [person]
    assert checkin.redeem(session, token=person.ticket_token).reason == checkin.Reason.ALREADY_CHECKED_IN


def test_a_phone_only_attendee_finds_their_survey_and_earns_a_certificate(make_workshop, make_user, db):
    now = datetime.now(UTC)
    ended = make_workshop(starts_at=now - timedelta(days=2), ends_at=now - timedelta(hours=1))
    person = registrations.register(ended.id, phone_only(9), source=RegistrationSource.WALK_IN).registration
    for session in ended.sessions:
        checkin.redeem(session, registration=person, override=True)
    survey = surveys.survey_for(ended)
    surveys.apply_template(survey, make_user(Role.COORDINATOR))
    # The room poster: the phone as she types it leads to her personal link.
    assert surveys.find_attendee(ended, "138 0012 0009") == person
    assert survey_links.registration_for_token(survey_links.survey_token(person)) == person
    certificate = certificates.issue_if_eligible(person)
    assert certificate is not None and certificate.valid
    assert certificates.pdf_of(certificate).startswith(b"%PDF")


def test_people_known_only_by_phone_stay_distinct_when_anonymised_and_counted(make_workshop, db):
    from workshops.models import Programme
    from workshops.services import privacy, reports

    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    now = datetime.now(UTC)
    first = make_workshop(starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=8))
    second = make_workshop(starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=2))
    first.programme = second.programme = programme
    db.session.commit()
    people = [
        registrations.register(workshop.id, phone_only(n), source=RegistrationSource.WALK_IN).registration
        for workshop, n in ((first, 10), (first, 11), (second, 10))  # 10 came twice
    ]
    for person in people:
        checkin.redeem(person.workshop.sessions[0], registration=person, override=True)
    assert reports.programme_report(programme)["unique_participants"] == 2
    # Anonymised, two people of one workshop do not become one (nor collide on the email index).
    assert privacy.anonymise_ended_before(now) == 3
    emails = [db.session.get(Registration, p.id).email for p in people]
    assert len(set(emails[:2])) == 2 and emails[0] == emails[2]
    assert reports.programme_report(programme)["unique_participants"] == 2
