"""Certificates: one warm, a 1,000-person batch (two worker processes) on PostgreSQL, size, peak memory."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import sqlalchemy as sa

from tests.bench.conftest import ROOT, report
from tests.bench.helpers import insert_people, insert_workshop

QUEUE = r"""
import sys
from workshops import create_app
from workshops.extensions import db
from workshops.models import Workshop
from workshops.services import certificates
app = create_app(
    {"CELERY": {"task_always_eager": False, "broker_url": "memory://", "task_ignore_result": True}}
)
with app.app_context():
    print(certificates.queue_batch(db.session.get(Workshop, int(sys.argv[1])), None).id)
"""

# What each of the two worker processes runs (its share of the chunks).
WORKER = r"""
import json, resource, sys
from workshops import create_app
from workshops.services import certificates
app = create_app()
with app.app_context():
    certificates.run_batch(int(sys.argv[1]), int(sys.argv[2]), 2)
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _attend_everyone(url, workshop_id, session_id):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO attendance (registration_id, session_id, checked_in_at, method, mode, device) "
                "SELECT id, :s, now(), 'qr', 'onsite', 'bench' FROM registration WHERE workshop_id = :w"
            ),
            {"s": session_id, "w": workshop_id},
        )
    engine.dispose()


def _batch(url, people):
    workshop_id, session_id = insert_workshop(url, starts_in=timedelta(days=-2))
    insert_people(url, workshop_id, people)
    _attend_everyone(url, workshop_id, session_id)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    job_id = (
        subprocess.run(
            [sys.executable, "-c", QUEUE, str(workshop_id)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    began = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, job_id, str(part)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for part in range(2)
    ]
    peaks = [json.loads(worker.communicate()[0].strip().splitlines()[-1])["peak_mb"] for worker in workers]
    elapsed = time.perf_counter() - began
    assert all(worker.returncode == 0 for worker in workers)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        status, result = conn.execute(
            sa.text("SELECT status, result FROM job WHERE id = :j"), {"j": int(job_id)}
        ).one()
    engine.dispose()
    assert status == "done"
    result = result if isinstance(result, dict) else json.loads(result)
    return workshop_id, {"seconds": elapsed, "issued": result["issued"], "peak_mb": max(peaks)}


def test_certificate_figures(bench_database_url, monkeypatch):
    small_id, small = _batch(bench_database_url, 250)
    big_id, big = _batch(bench_database_url, 1000)
    assert small["issued"] == 250 and big["issued"] == 1000
    report("certificates_1000_s", round(big["seconds"], 1), "s")
    report("certificates_1000_peak_mb", round(big["peak_mb"]), "MB")  # per worker process
    report("certificates_250_peak_mb", round(small["peak_mb"]), "MB")

    monkeypatch.setenv("DATABASE_URL", bench_database_url)
    monkeypatch.setenv("SECRET_KEY", "bench")
    from workshops import create_app
    from workshops.extensions import db
    from workshops.models import Certificate, Registration
    from workshops.services import certificates

    app = create_app()
    with app.test_request_context():
        sizes = db.session.scalars(
            sa.select(sa.func.length(Certificate.pdf))
            .join(Registration)
            .where(Registration.workshop_id == big_id)
        ).all()
        report("certificate_kb", round(max(sizes) / 1024, 1), "KB")
        one = db.session.scalars(
            sa.select(Certificate).join(Registration).where(Registration.workshop_id == small_id).limit(1)
        ).one()
        certificates.render([one])  # warm: fonts loaded once per process
        timings = []
        for _ in range(10):
            began = time.perf_counter()
            certificates.render([one])
            timings.append(time.perf_counter() - began)
        timings.sort()
        report("certificate_ms", round(timings[len(timings) // 2] * 1000, 1), "ms")
        db.session.remove()
        db.engine.dispose()
