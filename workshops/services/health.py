"""What /healthz reports: the database (required), Redis and the worker (reported)."""

from __future__ import annotations

from datetime import timedelta

import redis
from celery import shared_task
from flask import current_app
from sqlalchemy import text

from ..extensions import db
from ..models import Heartbeat
from ..models.base import utcnow

STALE = timedelta(minutes=2)


def beat(name: str) -> None:
    heartbeat = db.session.get(Heartbeat, name) or Heartbeat(name=name)
    heartbeat.at = utcnow()
    db.session.add(heartbeat)
    db.session.commit()


def check() -> dict:
    report = {"database": "ok", "redis": "not used", "worker": "unknown"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any failure means the app cannot serve
        current_app.logger.warning("health: database unavailable: %s", error)
        db.session.rollback()
        report["database"] = "unavailable"
        return report
    url = current_app.config.get("REDIS_URL")
    if url:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
            report["redis"] = "ok"
        except Exception as error:  # reported, not fatal: registrations still work
            current_app.logger.warning("health: redis unavailable: %s", error)
            report["redis"] = "unavailable"
    heartbeat = db.session.get(Heartbeat, "worker")
    if heartbeat is not None:
        report["worker"] = "ok" if utcnow() - heartbeat.at < STALE else "stale"
        report["worker_seen_at"] = heartbeat.at.isoformat()
    return report


@shared_task(name="worker.heartbeat", ignore_result=True)
def heartbeat_task() -> None:
    """Beat: prove a worker is consuming jobs; /healthz reads the time."""
    beat("worker")
