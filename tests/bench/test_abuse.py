"""What an abuser gets for their effort (issue #16), on PostgreSQL:

- sign-in: how long the app takes to refuse a wrong password for a real account and for an address
  that opens no account (the two must not tell each other apart), interleaved medians;
- a 2.5 MB-class XLSX whose every cell points at one long shared string: how long until it is
  refused, and the peak memory of the process that read it (a fresh one, as a worker would).
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time

import pytest

from tests.bench.conftest import ROOT, drop_database, migrated_database, report
from tests.bench.helpers import create_staff
from tests.test_hardening import shared_strings_bomb

DATABASE = "workshops_bench_abuse"
TRIES = 15

READ_BOMB = r"""
import json, sys, time
from pathlib import Path
from workshops import create_app
from workshops.services.errors import InvalidInput
from workshops.services.spreadsheets import read_table

Path("/proc/self/clear_refs").write_text("5")  # VmHWM from here on: this process's own peak

def peak_mb():
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024

app = create_app()
data = open(sys.argv[1], "rb").read()
with app.app_context():
    baseline = peak_mb()
    began = time.perf_counter()
    try:
        read_table("list.xlsx", data)
        refused = False
    except InvalidInput:
        refused = True
    print(json.dumps({"seconds": time.perf_counter() - began, "refused": refused,
                      "baseline_mb": baseline, "peak_mb": peak_mb()}))
"""


@pytest.fixture(scope="module")
def database_url():
    yield migrated_database(DATABASE)
    drop_database(DATABASE)


def test_sign_in_refusals_take_the_same_time(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "bench-" + "k" * 32)
    from workshops import create_app
    from workshops.extensions import db
    from workshops.models import SignInThrottle

    create_staff(database_url, "coordinator@example.org", "the real password")
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    with app.app_context():
        for index in range(TRIES + 1):
            pair = (("known", "coordinator@example.org"), ("unknown", f"nobody{index}@example.org"))
            for kind, email in pair:
                began = time.perf_counter()
                response = client.post("/login", data={"email": email, "password": "a wrong one"})
                elapsed = time.perf_counter() - began
                assert response.status_code == 200  # the form again, with its message
                if index:  # the first round warms templates and the dummy hash
                    timings[kind].append(elapsed)
                db.session.query(SignInThrottle).delete()  # no lockout in the way of the next try
                db.session.commit()
    known, unknown = (statistics.median(timings[kind]) * 1000 for kind in ("known", "unknown"))
    report("sign_in_wrong_password_ms", round(known, 1), "ms")
    report("sign_in_unknown_account_ms", round(unknown, 1), "ms")
    report("sign_in_unknown_vs_known", round(unknown / known, 3), "ratio")


def test_a_shared_strings_bomb_is_refused_at_once(database_url):
    data = shared_strings_bomb("A" * 1_000_000, 2000, 20)
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as upload:
        upload.write(data)
        upload.flush()
        env = {"DATABASE_URL": database_url, "SECRET_KEY": "bench-" + "k" * 32, "PATH": "/usr/bin:/bin"}
        run = subprocess.run(
            [sys.executable, "-c", READ_BOMB, upload.name],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["refused"]
    report("xlsx_bomb_upload_kb", round(len(data) / 1024), "kB")
    report("xlsx_bomb_refused_s", round(figures["seconds"], 3), "s")
    report("xlsx_bomb_peak_over_app_mb", round(figures["peak_mb"] - figures["baseline_mb"], 1), "MB")
