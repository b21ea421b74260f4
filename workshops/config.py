"""Settings, read from environment variables in this one place.

Every setting has a default that works on a laptop (SQLite in ``instance/``, no
other server). Production sets ``APP_ENV=production`` and must then provide a
``SECRET_KEY`` of 32 bytes or more; the app refuses to start without one rather
than invent a key that differs between app servers.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


API_DESCRIPTION = """\
The JSON API of the workshops system. Public: the workshop list, registering, certificate
verification. Everything else is answered for whoever is signed in, as the pages are: staff
through `/login`, a volunteer through their check-in link (`/checkin/v/<token>`), both by the
`session` cookie. Requests that change something (POST, DELETE) also carry the page's CSRF token
in the `X-CSRFToken` header. Refusals: 401 (a staff endpoint, not signed in as staff), 403 (not
allowed here: signed in for another workshop, or a check-in endpoint without a sign-in or link).
Messages follow the `Accept-Language` header (English or Simplified Chinese).
"""


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


# Sessions and signed links are as strong as the key that signs them: 32 bytes (256 bits).
MIN_SECRET_KEY_BYTES = 32


def _proxies() -> int:
    """PROXY_FIX: the number of trusted proxies; "true"/"yes"/"on" is one, "false"/empty none."""
    value = (os.environ.get("PROXY_FIX") or "").strip().lower()
    if value in {"", "0", "false", "no", "off"}:
        return 0
    if value in {"true", "yes", "on"}:
        return 1
    if value.isascii() and value.isdigit() and int(value) <= 5:
        return int(value)
    raise ConfigError(f"PROXY_FIX={value[:20]!r}: the number of reverse proxies in front (1 for one nginx).")


def _secret_key(instance_path: Path, production: bool) -> str:
    key = os.environ.get("SECRET_KEY")
    if key and production and len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"SECRET_KEY is {len(key.encode())} bytes long; APP_ENV=production needs at least "
            f"{MIN_SECRET_KEY_BYTES}, or sessions and signed links can be forged. Make one with: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if key:
        return key
    if production:
        raise ConfigError(
            "SECRET_KEY must be set when APP_ENV=production: every app server "
            "needs the same key to read sessions and signed links."
        )
    # Development: generate once and keep it, so sessions survive restarts.
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


# The message kinds a text can be sent for (services.sms.SMS_KINDS): SMS_TEMPLATE_<KIND> is the
# provider's template code for it (in Chinese), SMS_TEMPLATE_<KIND>_EN an English one.
SMS_TEMPLATE_KINDS = (
    "CONTACT_CHECK",
    "CONFIRMATION",
    "PROMOTED",
    "SURVEY_INVITATION",
    "SURVEY_REMINDER",
    "CERTIFICATE_READY",
    "REMINDER",
    "SESSION_REMINDER",
    "WORKSHOP_CHANGED",
    "WORKSHOP_CANCELLED",
)
SMS_PROVIDERS = ("", "log", "aliyun")


def _sms(instance_path: Path, production: bool) -> dict:
    """Text messages: off unless SMS_PROVIDER says; in development they go to a log file."""
    provider = os.environ.get("SMS_PROVIDER")
    if provider is None:
        provider = "" if production else "log"
    provider = provider.strip().lower()
    if provider not in SMS_PROVIDERS:
        raise ConfigError(
            f"SMS_PROVIDER={provider!r}: use aliyun, log, or leave it empty (no text messages)."
        )
    templates = {
        kind.lower(): {
            "zh": os.environ.get(f"SMS_TEMPLATE_{kind}", "").strip(),
            "en": os.environ.get(f"SMS_TEMPLATE_{kind}_EN", "").strip(),
        }
        for kind in SMS_TEMPLATE_KINDS
    }
    settings = {
        "SMS_PROVIDER": provider,
        "SMS_ACCESS_KEY_ID": os.environ.get("SMS_ACCESS_KEY_ID", ""),
        "SMS_ACCESS_KEY_SECRET": os.environ.get("SMS_ACCESS_KEY_SECRET", ""),
        "SMS_SIGN_NAME": os.environ.get("SMS_SIGN_NAME", ""),
        "SMS_REGION": os.environ.get("SMS_REGION", "cn-hangzhou"),
        "SMS_ENDPOINT": os.environ.get("SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/"),
        "SMS_TEMPLATES": templates,
        "SMS_LOG_FILE": os.environ.get("SMS_LOG_FILE") or str(instance_path / "sms.log"),
    }
    if provider == "aliyun":
        missing = [
            name
            for name in ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME")
            if not settings[name].strip()
        ]
        if missing:
            raise ConfigError(f"SMS_PROVIDER=aliyun needs {', '.join(missing)}.")
        if not any(codes["zh"] or codes["en"] for codes in templates.values()):
            raise ConfigError(
                "SMS_PROVIDER=aliyun but no SMS_TEMPLATE_<KIND> is set: no text message could be sent."
            )
    return settings


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_path / 'workshops.sqlite'}"
    # Heroku-style URLs name the dialect "postgres"; SQLAlchemy wants psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(url: str) -> dict:
    """Connection settings for the database the app ends up using."""
    if url.startswith("sqlite"):
        # Writers queue on SQLite's lock instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    return {
        "pool_pre_ping": _bool("DB_POOL_PRE_PING", False),
        "pool_recycle": 1800,
        "pool_size": _int("DB_POOL_SIZE", 10),
        "max_overflow": 20,
    }


def load_config(instance_path: str) -> dict:
    """Return the app's settings from the environment (see README for the table)."""
    instance = Path(instance_path)
    env = os.environ.get("APP_ENV", "development")
    production = env == "production"
    database_url = _database_url(instance)
    languages = [code.strip() for code in os.environ.get("LANGUAGES", "en,zh").split(",") if code.strip()]
    redis_url = os.environ.get("REDIS_URL", "")
    broker_url = (
        os.environ.get("CELERY_BROKER_URL")
        or redis_url
        or (f"sqla+sqlite:///{instance / 'celery-broker.sqlite'}")
    )
    return {
        "APP_ENV": env,
        "SECRET_KEY": _secret_key(instance, production),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "TIMEZONE": os.environ.get("TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": languages,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        # Mail (Flask-Mail)
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "workshops@localhost"),
        "MAIL_SUPPRESS_SEND": _bool("MAIL_SUPPRESS_SEND", False),
        # Text messages (services/sms.py)
        **_sms(instance, production),
        # Background jobs and rate limits
        "REDIS_URL": redis_url,
        "CELERY": {
            "broker_url": broker_url,
            "result_backend": os.environ.get("CELERY_RESULT_BACKEND")
            or (redis_url or f"db+sqlite:///{instance / 'celery-results.sqlite'}"),
            "task_ignore_result": True,
            "task_always_eager": _bool("CELERY_TASK_ALWAYS_EAGER", False),
            "broker_connection_retry_on_startup": True,
            # A request that queues work must not hang while the broker is down: give up
            # quickly, the rows wait in the database and beat's sweeps pick them up.
            "task_publish_retry_policy": {
                "max_retries": 1,
                "interval_start": 0,
                "interval_step": 0.2,
                "interval_max": 0.2,
            },
            "broker_connection_timeout": 1,
        },
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Redis down must not take the site down: limits fall back to this process's memory.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # A queued or running job that has not moved for this long lost its worker and is
        # handed out again (a 50-certificate chunk takes seconds, so minutes is ample).
        "JOB_LEASE_SECONDS": _int("JOB_LEASE_SECONDS", 300),
        "JOB_SWEEP_SECONDS": _int("JOB_SWEEP_SECONDS", 60),
        # How often beat looks for reminders that are due (services.reminders): every few minutes.
        "REMINDER_SWEEP_SECONDS": _int("REMINDER_SWEEP_SECONDS", 300),
        # Personal data of workshops that ended longer ago than this is anonymised by beat.
        "DATA_RETENTION_DAYS": _int("DATA_RETENTION_DAYS", 730),
        # An import preview holds its file's people: unconfirmed this long, beat removes it.
        "IMPORT_PREVIEW_HOURS": _int("IMPORT_PREVIEW_HOURS", 24),
        # Downloads larger than this are made by a background job (services.downloads). Measured
        # (tests/bench/test_exports.py, two busy cores): 2,000 rows take 0.4-0.7 s, 10,000 two to three.
        "EXPORT_INSTANT_ROWS": _int("EXPORT_INSTANT_ROWS", 2000),
        # A programme report PDF over this many registrations (its workshops') is made by a job; its
        # figures are counted by the database, so it grows slowly: 12,000 took 0.6-0.9 s.
        "REPORT_PDF_INSTANT_REGISTRATIONS": _int("REPORT_PDF_INSTANT_REGISTRATIONS", 15000),
        # ... or over this many workshops: each adds its rows, chart bars and comparison line to
        # the layout (40 workshops took 2.8 s, BENCH programme_report_pdf_s).
        "REPORT_PDF_INSTANT_WORKSHOPS": _int("REPORT_PDF_INSTANT_WORKSHOPS", 10),
        # A file made by a download job holds people: kept this long for its download, then dropped.
        "EXPORT_KEEP_HOURS": _int("EXPORT_KEEP_HOURS", 24),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Generous: a factory hall or college shares one address behind NAT.
        "REGISTRATION_RATE_LIMIT": os.environ.get("REGISTRATION_RATE_LIMIT", "30 per minute;300 per hour"),
        # Check-ins by name (no ticket seen) one volunteer's link may make in an hour.
        "LINK_SEARCH_CHECKINS_PER_HOUR": _int("LINK_SEARCH_CHECKINS_PER_HOUR", 30),
        "LINK_SEARCH_CHECKIN_RATE_LIMIT": os.environ.get("LINK_SEARCH_CHECKIN_RATE_LIMIT", "10 per minute"),
        # Per client address and workshop, the form and the API together (a seat filler's budget).
        "REGISTRATION_RATE_LIMIT_PER_WORKSHOP": os.environ.get(
            "REGISTRATION_RATE_LIMIT_PER_WORKSHOP", "10 per hour"
        ),
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", 12),
        "OUTBOX_RETRY_SECONDS": _int("OUTBOX_RETRY_SECONDS", 30),
        # Tasks a certificate batch is split into (one per worker process is right).
        "CERTIFICATE_WORKERS": _int("CERTIFICATE_WORKERS", 2),
        # How many reverse proxies stand in front (1 = one nginx); 0, the default even in
        # production, trusts no X-Forwarded-* header: reached directly, a client could name any
        # address in X-Forwarded-For and so escape the rate limits.
        "PROXY_FIX": _proxies(),
        # Cookies: secure by default in production (served over HTTPS there).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_BYTES", 5 * 1024 * 1024),
        # flask-smorest: the OpenAPI document is generated, served at /api/v1/openapi.json
        "API_TITLE": "workshops API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {"description": API_DESCRIPTION},
            "components": {
                "securitySchemes": {
                    "signedIn": {
                        "type": "apiKey",
                        "in": "cookie",
                        "name": "session",
                        "description": "The session cookie of a staff sign-in (/login) or of a volunteer's "
                        "check-in link (/checkin/v/<token>).",
                    },
                    "csrf": {
                        "type": "apiKey",
                        "in": "header",
                        "name": "X-CSRFToken",
                        "description": "Required on POST and DELETE: the page's CSRF token.",
                    },
                }
            },
        },
    }
