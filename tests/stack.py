"""The production shape on this machine, for the load and fault tests: gunicorn app servers on
one PostgreSQL database, a Celery worker (with beat) on Redis, and a real SMTP server.

Every part can be stopped and started again by the tests: the worker is killed with
SIGKILL (with its pool processes), Redis is a private ``redis-server`` on its own port,
and the SMTP server can refuse, hold or accept messages.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


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


def wait_until(condition, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s: {message}")
        time.sleep(0.2)


def fresh_database(name: str) -> str:
    """Create (or re-create) a PostgreSQL database next to TEST_DATABASE_URL's; returns its URL.

    Its name starts with that database's, so two suites on two test databases never meet."""
    base = sa.make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"{base.database}_{name}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


class Inbox:
    """An aiosmtpd handler that records what it accepts: (recipient, Message-ID, subject).

    ``hold_next()`` makes the server keep the next message waiting before it answers, the
    moment a sender is mid-delivery; ``release(accept=False)`` then answers 451 (not
    accepted), as a server does when the connection has gone.
    """

    def __init__(self):
        self.accepted: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._hold = False
        self.holding = threading.Event()
        self._released = threading.Event()
        self._accept_held = True

    def hold_next(self) -> None:
        self.holding.clear()
        self._released.clear()
        self._hold = True

    def release(self, accept: bool) -> None:
        self._accept_held = accept
        self._released.set()

    async def handle_DATA(self, server, session, envelope):
        if self._hold:
            self._hold = False
            self.holding.set()
            while not self._released.is_set():
                await asyncio.sleep(0.05)
            if not self._accept_held:
                return "451 4.3.0 Not accepted, try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)  # decoded headers
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self.accepted.append((recipient, message["Message-ID"], message["Subject"]))
        return "250 OK"

    def count(self, subject_part: str = "") -> int:
        with self._lock:
            return sum(1 for _r, _m, subject in self.accepted if subject_part in subject)

    def matching(self, subject_part: str) -> list[tuple[str, str, str]]:
        with self._lock:
            return [row for row in self.accepted if subject_part in row[2]]


class Stack:
    def __init__(self, tmp: Path, database: str, app_servers: int = 2, **settings: str):
        self.tmp = tmp
        self.url = fresh_database(database)
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.redis_process = None
        self.inbox = Inbox()
        self.smtp_port = free_port()
        self.smtp = None
        self.env = {
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": "stack-secret-of-at-least-32-bytes-for-production",
            "DATABASE_URL": self.url,
            "REDIS_URL": self.redis_url,
            "RATELIMIT_ENABLED": "false",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(self.smtp_port),
            "SESSION_COOKIE_SECURE": "false",
            "PYTHONPATH": str(ROOT),
            **settings,
        }
        self.ports = [free_port() for _ in range(app_servers)]
        self.app_processes: list[subprocess.Popen] = []
        self.worker = None
        self.worker_restarts = 0
        self._supervising = threading.Event()
        self._supervisor = None

    # -- parts ------------------------------------------------------------------------
    def start_redis(self) -> None:
        self.redis_process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.redis_port)

    def stop_redis(self) -> None:
        self.redis_process.kill()
        self.redis_process.wait(timeout=10)

    def start_smtp(self) -> None:
        from aiosmtpd.controller import Controller

        # A controller cannot start twice: a new one on the same port and inbox.
        self.smtp = Controller(self.inbox, hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()

    def stop_smtp(self) -> None:
        self.smtp.stop()
        self.smtp = None

    def start_worker(self) -> None:
        """One worker (two pool processes) with beat, in its own process group, supervised."""
        self._spawn_worker()
        self._supervising.set()
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, daemon=True)
            self._supervisor.start()

    def _spawn_worker(self) -> None:
        self.worker = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "wsgi.celery_app",
                "worker",
                "--concurrency=2",
                "--loglevel=warning",
                "--without-gossip",
                "--without-mingle",
                "--beat",
                "--schedule",
                str(self.tmp / "beat-schedule"),
            ],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
        )

    def _supervise(self) -> None:
        """Restart a worker that exits on its own, as systemd's Restart=always does in production.

        Celery's Redis transport can exit with "Unrecoverable error" when the broker drops
        while a task is being acknowledged (celery/kombu#582 and relatives); production runs
        workers under a supervisor for exactly this, so the stack does too.
        """
        while True:
            self._supervising.wait()
            if self.worker is not None and self.worker.poll() is not None and self._supervising.is_set():
                self.worker_restarts += 1
                self._spawn_worker()
            time.sleep(0.5)

    def kill_worker(self) -> None:
        """SIGKILL to the worker, its pool processes and its beat: nothing gets to clean up.

        The worker stays down (unsupervised) until ``start_worker()``."""
        self._supervising.clear()
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def start_app_servers(self) -> None:
        self.app_processes = [
            subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "-c",
                    "python:workshops.gunicorn_conf",
                    "--workers",
                    "2",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "warning",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=self.env,
            )
            for port in self.ports
        ]
        for port in self.ports:
            wait_for_port(port)

    # -- whole ------------------------------------------------------------------------
    def start(self) -> Stack:
        self.start_redis()
        self.start_smtp()
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )
        self.start_app_servers()
        self.start_worker()
        return self

    def stop(self) -> None:
        for process in self.app_processes:
            process.send_signal(signal.SIGTERM)
        self._supervising.clear()
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
        for process in [*self.app_processes, self.worker]:
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        if self.redis_process is not None and self.redis_process.poll() is None:
            self.stop_redis()
        if self.smtp is not None:
            self.stop_smtp()

    def app(self):
        """An app object in this process on the stack's database and broker (to act as a coordinator)."""
        from workshops import create_app

        return create_app(
            {
                "SQLALCHEMY_DATABASE_URI": self.url,
                "SQLALCHEMY_ENGINE_OPTIONS": {},
                "REDIS_URL": self.redis_url,
                "SERVER_NAME": None,
                "RATELIMIT_ENABLED": False,
                "CELERY": {
                    "broker_url": self.redis_url,
                    "result_backend": self.redis_url,
                    "task_always_eager": False,
                    "broker_connection_retry_on_startup": True,
                },
            }
        )
