"""Concurrent submissions never confirm more people than seats (real threads, real databases)."""

import threading

from tests.helpers import form_data
from workshops.extensions import db as _db
from workshops.models import OutboxMessage, Registration, RegistrationStatus
from workshops.services import registration as registrations

Status = RegistrationStatus


def run_together(count, action):
    barrier = threading.Barrier(count)
    errors = []

    def worker(n):
        try:
            barrier.wait()
            action(n)
        except Exception as error:  # surfaced below: a thread must never fail
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


def test_sixty_concurrent_registrations_for_ten_seats(app, make_workshop, db):
    workshop = make_workshop(onsite_capacity=10)
    workshop_id = workshop.id

    def submit(n):
        with app.test_client() as client:
            response = client.post(f"/workshops/{workshop_id}/register", data=form_data(n))
            assert response.status_code == 302, response.get_data(as_text=True)[:500]

    run_together(60, submit)
    db.session.expire_all()
    rows = db.session.scalars(
        db.select(Registration).order_by(Registration.created_at, Registration.id)
    ).all()
    assert len(rows) == 60
    assert sum(r.status == Status.CONFIRMED for r in rows) == 10
    assert sum(r.status == Status.WAITLISTED for r in rows) == 50

    # Three cancellations: exactly the three earliest waitlisted are promoted and emailed.
    waiting = [r for r in rows if r.status == Status.WAITLISTED]
    confirmed = [r.id for r in rows if r.status == Status.CONFIRMED][:3]

    def cancel(n):
        with app.app_context():
            registrations.cancel(_db.session.get(Registration, confirmed[n]))

    run_together(3, cancel)
    db.session.expire_all()
    promoted = db.session.scalars(db.select(Registration).filter_by(status=Status.CONFIRMED)).all()
    assert len(promoted) == 10
    assert sorted(r.id for r in promoted if r.id in {w.id for w in waiting}) == sorted(
        w.id for w in waiting[:3]
    )
    promoted_emails = db.session.scalars(db.select(OutboxMessage.recipient).filter_by(kind="promoted")).all()
    assert sorted(promoted_emails) == sorted(w.email for w in waiting[:3])


def test_concurrent_duplicates_make_one_registration(app, make_workshop, db):
    workshop = make_workshop()
    workshop_id = workshop.id

    def submit(n):
        with app.test_client() as client:
            response = client.post(f"/workshops/{workshop_id}/register", data=form_data(7))
            assert response.status_code in (200, 302)

    run_together(8, submit)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Registration)) == 1


def test_the_first_certificates_of_a_year_issued_at_once_get_distinct_serials(app, make_workshop, db):
    """Found by the fault test: two workers creating the year's serial counter together."""
    from tests.test_certificates import person
    from workshops.models import Certificate, Programme
    from workshops.services import certificates

    programme = Programme(code="RACE", name_en="Race", name_zh="并发")
    db.session.add(programme)
    db.session.commit()
    workshop = make_workshop(programme=programme)
    people = [person(workshop, n).id for n in range(8)]

    def issue(n):
        with app.app_context():
            assert certificates.issue(_db.session.get(Registration, people[n])) is not None

    run_together(8, issue)
    db.session.expire_all()
    serials = db.session.scalars(db.select(Certificate.serial)).all()
    assert len(serials) == 8 and len(set(serials)) == 8
