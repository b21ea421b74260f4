"""Production shape on this machine: two gunicorn app servers on one PostgreSQL, a Celery
worker on Redis, a real SMTP server. A registration storm across both servers confirms
exactly the seats there are, and every email arrives once.

Run by `make test` when TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL are set (as in CI),
and by `make prod-check` on its own.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATABASE = "workshops_prodcheck"

pytestmark = pytest.mark.skipif(
    not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")),
    reason="needs PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    from aiosmtpd.controller import Controller

    base = os.environ["TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    admin = sa.create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    url = base.rsplit("/", 1)[0] + "/" + DATABASE

    class Inbox:
        def __init__(self):
            self.recipients = []

        async def handle_DATA(self, server, session, envelope):
            self.recipients.extend(envelope.rcpt_tos)
            return "250 OK"

    inbox, smtp_port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    redis_url = os.environ["TEST_REDIS_URL"]
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": "prod-check", "DATABASE_URL": url,
           "REDIS_URL": redis_url, "RATELIMIT_ENABLED": "false", "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(smtp_port), "SESSION_COOKIE_SECURE": "false", "PYTHONPATH": str(ROOT)}
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    subprocess.run([str(BIN / "celery"), "-A", "wsgi.celery_app", "purge", "-f"], cwd=ROOT, env=env,
                   capture_output=True)
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen([str(BIN / "gunicorn"), "-c", "python:workshops.gunicorn_conf", "--workers", "2",
                                   "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                                  cwd=ROOT, env=env) for port in ports]
    processes.append(subprocess.Popen([str(BIN / "celery"), "-A", "wsgi.celery_app", "worker", "--concurrency=2",
                                       "--loglevel=warning", "--without-gossip", "--without-mingle"],
                                      cwd=ROOT, env=env))
    for port in ports:
        wait_for_port(port)
    yield {"url": url, "ports": ports, "inbox": inbox}
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=30)
    smtp.stop()


def test_registration_storm_across_two_app_servers(production):
    engine = sa.create_engine(production["url"])
    start = datetime.now(timezone.utc) + timedelta(days=20)
    with engine.begin() as conn:
        workshop_id = conn.execute(sa.text(
            "INSERT INTO workshop (title_en, title_zh, description_en, description_zh, format, status, city, venue,"
            " meeting_url, timezone, starts_at, ends_at, onsite_capacity, online_capacity, approval_required,"
            " training_hours, certificate_requires_survey, created_at, updated_at) VALUES ('Storm', '压力', '', '',"
            " 'onsite', 'published', 'Chongqing', '', '', 'Asia/Shanghai', :s, :e, 100, 0, false, 8, false, now(), now())"
            " RETURNING id"), {"s": start.replace(tzinfo=None), "e": (start + timedelta(hours=8)).replace(tzinfo=None)}
        ).scalar_one()
    attempts = iter(range(500))
    statuses, lock = {}, threading.Lock()

    def client(port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in attempts:
            body = json.dumps({"full_name": f"参加者{n}", "email": f"storm{n}@example.org", "mode": "onsite",
                               "consent": True})
            connection.request("POST", f"/api/v1/workshops/{workshop_id}/registrations", body,
                               {"Content-Type": "application/json"})
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
        counts = dict(conn.execute(sa.text("SELECT status, count(*) FROM registration WHERE workshop_id = :w"
                                           " GROUP BY status"), {"w": workshop_id}).all())
    assert counts == {"confirmed": 100, "waitlisted": 400}

    # Every registration's email is delivered by the worker, once.
    deadline = time.monotonic() + 90
    while len(production["inbox"].recipients) < 500 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)
    recipients = production["inbox"].recipients
    assert len(recipients) == 500 and len(set(recipients)) == 500
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM outbox_message WHERE status <> 'sent'")).scalar() == 0
    engine.dispose()
