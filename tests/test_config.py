import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port
from workshops.config import ConfigError, load_config
from workshops.demo import STAFF, refuse_demo_logins
from workshops.services import users

# What these tests check (settings and process start-up) does not depend on the database.
pytestmark = pytest.mark.one_database

ROOT = Path(__file__).resolve().parent.parent


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path))


def test_development_generates_a_secret_key_once_and_keeps_it(monkeypatch, tmp_path):
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_config(str(tmp_path))["SECRET_KEY"]
    second = load_config(str(tmp_path))["SECRET_KEY"]
    assert first == second and len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_defaults_need_no_other_server(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "RATELIMIT_STORAGE_URI", "TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'workshops.sqlite'}"
    assert config["CELERY"]["broker_url"].startswith("sqla+sqlite:///")
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["TIMEZONE"] == "Asia/Shanghai"
    assert config["LANGUAGES"] == ["en", "zh"]


def test_environment_configures_production_services(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db/workshops")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 50)
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db/workshops"
    assert config["CELERY"]["broker_url"] == "redis://cache:6379/0"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert config["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_a_secret_key_shorter_than_32_bytes(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 31)
    too_short = "SECRET_KEY is 31 bytes long; APP_ENV=production needs at least 32"
    with pytest.raises(ConfigError, match=too_short):
        load_config(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "密" * 10)  # 30 bytes in UTF-8: bytes are what count
    with pytest.raises(ConfigError, match="30 bytes"):
        load_config(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    assert load_config(str(tmp_path))["SECRET_KEY"] == "s" * 32


def test_development_takes_any_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.setenv("SECRET_KEY", "dev")
    assert load_config(str(tmp_path))["SECRET_KEY"] == "dev"


def test_production_refuses_to_serve_while_a_demo_account_has_its_demo_password(make_app, db):
    production = make_app(APP_ENV="production")
    refuse_demo_logins(production)  # no demo account: nothing to refuse
    email, role, name, password = STAFF[0]
    user = users.create_user(email, role, password, name=name)
    with pytest.raises(ConfigError, match=f"demo passwords: {email}. Disable them"):
        refuse_demo_logins(production)
    refuse_demo_logins(make_app())  # development: that is what the demo is for

    users.set_disabled(user, True)
    refuse_demo_logins(production)
    users.set_disabled(user, False)
    users.change_password(user, password, "a password nobody printed")
    refuse_demo_logins(production)


def test_an_empty_database_is_no_reason_to_refuse(make_app, tmp_path):
    """Before `flask db upgrade` there is no table to look in: the check must not break it."""
    empty = make_app(APP_ENV="production", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite'}")
    refuse_demo_logins(empty)


def test_gunicorn_stops_when_a_demo_account_has_its_demo_password(app, database_url, tmp_path):
    email, role, name, password = STAFF[1]
    users.create_user(email, role, password, name=name)
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "a-production-secret-key-of-48-bytes-or-so-000000",
        "DATABASE_URL": database_url,
        "SESSION_COOKIE_SECURE": "false",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.run(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "python:workshops.gunicorn_conf",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{free_port()}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert server.returncode != 0
    assert f"Demo staff accounts still have their demo passwords: {email}" in server.stderr
    assert "Worker failed to boot" in server.stderr
