"""Badges: 500 onsite people to one PDF, end to end, as production makes them.

A real Celery worker with two pool processes (production's ``--concurrency=2`` on 2 cores, as
tests/stack.py starts it) on its own redis-server, PostgreSQL; the coordinator (this process)
queues the job with ``queue_badges`` and waits until the job is done. The clock runs from the
coordinator's request to the finished job: both parts, the join, the queue in between.

The first job meets worker processes that have made no PDF yet (the font is loaded on the first
one, about 1.5 s each, in parallel): that is ``badges_500_s``, what a coordinator waits for
after a worker restart; a second job on the same processes is ``badges_500_warm_s``, and the
CPU time that both pool processes spent on it ``badges_500_worker_cpu_s``.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa

from tests.bench.conftest import BIN, ROOT, drop_database, migrated_database, report
from tests.bench.helpers import insert_people, insert_workshop
from tests.stack import free_port, wait_for_port

# Its own database: the shared benchmark database is dropped by every other benchmark's start.
DATABASE = "workshops_bench_badges"


def _pool_processes(parent: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pids: list[int]) -> float:
    """User and system time the processes have used (load on the machine does not inflate it)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _made(app, workshop_id: int, seconds: float = 180) -> tuple[float, int, int]:
    """Queue the workshop's badges as a coordinator does; wait for the job. (seconds, done, size)"""
    from workshops.extensions import db
    from workshops.models import Job, JobFile, JobStatus, Workshop
    from workshops.services import badges

    with app.test_request_context():
        began = time.perf_counter()
        job_id = badges.queue_badges(db.session.get_one(Workshop, workshop_id), None).id
        while True:
            db.session.rollback()
            job = db.session.get_one(Job, job_id, populate_existing=True)
            if job.status == JobStatus.DONE:
                break
            assert job.status in (JobStatus.QUEUED, JobStatus.RUNNING), job.status
            assert time.perf_counter() - began < seconds, f"job {job_id} at {job.done}/{job.total}"
            time.sleep(0.05)
        elapsed = time.perf_counter() - began
        size = db.session.scalar(
            sa.select(sa.func.length(JobFile.data)).where(
                JobFile.job_id == job_id, JobFile.name == badges.MERGED
            )
        )
        return elapsed, job.done, int(size or 0)


def test_badges_500(tmp_path):
    from workshops import create_app

    url = migrated_database(DATABASE)
    workshop_id, _session_id = insert_workshop(url)
    insert_people(url, workshop_id, 750)  # two in three onsite: 500
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    redis = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(redis_port), "--bind", "127.0.0.1"]
        + ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    worker = None
    try:
        wait_for_port(redis_port)
        env = {
            **os.environ,
            "APP_ENV": "production",
            "SECRET_KEY": "bench-secret-" + "k" * 32,
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "PYTHONPATH": str(ROOT),
        }
        worker = subprocess.Popen(
            [str(BIN / "celery"), "-A", "wsgi.celery_app", "worker", "--concurrency=2"]
            + ["--loglevel=warning", "--without-gossip", "--without-mingle"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SQLALCHEMY_ENGINE_OPTIONS": {},
                "REDIS_URL": redis_url,
                "SERVER_NAME": None,
                "CELERY": {"broker_url": redis_url, "task_always_eager": False, "task_ignore_result": True},
            }
        )
        celery = app.extensions["celery"]
        deadline = time.monotonic() + 60
        while not celery.control.ping(timeout=0.5):  # the worker is up and consuming
            assert time.monotonic() < deadline, "the worker did not start"
        pool = _pool_processes(worker.pid)
        cold, done, size = _made(app, workshop_id)
        cpu_before = _cpu_seconds(pool)
        warm, _done, _size = _made(app, workshop_id)
        cpu = _cpu_seconds(pool) - cpu_before
        peak = max(_peak_mb(pid) for pid in pool)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
        redis.kill()
        redis.wait(timeout=10)
    drop_database(DATABASE)
    assert done == 500 and size > 0
    report("badges_500_s", round(cold, 1), "s")
    report("badges_500_warm_s", round(warm, 1), "s")
    # Both pool processes' CPU time for the warm job: on a quiet machine, half of it is about
    # the least the job's wall time can be with two parts (this machine is often shared).
    report("badges_500_worker_cpu_s", round(cpu, 1), "s")
    report("badges_500_peak_mb", round(peak), "MB")  # the larger of the two pool processes
    report("badges_500_kb", round(size / 1024), "KB")
