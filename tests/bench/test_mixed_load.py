"""A morning's mix against two gunicorn app servers on one PostgreSQL: 80 % page views (the
workshop list, a workshop page, a ticket page), 15 % registrations, 5 % check-ins; 16 clients."""

import json
import random
import uuid
from datetime import timedelta

import sqlalchemy as sa

from tests.bench.conftest import report
from tests.bench.helpers import (
    create_staff,
    exchange,
    insert_people,
    insert_workshop,
    login,
    percentile,
    run_clients,
)

CLIENTS = 16
REQUESTS = 4000


def test_mixed_load_on_two_app_servers(two_gunicorn_servers, bench_database_url):
    servers = [tuple(address.split(":")) for address in two_gunicorn_servers]
    workshop_id, session_id = insert_workshop(bench_database_url, starts_in=timedelta(minutes=-30), hours=8)
    open_workshop, _open_session = insert_workshop(bench_database_url, onsite=100000, online=100000)
    tokens = insert_people(bench_database_url, workshop_id, REQUESTS // 20 + 50)
    engine = sa.create_engine(bench_database_url)
    with engine.connect() as conn:
        manage_tokens = (
            conn.execute(
                sa.text("SELECT manage_token FROM registration WHERE workshop_id = :w LIMIT 200"),
                {"w": workshop_id},
            )
            .scalars()
            .all()
        )
    create_staff(bench_database_url, "bench-mixed@example.org", "bench password 1")
    host, port = servers[0]
    cookie, csrf = login(host, int(port), "bench-mixed@example.org", "bench password 1")
    staff = f"Content-Type: application/json\r\nCookie: {cookie}\r\nX-CSRFToken: {csrf}\r\n"

    rng = random.Random(20261122)
    jobs, scans = [], iter(tokens)
    for n in range(REQUESTS):
        roll = rng.random()
        if roll < 0.05:
            body = {
                "session_id": session_id,
                "token": next(scans),
                "nonce": uuid.uuid4().hex,
                "device": "door",
            }
            job = ("POST", "/api/v1/checkin", json.dumps(body).encode(), staff, 200)
        elif roll < 0.20:
            body = {
                "full_name": f"参加者{n}",
                "email": f"mixed{n}@example.org",
                "mode": "onsite" if n % 2 else "online",
                "consent": True,
                "organisation": "重庆工程职业技术学院",
                "organisation_type": "tvet",
                "language": "zh",
            }
            job = (
                "POST",
                f"/api/v1/workshops/{open_workshop}/registrations",
                json.dumps(body).encode(),
                "Content-Type: application/json\r\n",
                201,
            )
        elif roll < 0.50:
            job = ("GET", "/?lang=zh", b"", "", 200)
        elif roll < 0.85:
            job = ("GET", f"/workshops/{open_workshop}", b"", "", 200)
        else:
            job = ("GET", f"/r/{rng.choice(manage_tokens)}", b"", "", 200)
        jobs.append((servers[n % 2], job))

    unexpected = []

    def send(item):
        (host, port), (method, path, body, headers, expected) = item
        status, _content = exchange((host, int(port)), method, path, body, headers)
        if status != expected:
            unexpected.append((method, path, status))
        return status

    elapsed, latencies, statuses = run_clients(CLIENTS, jobs, send)
    report("mixed_rps", round(len(jobs) / elapsed, 1), "req/s")
    report("mixed_p50_ms", round(percentile(latencies, 0.5) * 1000, 1), "ms")
    report("mixed_p99_ms", round(percentile(latencies, 0.99) * 1000, 1), "ms")
    report("mixed_errors", len(unexpected), "responses")
    assert unexpected == [], unexpected[:10]
    with engine.connect() as conn:
        checked_in = conn.execute(
            sa.text("SELECT count(*) FROM attendance WHERE session_id = :s"), {"s": session_id}
        ).scalar()
    assert checked_in == sum(1 for _server, job in jobs if job[1] == "/api/v1/checkin")
    engine.dispose()
