"""Fault tests on the production shape (tests/stack.py): the worker killed mid-job, SMTP and
Redis down. Loopback only; needs PostgreSQL (TEST_DATABASE_URL) and redis-server.
"""

import http.client
import json
import os
import time
from datetime import timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa

from tests.bench.helpers import create_staff, insert_people, insert_workshop, login
from tests.stack import Stack, wait_until

# One stack (gunicorn, worker, SMTP) serves the whole module: its tests stay on one xdist worker.
pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="needs PostgreSQL (TEST_DATABASE_URL)",
    ),
    pytest.mark.xdist_group("fault_stack"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # A short lease and sweep, so a killed worker's job is handed out again within seconds.
    running = Stack(
        tmp_path_factory.mktemp("stack"),
        "workshops_faults",
        app_servers=1,
        JOB_LEASE_SECONDS="4",
        JOB_SWEEP_SECONDS="2",
        OUTBOX_RETRY_SECONDS="1",
        RATELIMIT_ENABLED="true",
    ).start()
    yield running
    running.stop()


def scalar(url: str, sql: str, **params):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()


def test_worker_killed_mid_mass_email_every_email_arrives_once(stack):
    from workshops.extensions import db
    from workshops.models import Workshop
    from workshops.services import announcements

    workshop_id, _session = insert_workshop(stack.url, starts_in=timedelta(days=10))
    insert_people(stack.url, workshop_id, 120)
    app = stack.app()
    with app.app_context():
        job = announcements.queue_announcement(
            db.session.get(Workshop, workshop_id),
            announcements.Announcement(
                audience="confirmed",
                subject_en="Venue moved",
                body_en="Hall B.",
                subject_zh="场地变更",
                body_zh="B 厅。",
            ),
            actor=None,
        )
        job_id = job.id
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()

    # Kill the worker while it is in the middle of sending one of the emails.
    wait_until(lambda: stack.inbox.count("场地变更") >= 30, 60, "the worker starts sending")
    stack.inbox.hold_next()
    assert stack.inbox.holding.wait(30), "the worker kept sending"
    stack.kill_worker()
    stack.inbox.release(accept=False)  # the sender is gone: the server never accepted that one
    sent_before = stack.inbox.count("场地变更")
    assert sent_before < 120

    stack.start_worker()
    wait_until(
        lambda: stack.inbox.count("场地变更") >= 120, 120, "every email is delivered after the restart"
    )
    time.sleep(2)  # a duplicate, if any, would arrive now
    received = stack.inbox.matching("场地变更")
    assert len(received) == 120
    assert len({recipient for recipient, _id, _subject in received}) == 120
    assert len({message_id for _recipient, message_id, _subject in received}) == 120
    assert scalar(stack.url, "SELECT count(*) FROM outbox_message WHERE kind = 'announcement'") == 120
    assert scalar(stack.url, "SELECT count(*) FROM outbox_message WHERE status <> 'sent'") == 0
    assert scalar(stack.url, "SELECT status FROM job WHERE id = :j", j=job_id) == "done"


def test_worker_killed_mid_certificate_batch_completes_once(stack):
    from pypdf import PdfReader

    from workshops.extensions import db
    from workshops.models import Job, Workshop
    from workshops.services import certificates

    people = 150
    # Ended (certificates are earned only then) more than the 30 days beat's own sweep looks back:
    # only the batch issues them.
    workshop_id, session_id = insert_workshop(stack.url, starts_in=timedelta(days=-40), hours=48)
    insert_people(stack.url, workshop_id, people)
    engine = sa.create_engine(stack.url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE registration SET mode = 'onsite' WHERE workshop_id = :w"), {"w": workshop_id}
        )
        conn.execute(
            sa.text(
                "INSERT INTO attendance (registration_id, session_id, checked_in_at, method, mode, device)"
                " SELECT id, :s, now(), 'qr', 'onsite', 'door' FROM registration WHERE workshop_id = :w"
            ),
            {"s": session_id, "w": workshop_id},
        )
    engine.dispose()
    app = stack.app()
    with app.app_context():
        job_id = certificates.queue_batch(db.session.get(Workshop, workshop_id), actor=None).id
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()

    progress = lambda: scalar(stack.url, "SELECT done FROM job WHERE id = :j", j=job_id)  # noqa: E731
    wait_until(lambda: progress() >= 50, 120, "the first chunk is rendered")
    stack.kill_worker()
    assert scalar(stack.url, "SELECT status FROM job WHERE id = :j", j=job_id) == "running"
    assert progress() < people

    stack.start_worker()
    wait_until(
        lambda: scalar(stack.url, "SELECT status FROM job WHERE id = :j", j=job_id) == "done",
        180,
        "the stalled batch is handed out again and finishes",
    )
    count = scalar(
        stack.url,
        "SELECT count(*) FROM certificate c JOIN registration r ON r.id = c.registration_id"
        " WHERE r.workshop_id = :w",
        w=workshop_id,
    )
    serials = scalar(
        stack.url,
        "SELECT count(DISTINCT serial) FROM certificate c JOIN registration r"
        " ON r.id = c.registration_id WHERE r.workshop_id = :w",
        w=workshop_id,
    )
    rendered = scalar(
        stack.url,
        "SELECT count(*) FROM certificate c JOIN registration r ON r.id = c.registration_id"
        " WHERE r.workshop_id = :w AND c.pdf IS NOT NULL",
        w=workshop_id,
    )
    assert count == serials == rendered == people
    assert scalar(stack.url, "SELECT count(*) FROM job_file WHERE job_id = :j", j=job_id) == 3  # chunks of 50
    with app.app_context():
        merged = certificates.merged_pdf(db.session.get(Job, job_id))
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()
    assert len(PdfReader(BytesIO(merged)).pages) == people
    # Each person is told once that their certificate is ready.
    wait_until(
        lambda: (
            scalar(
                stack.url,
                "SELECT count(*) FROM outbox_message WHERE kind = 'certificate_ready' AND status = 'sent'",
            )
            == people
        ),
        120,
        "certificate emails are sent",
    )
    assert scalar(stack.url, "SELECT count(*) FROM outbox_message WHERE kind = 'certificate_ready'") == people


def _request(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    began = time.monotonic()
    connection.request(
        method,
        path,
        json.dumps(body) if body is not None else None,
        {"Content-Type": "application/json", **(headers or {})},
    )
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, json.loads(data or b"null"), time.monotonic() - began


def test_smtp_and_redis_down_registrations_and_checkins_go_on(stack):
    port = stack.ports[0]
    workshop_id, session_id = insert_workshop(stack.url, starts_in=timedelta(minutes=-30))
    tokens = insert_people(stack.url, workshop_id, 5)
    create_staff(stack.url, "door@example.org", "door password 1")
    cookie, csrf = login("127.0.0.1", port, "door@example.org", "door password 1")
    staff = {"Cookie": cookie, "X-CSRFToken": csrf}

    stack.stop_smtp()
    stack.stop_redis()
    for n in range(5):
        status, body, seconds = _request(
            port,
            "POST",
            f"/api/v1/workshops/{workshop_id}/registrations",
            {"full_name": f"断网{n}", "email": f"outage{n}@example.org", "mode": "onsite", "consent": True},
        )
        assert status == 201, body
        assert seconds < 2  # the broker gives up quickly; the rows wait in the database
    for token in tokens:
        status, body, seconds = _request(
            port,
            "POST",
            "/api/v1/checkin",
            {"session_id": session_id, "token": token, "nonce": token[:20], "device": "door"},
            staff,
        )
        assert (status, body["reason"]) == (200, "ok")
        assert seconds < 2  # the broker gives up quickly; the rows wait in the database
    status, health, _seconds = _request(port, "GET", "/healthz")
    assert (status, health["database"], health["redis"]) == (200, "ok", "unavailable")
    assert (
        scalar(
            stack.url,
            "SELECT count(*) FROM outbox_message WHERE recipient LIKE 'outage%' AND status = 'pending'",
        )
        == 5
    )

    # Back up: Redis first (the worker sends, SMTP refuses, messages wait), then SMTP.
    stack.start_redis()
    time.sleep(3)
    stack.start_smtp()
    wait_until(
        lambda: len([r for r, _m, _s in stack.inbox.matching("") if r.startswith("outage")]) == 5,
        120,
        "the emails queued during the outage are delivered",
    )
    assert scalar(stack.url, "SELECT count(*) FROM attendance WHERE session_id = :s", s=session_id) == 5
    _status, health, _seconds = _request(port, "GET", "/healthz")
    assert health["redis"] == "ok"
