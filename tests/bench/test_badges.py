"""Badges: 500 onsite people to one PDF, by the background job, on PostgreSQL."""

import json
import os
import subprocess
import sys

import sqlalchemy as sa

from tests.bench.conftest import ROOT, report
from tests.bench.helpers import insert_people, insert_workshop

QUEUE = r"""
import sys
from workshops import create_app
from workshops.extensions import db
from workshops.models import Workshop
from workshops.services import badges
app = create_app(
    {"CELERY": {"task_always_eager": False, "broker_url": "memory://", "task_ignore_result": True}}
)
with app.app_context():
    print(badges.queue_badges(db.session.get(Workshop, int(sys.argv[1])), None).id)
"""

# The worker's run, timed from the task's start: the first PDF of the process loads the font.
WORKER = r"""
import json, resource, sys, time
from workshops import create_app
from workshops.services import badges
app = create_app()
with app.test_request_context():
    began = time.perf_counter()
    badges.run_badges(int(sys.argv[1]))
    seconds = time.perf_counter() - began
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_badges_500(bench_database_url):
    url = bench_database_url
    workshop_id, _session_id = insert_workshop(url)
    insert_people(url, workshop_id, 750)  # two in three onsite: 500
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    run = dict(cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    job_id = subprocess.run([sys.executable, "-c", QUEUE, str(workshop_id)], **run).stdout.split()[-1]
    figures = json.loads(
        subprocess.run([sys.executable, "-c", WORKER, job_id], **run).stdout.splitlines()[-1]
    )
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        status, done, size = conn.execute(
            sa.text(
                "SELECT job.status, job.done, length(job_file.data) FROM job "
                "JOIN job_file ON job_file.job_id = job.id WHERE job.id = :j AND job_file.name = 'badges.pdf'"
            ),
            {"j": int(job_id)},
        ).one()
    engine.dispose()
    assert status == "done" and done == 500
    report("badges_500_s", round(figures["seconds"], 1), "s")
    report("badges_500_peak_mb", round(figures["peak_mb"]), "MB")
    report("badges_500_kb", round(size / 1024), "KB")
