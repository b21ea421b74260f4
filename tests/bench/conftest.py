"""Benchmarks: real servers on loopback, figures printed as `BENCH <name> <value> <unit>`."""

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa

from tests.stack import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres")
BENCH_DB = "workshops_bench"


def report(name: str, value, unit: str) -> None:
    print(f"BENCH {name} {value} {unit}", flush=True)


def _admin(statement: str) -> None:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(statement))
    admin.dispose()


def migrated_database(name: str) -> str:
    """A fresh PostgreSQL database ``name``, migrated by the app's own command; returns its URL."""
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin(f"CREATE DATABASE {name}")
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return url


def drop_database(name: str) -> None:
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def bench_database_url():
    """A fresh PostgreSQL database, migrated, for the benchmark run."""
    return migrated_database(BENCH_DB)


def start_gunicorn(database_url: str) -> tuple[subprocess.Popen, str, dict]:
    """The app under gunicorn (BENCH_WORKERS workers, default 2; the repository's config) on
    PostgreSQL, Redis as broker. Returns the process, its address and its environment."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "bench-secret-" + "k" * 32,  # production needs 32 bytes or more
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "RATELIMIT_ENABLED": "false",  # every client comes from 127.0.0.1
        "BASE_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-c",
            "python:workshops.gunicorn_conf",
            "--workers",
            os.environ.get("BENCH_WORKERS", "2"),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    wait_for_port(port)
    return process, f"127.0.0.1:{port}", env


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=20)


class Server(NamedTuple):
    address: str  # host:port
    env: dict
    pid: int  # gunicorn's master; its workers are its children


@pytest.fixture(scope="session")
def gunicorn_server(bench_database_url):
    process, address, env = start_gunicorn(bench_database_url)
    yield Server(address, env, process.pid)
    _stop(process)


@pytest.fixture(scope="session")
def two_gunicorn_servers(bench_database_url):
    """Two app servers on the same database, as in production behind a load balancer."""
    started = [start_gunicorn(bench_database_url) for _ in range(2)]
    yield [address for _process, address, _env in started]
    for process, _address, _env in started:
        _stop(process)
