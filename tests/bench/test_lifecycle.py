"""A workshop's life at scale on PostgreSQL: the reminder sweep, a move that tells everyone, a
cancellation that tells everyone. 5,000 confirmed people; each is one transaction whose outbox
rows are written with the change (the emails themselves are rendered and sent by the worker)."""

import time
from datetime import timedelta

import sqlalchemy as sa

from tests.bench.conftest import report
from tests.bench.helpers import insert_people, insert_workshop

PEOPLE = 5_000


def outbox_rows(url: str, workshop_id: int, kind: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(
            sa.text(
                "SELECT count(*) FROM outbox_message m JOIN registration r ON r.id = m.registration_id"
                " WHERE r.workshop_id = :w AND m.kind = :k"
            ),
            {"w": workshop_id, "k": kind},
        ).scalar_one()
    engine.dispose()
    return count


def test_reminders_moves_and_cancellations_of_5000_people(bench_database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", bench_database_url)
    monkeypatch.setenv("SECRET_KEY", "bench")
    from workshops import create_app
    from workshops.extensions import db
    from workshops.models import Workshop
    from workshops.services import reminders, scheduling

    workshop_id, _session = insert_workshop(bench_database_url, starts_in=timedelta(days=20))
    insert_people(bench_database_url, workshop_id, PEOPLE)
    app = create_app()
    app.config["CELERY"] = {"task_always_eager": True, "broker_url": "memory://"}
    with app.app_context():
        workshop = db.session.get(Workshop, workshop_id)
        due = reminders.reminder_due_at(workshop) + timedelta(minutes=1)
        started = time.perf_counter()
        counts = reminders.send_due_reminders(due)
        report("reminder_sweep_5k_s", round(time.perf_counter() - started, 2), "s")
        assert counts["day_before"] == PEOPLE
        assert reminders.send_due_reminders(due + timedelta(minutes=5))["day_before"] == 0  # once

        workshop = db.session.get(Workshop, workshop_id)
        new_start = workshop.local(workshop.starts_at) + timedelta(days=1)
        started = time.perf_counter()
        scheduling.move_workshop(workshop, new_start.replace(tzinfo=None), None, notify=True)
        report("move_workshop_notify_5k_s", round(time.perf_counter() - started, 2), "s")
        assert outbox_rows(bench_database_url, workshop_id, "workshop_changed") == PEOPLE

        workshop = db.session.get(Workshop, workshop_id)
        started = time.perf_counter()
        told = scheduling.cancel_workshop(workshop, None, reason_en="Bench", reason_zh="压测")
        report("cancel_workshop_5k_s", round(time.perf_counter() - started, 2), "s")
        assert told == PEOPLE
        assert outbox_rows(bench_database_url, workshop_id, "workshop_cancelled") == PEOPLE
        db.session.remove()
