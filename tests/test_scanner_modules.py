"""The scanner page's ES modules (static/js/scanner/), tested with node's own test runner
(tests/js/), and held to the server: the scans the server answered, decided offline by the
phone's code with the decision table the roster brings, get the server's answers."""

import html
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import applicant
from workshops.models import RegistrationStatus, Role
from workshops.services import checkin
from workshops.services import registration as registrations

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "static" / "js" / "scanner"


def node() -> str:
    found = shutil.which("node")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("node is missing (apt-get install nodejs): CI runs the scanner's JS tests")
    pytest.skip("node is not installed (apt-get install nodejs): the scanner's JS modules are not tested")


def node_tests(*paths: str, env: dict | None = None) -> dict[str, int]:
    """Run node's test runner on tests/js paths; fail with its report unless every test passed."""
    result = subprocess.run(
        [node(), "--test", "--test-reporter=tap", *paths],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"node --test failed:\n{report[-6000:]}"
    counts = dict(re.findall(r"^# (pass|fail|skipped|skip) (\d+)$", result.stdout, re.M))
    return {name.replace("skipped", "skip"): int(n) for name, n in counts.items()}


def test_the_scanner_modules_pass_their_node_tests():
    counts = node_tests("tests/js/")
    assert counts["pass"] >= 40 and counts["fail"] == 0


def test_the_service_worker_keeps_every_module():
    """The worker keeps the modules when it is installed, so its list is the folder's."""
    worker = (ROOT / "static" / "js" / "scanner-sw.js").read_text()
    listed = re.search(r"var MODULES = \[(.*?)\];", worker, re.S).group(1)
    assert sorted(re.findall(r'"([\w.-]+\.js)"', listed)) == sorted(p.name for p in MODULES.glob("*.js"))


def test_the_scanner_page_loads_its_entry_module(client, auth, make_user, make_workshop, db):
    workshop = make_workshop()
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    auth.login(organiser)
    page = client.get(f"/checkin/{workshop.id}/sessions/{workshop.sessions[0].id}")
    assert '<script type="module" src="/static/js/scanner/main.js"></script>' in page.text
    # The page carries the server's decision order, for a phone whose kept roster has none.
    rendered = re.search(r"data-decision-order='([^']*)'", page.text).group(1)
    assert json.loads(html.unescape(rendered)) == checkin.decision_order()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]  # same-origin modules only
    module = client.get("/static/js/scanner/main.js")
    assert module.status_code == 200 and "javascript" in module.mimetype
    module.close()


def test_the_phone_decides_offline_as_the_server_does(client, auth, make_user, make_workshop, db, tmp_path):
    now = datetime.now(UTC)
    workshop = make_workshop(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1, hours=7))
    session = workshop.sessions[0]  # running; its doors opened 2.5 hours ago
    inside, before = now - timedelta(minutes=5), now - timedelta(hours=3)
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    auth.login(organiser)
    names = [
        "ok",
        "early",
        "override",
        "cancelled",
        "rejected",
        "waitlisted",
        "pending",
        "in",
        "in-cancelled",
    ]
    people = {
        name: registrations.register(workshop.id, applicant(n)).registration for n, name in enumerate(names)
    }
    tokens = {name: person.ticket_token for name, person in people.items()}

    def scan(token, at, override=False, nonce=""):
        body = {"session_id": session.id, "token": token, "nonce": nonce, "device": "parity"}
        body |= {"scanned_at": at.isoformat(), "override": override}
        answer = client.post("/api/v1/checkin", json=body)
        assert answer.status_code == 200
        return answer.json["reason"]

    assert scan(tokens["in"], inside) == scan(tokens["in-cancelled"], inside) == "ok"
    registrations.cancel(people["cancelled"])
    registrations.cancel(people["in-cancelled"])
    for name, status in [("rejected", "REJECTED"), ("waitlisted", "WAITLISTED"), ("pending", "PENDING")]:
        people[name].status = RegistrationStatus[status]
    db.session.commit()
    old_ticket = tokens["early"]
    registrations.rotate_ticket(people["early"], make_user(Role.COORDINATOR))
    tokens["early"] = people["early"].ticket_token
    # The roster as the phone downloads it, before the scans below.
    roster = client.get(f"/api/v1/workshops/{workshop.id}/roster?session_id={session.id}").json

    # (Two answers the phone cannot know are left out: a ticket of another workshop is not in
    # this roster, so the phone calls it unknown; and a scan sent again with its nonce, which
    # the roster does not carry.)
    cases = [
        ("confirmed", tokens["ok"], inside, False),
        ("confirmed, before the doors open", tokens["early"], before, False),
        ("confirmed, before the doors open, admitted anyway", tokens["override"], before, True),
        ("cancelled", tokens["cancelled"], inside, False),
        ("cancelled, before the doors open, admitted anyway", tokens["cancelled"], before, True),
        ("declined", tokens["rejected"], inside, False),
        ("waitlisted, before the doors open", tokens["waitlisted"], before, False),
        ("waiting for approval", tokens["pending"], inside, False),
        ("already checked in", tokens["in"], inside, False),
        ("already checked in, before the doors open", tokens["in"], before, False),
        ("checked in, then cancelled", tokens["in-cancelled"], inside, False),
        ("a re-issued ticket's old code", old_ticket, inside, False),
        ("not a ticket", "not-a-ticket", inside, False),
    ]
    scans = [
        {
            "case": case,
            "token": token,
            "nonce": f"parity-{n}",
            "scanned_at": at.isoformat(),
            "override": override,
        }
        for n, (case, token, at, override) in enumerate(cases)
    ]
    for s in scans:
        s["server_reason"] = scan(
            s["token"], datetime.fromisoformat(s["scanned_at"]), s["override"], s["nonce"]
        )
    assert [s["server_reason"] for s in scans] == [
        "ok",
        "outside_session",
        "ok",
        "cancelled",
        "cancelled",
        "cancelled",
        "waitlisted",
        "pending_approval",
        "already_checked_in",
        "already_checked_in",
        "cancelled",
        "unknown_ticket",
        "unknown_ticket",
    ]
    parity = tmp_path / "parity.json"
    parity.write_text(json.dumps({"roster": roster, "scans": scans}, ensure_ascii=False))
    counts = node_tests("tests/js/parity.test.mjs", env={"SCANNER_PARITY": str(parity)})
    assert counts["pass"] == 2 and counts.get("skip", 0) == 0
