"""Fixtures: the app on SQLite, and again on PostgreSQL when TEST_DATABASE_URL is set.

Every test that uses ``app`` runs once per database, except those marked ``one_database``
or ``e2e`` (see ``pytest_collection_modifyitems``). The schema is built by the
migrations (not ``create_all``), so the tests exercise what production runs.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import g

os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.pop("APP_ENV", None)


def _own_databases_per_worker() -> None:
    """Under pytest-xdist (`make test` runs two workers) each worker gets its own PostgreSQL
    database and Redis database: the fixtures drop and rebuild a whole schema, and tests count
    what Redis holds. Databases made next to TEST_DATABASE_URL's (tests/stack.py) follow."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ...
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not worker or os.environ.get("TESTS_WORKER_DATABASES") == worker:
        return  # not under xdist, or done already (this module is also imported by name)
    os.environ["TESTS_WORKER_DATABASES"] = worker
    if url.startswith("postgresql"):
        base = sa.make_url(url).set(drivername="postgresql+psycopg")
        name = f"{base.database}_{worker}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
                if not exists:
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.OperationalError:
            return  # unreachable: the database_url fixture says so in words
        finally:
            admin.dispose()
        os.environ["TEST_DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
    redis = os.environ.get("TEST_REDIS_URL")
    if redis:
        number = int(redis.rsplit("/", 1)[1] or 0)
        index = int(worker.removeprefix("gw"))
        os.environ["TEST_REDIS_URL"] = f"{redis.rsplit('/', 1)[0]}/{(number - index) % 16}"


_own_databases_per_worker()

from workshops import create_app  # noqa: E402
from workshops.extensions import db as _db  # noqa: E402
from workshops.models import Role, Session, User, Workshop, WorkshopFormat, WorkshopStatus  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "correct horse battery"

DATABASES = ["sqlite", "postgresql"]

# Benchmarks are measured by `make bench`, never run as part of the suite.
collect_ignore = [] if os.environ.get("WORKSHOPS_BENCH") else ["bench"]


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "error")
    # Each test's app has its own engine, disposed after the test; a connection a worker or
    # server thread still held then is closed by the garbage collector later, in whichever test
    # it runs, which then failed for it (seen once in 1,400 tests, on PostgreSQL). It is the
    # suite's many engines, not the app's (one engine per process): tolerate exactly that one.
    config.addinivalue_line(
        "filterwarnings",
        r"ignore:<psycopg\.Connection object at .*> was deleted while still open:ResourceWarning",
    )
    config.addinivalue_line("markers", "e2e: drives a real browser (runs on one database)")
    config.addinivalue_line(
        "markers", "one_database: what the test checks does not depend on the database (runs on one)"
    )


