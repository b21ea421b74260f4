"""Benchmarks: real servers on loopback, figures printed as `BENCH <name> <value> <unit>`."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres")
BENCH_DB = "workshops_bench"


def report(name: str, value, unit: str) -> None:
    print(f"BENCH {name} {value} {unit}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def bench_database_url():
    """A fresh PostgreSQL database, migrated, for the benchmark run."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {BENCH_DB}"))
    admin.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    return url


@pytest.fixture(scope="session")
def gunicorn_server(bench_database_url):
    """The app under gunicorn (2 workers, the repository's config) on PostgreSQL, Redis as broker."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "bench-secret",
        "DATABASE_URL": bench_database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "RATELIMIT_ENABLED": "false",  # every client comes from 127.0.0.1
        "BASE_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "python:workshops.gunicorn_conf", "--workers", os.environ.get("BENCH_WORKERS", "2"),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    yield f"127.0.0.1:{port}", env
    process.terminate()
    process.wait(timeout=20)
