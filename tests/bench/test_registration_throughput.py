"""Registrations over HTTP against gunicorn (2 workers) on PostgreSQL, 16 concurrent clients."""

import json

import sqlalchemy as sa

from tests.bench.conftest import report
from tests.bench.helpers import exchange, insert_workshop, percentile, run_clients

CLIENTS = 16
ATTEMPTS = 3200
ONSITE_SEATS = 600
ONLINE_SEATS = 600


def test_registration_throughput(gunicorn_server, bench_database_url):
    host, port = gunicorn_server.address.split(":")
    workshop_id, _session_id = insert_workshop(bench_database_url, onsite=ONSITE_SEATS, online=ONLINE_SEATS)
    path = f"/api/v1/workshops/{workshop_id}/registrations"

    def send(n):
        body = json.dumps(
            {
                "full_name": f"参加者{n}",
                "email": f"bench{n}@example.org",
                "mode": "onsite" if n % 2 else "online",
                "consent": True,
                "organisation": "重庆工程职业技术学院",
                "organisation_type": "tvet",
                "language": "zh",
            }
        )
        status, _content = exchange(
            (host, int(port)), "POST", path, body.encode(), "Content-Type: application/json\r\n"
        )
        return status

    elapsed, latencies, statuses = run_clients(CLIENTS, range(ATTEMPTS), send)

    engine = sa.create_engine(bench_database_url)
    with engine.connect() as conn:
        confirmed = dict(
            conn.execute(
                sa.text(
                    "SELECT mode, count(*) FROM registration WHERE workshop_id = :w AND"
                    " status = 'confirmed' GROUP BY mode"
                ),
                {"w": workshop_id},
            ).all()
        )
        total = conn.execute(
            sa.text("SELECT count(*) FROM registration WHERE workshop_id = :w"), {"w": workshop_id}
        ).scalar()
    engine.dispose()
    overbooked = max(confirmed.get("onsite", 0) - ONSITE_SEATS, 0) + max(
        confirmed.get("online", 0) - ONLINE_SEATS, 0
    )
    report("registrations_per_s", round(ATTEMPTS / elapsed, 1), "req/s")
    report("registration_p50_ms", round(percentile(latencies, 0.5) * 1000, 1), "ms")
    report("registration_p99_ms", round(percentile(latencies, 0.99) * 1000, 1), "ms")
    report("overbooked", overbooked, "seats")
    report("registration_errors", sum(n for status, n in statuses.items() if status != 201), "responses")
    assert statuses == {201: ATTEMPTS}, statuses
    assert total == ATTEMPTS
    assert confirmed == {"onsite": ONSITE_SEATS, "online": ONLINE_SEATS}