def pytest_collection_modifyitems(config, items):
    """Tests whose subject is not the database (a browser, a PDF's fonts, a provider's protocol,
    response headers, the API fuzzer) run once: on PostgreSQL, production's database, when it
    is configured, else on SQLite. The SQL they reach is the same the rest of the suite runs on
    both; running them twice cost a minute of `make test` and found nothing the first run did not.
    """
    keep = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    chosen, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        once = item.get_closest_marker("one_database") or item.get_closest_marker("e2e")
        if once and params.get("database_url", keep) != keep:
            dropped.append(item)
        else:
            chosen.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = chosen


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not")
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def base_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "BASE_URL": "http://workshops.test",
        "SERVER_NAME": None,
        "MAIL_SUPPRESS_SEND": True,
        "MAIL_DEFAULT_SENDER": "workshops@example.org",
        # No text messages unless a test asks for them (tests/test_sms.py): most tests count
        # a person's outbox rows, and their applicants have mobiles.
        "SMS_PROVIDER": "",
        # Jobs run in the caller in most tests; test_outbox runs a real worker.
        "CELERY": {
            "broker_url": "memory://",
            "task_always_eager": True,
            "task_ignore_result": True,
            "result_backend": "cache+memory://",
            "task_eager_propagates": True,
        },
    }


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request, tmp_path_factory):
    """A migrated, empty database of each kind, built once per test session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    else:
        url = _postgres_url()
        if url is None:
            pytest.skip("PostgreSQL run: set TEST_DATABASE_URL")
        engine = sa.create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        except sa.exc.OperationalError as error:
            if os.environ.get("REQUIRE_POSTGRES"):
                pytest.fail(f"PostgreSQL unreachable: {error}")
            pytest.skip(f"PostgreSQL unreachable: {error}")
        finally:
            engine.dispose()
    app = create_app(base_config(url))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        _db.engine.dispose()
    return url


@pytest.fixture
def app(database_url):
    app = create_app(base_config(database_url))

    # The test keeps one app context open so it can use db.session; requests made
    # by the test client share it. Forget per-request state (signed-in user,
    # chosen locale) after each request, as a fresh context in production would.
    @app.teardown_request
    def forget_request_state(_exc):
        for key in list(g):
            g.pop(key)

    with app.app_context():
        yield app
        _db.session.remove()
        _empty_tables()
        _db.engine.dispose()


def _empty_tables():
    """Empty every table for the next test, ids starting again at 1 as on a fresh database.

    On PostgreSQL, DELETE and restarting the sequences a test used (inserts rolled back too)
    cost a few milliseconds; one TRUNCATE of all ~50 tables cost about 230 ms a test (each
    truncated table gets new files), a sixth of the suite's time.
    """
    tables = list(reversed(_db.metadata.sorted_tables))  # children before their parents
    with _db.engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())
        if conn.dialect.name == "postgresql":
            used = conn.scalars(
                sa.text(
                    "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename)"
                    " FROM pg_sequences WHERE last_value IS NOT NULL"
                )
            ).all()
            for sequence in used:
                conn.execute(sa.text(f"ALTER SEQUENCE {sequence} RESTART"))


@pytest.fixture
def make_app(database_url):
    """Another app on the same database with some settings changed (rate limits, CSRF)."""
    made = []

    def make(**overrides):
        other = create_app({**base_config(database_url), **overrides})
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    def make(role: Role | str = Role.COORDINATOR, email: str | None = None) -> User:
        role = Role(role)
        user = User(
            email=email or f"{role.value}-{os.urandom(3).hex()}@example.org",
            role=role,
            name=role.value.title(),
        )
        user.set_password(PASSWORD)
        _db.session.add(user)
        _db.session.commit()
        return user

    return make


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user: User, password: str = PASSWORD):
        return self.client.post("/login", data={"email": user.email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


def shanghai(year, month, day, hour=9, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def make_workshop(app):
    """A published two-day hybrid workshop next year, with two sessions, unless told otherwise."""

    def make(**overrides) -> Workshop:
        year = datetime.now(SHANGHAI).year + 1
        start = shanghai(year, 3, 31, 9)
        values = dict(
            title_en="Capacity Building Workshop on Quality Apprenticeship",
            title_zh="高质量学徒制能力建设研讨会",
            format=WorkshopFormat.HYBRID,
            status=WorkshopStatus.PUBLISHED,
            city="Chongqing",
            venue="Training Centre",
            starts_at=start,
            ends_at=start + timedelta(days=1, hours=8),
            onsite_capacity=40,
            online_capacity=200,
            training_hours=Decimal("12"),
            # Off here: most tests are about what follows the email link (and register through
            # the form or the API in one step). Tests of the holds ask for confirm_contact=True,
            # which is what a new workshop has (model and staff form default).
            confirm_contact=False,
        )
        with_sessions = overrides.pop("with_sessions", True)
        values.update(overrides)
        workshop = Workshop(**values)
        if with_sessions:
            first = values["starts_at"]
            workshop.sessions = [
                Session(
                    title_en="Day 1", title_zh="第一天", starts_at=first, ends_at=first + timedelta(hours=8)
                ),
                Session(
                    title_en="Day 2",
                    title_zh="第二天",
                    starts_at=first + timedelta(days=1),
                    ends_at=first + timedelta(days=1, hours=8),
                ),
            ]
        _db.session.add(workshop)
        _db.session.commit()
        return workshop

    return make


@pytest.fixture
def real_worker(app):
    """A real Celery worker thread consuming from an in-memory broker (not eager): the tasks
    go through the broker as in production (tests/test_outbox.py, tests/test_downloads.py)."""
    from celery.contrib.testing.worker import start_worker

    celery_app = app.extensions["celery"]
    celery_app.conf.update(task_always_eager=False, broker_url="memory://", result_backend="cache+memory://")
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        yield celery_app
    celery_app.conf.task_always_eager = True


class Mailbox:
    """Messages received by a real SMTP server (aiosmtpd) on a free local port."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def mailbox(app, smtp_port):
    """A real SMTP server; the app sends to it (start it late to simulate an outage)."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    box.controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port, MAIL_SUPPRESS_SEND=False)
    app.extensions["mail"].server = "127.0.0.1"
    app.extensions["mail"].port = smtp_port
    app.extensions["mail"].suppress = False
    box.start = box.controller.start
    box.stop = box.controller.stop
    yield box
    try:
        box.controller.stop()
    except AssertionError:  # never started or already stopped
        pass
