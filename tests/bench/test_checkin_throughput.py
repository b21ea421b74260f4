"""Check-ins over HTTP against gunicorn on PostgreSQL, 16 concurrent clients; roster of 10,000."""

import http.client
import json
import os
import random
import statistics
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from tests.bench.conftest import report
from tests.bench.helpers import (
    CpuMeter,
    create_staff,
    exchange,
    insert_people,
    insert_workshop,
    login,
    percentile,
    run_clients,
)

CLIENTS = 16
PEOPLE = 3000


def test_checkin_throughput_and_roster(gunicorn_server, bench_database_url):
    host, port = gunicorn_server.address.split(":")
    port = int(port)
    workshop_id, session_id = insert_workshop(bench_database_url, starts_in=timedelta(minutes=-30))
    tokens = insert_people(bench_database_url, workshop_id, PEOPLE)
    big_workshop, big_session = insert_workshop(bench_database_url, starts_in=timedelta(minutes=-30))
    # Organisers are the people at the door: their every scan also checks their assignment.
    create_staff(
        bench_database_url,
        "bench-checkin@example.org",
        "bench password 1",
        "organiser",
        organiser_of=(workshop_id, big_workshop),
    )
    cookie, csrf = login(host, port, "bench-checkin@example.org", "bench password 1")
    headers = {"Content-Type": "application/json", "Cookie": cookie, "X-CSRFToken": csrf}
    request_headers = "".join(f"{name}: {value}\r\n" for name, value in headers.items())

    # Every ticket is scanned twice (two doors): one ok, one already_checked_in. The second
    # scan comes at a random later moment, as at real doors, rather than always at the same
    # instant (that race has its own test: 20 threads redeem one ticket, tests/test_checkin.py).
    jobs = tokens * 2
    random.Random(4).shuffle(jobs)
    answers = {}

    def send(token):
        body = json.dumps(
            {"session_id": session_id, "token": token, "nonce": uuid.uuid4().hex, "device": "bench"}
        )
        status, data = exchange((host, port), "POST", "/api/v1/checkin", body.encode(), request_headers)
        if status == 200:
            reason = json.loads(data)["reason"]
            answers[reason] = answers.get(reason, 0) + 1
        return status

    with CpuMeter(gunicorn_server.pid) as cpu:
        elapsed, latencies, statuses = run_clients(CLIENTS, jobs, send)
    engine = sa.create_engine(bench_database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT count(*) FROM attendance WHERE session_id = :s"), {"s": session_id}
        ).scalar()
    report("checkins_per_s", round(len(jobs) / elapsed, 1), "req/s")
    report("checkin_p50_ms", round(percentile(latencies, 0.5) * 1000, 1), "ms")
    report("checkin_p99_ms", round(percentile(latencies, 0.99) * 1000, 1), "ms")
    report("duplicate_checkins", rows - PEOPLE, "rows")
    # Where each check-in's CPU went, on the cores the three share (see CpuMeter), and the
    # most those cores could serve at that cost if nothing else ran and none of them idled.
    spent = cpu.per_request_ms(len(jobs))
    for part, ms in spent.items():
        report(f"checkin_cpu_{part}_ms", ms, "ms")
    report("checkin_cpu_bound_per_s", round(os.cpu_count() * 1000 / sum(spent.values()), 1), "req/s")
    assert statuses == {200: len(jobs)}, statuses
    assert answers == {"ok": PEOPLE, "already_checked_in": PEOPLE}, answers
    assert rows == PEOPLE

    # The roster a phone downloads before the doors open, for a 10,000-person workshop.
    insert_people(bench_database_url, big_workshop, 10_000)
    timings = []
    for _ in range(5):
        connection = http.client.HTTPConnection(host, port, timeout=60)
        began = time.perf_counter()
        connection.request(
            "GET", f"/api/v1/workshops/{big_workshop}/roster?session_id={big_session}", headers=headers
        )
        response = connection.getresponse()
        body = response.read()
        timings.append(time.perf_counter() - began)
        connection.close()
        assert response.status == 200
    assert len(json.loads(body)["people"]) == 10_000
    report("roster_10k_ms", round(statistics.median(timings) * 1000, 1), "ms")
    report("roster_10k_kb", round(len(body) / 1024), "KB")
    engine.dispose()
