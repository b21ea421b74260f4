"""Production shape on this machine: two gunicorn app servers on one PostgreSQL, a Celery
worker on Redis, a real SMTP server. A registration storm across both servers confirms
exactly the seats there are, and every email arrives once.

Run by `make test` when TEST_DATABASE_URL is a PostgreSQL database (as in CI), and by
`make prod-check` on its own; the parts are in tests/stack.py.
"""

import http.client
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.stack import Stack

# One stack (gunicorn, worker, SMTP) serves the whole module: its tests stay on one xdist worker.
pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="needs PostgreSQL (TEST_DATABASE_URL)",
    ),
    pytest.mark.xdist_group("production_stack"),
]


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("stack"), "workshops_prodcheck", app_servers=2).start()
    yield {"url": stack.url, "ports": stack.ports, "inbox": stack.inbox}
    stack.stop()


def test_registration_storm_across_two_app_servers(production):
    engine = sa.create_engine(production["url"])
    start = datetime.now(UTC) + timedelta(days=20)
    with engine.begin() as conn:
        workshop_id = conn.execute(
            sa.text(
                "INSERT INTO workshop (title_en, title_zh, description_en,"
                " description_zh, format, status, city, venue,"
                " meeting_url, timezone, starts_at, ends_at, onsite_capacity,"
                " online_capacity, approval_required, confirm_contact,"
                " training_hours, certificate_requires_survey, created_at, updated_at)"
                " VALUES ('Storm', '压力', '', '',"
                " 'onsite', 'published', 'Chongqing', '', '', 'Asia/Shanghai', :s, :e,"
                # No email link: this storm is about seats across servers (tests/test_holds.py: holds).
                " 100, 0, false, false, 8, false, now(), now())"
                " RETURNING id"
            ),
            {"s": start.replace(tzinfo=None), "e": (start + timedelta(hours=8)).replace(tzinfo=None)},
        ).scalar_one()
    attempts = iter(range(500))
    statuses, lock = {}, threading.Lock()

    def client(port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in attempts:
            body = json.dumps(
                {
                    "full_name": f"参加者{n}",
                    "email": f"storm{n}@example.org",
                    "mode": "onsite",
                    "consent": True,
                }
            )
            connection.request(
                "POST",
                f"/api/v1/workshops/{workshop_id}/registrations",
                body,
                {"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            response.read()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1

    threads = [threading.Thread(target=client, args=(production["ports"][n % 2],)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == {201: 500}
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                sa.text("SELECT status, count(*) FROM registration WHERE workshop_id = :w GROUP BY status"),
                {"w": workshop_id},
            ).all()
        )
    assert counts == {"confirmed": 100, "waitlisted": 400}

    # Every registration's email is delivered by the worker, once.
    deadline = time.monotonic() + 90
    while production["inbox"].count() < 500 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)
    recipients = [recipient for recipient, _message_id, _subject in production["inbox"].matching("")]
    assert len(recipients) == 500 and len(set(recipients)) == 500
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*) FROM outbox_message WHERE status <> 'sent'")).scalar() == 0
        )
    engine.dispose()
