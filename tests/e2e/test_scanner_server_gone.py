"""The server itself gone (not the browser's offline emulation): the scanner page reloads from
the service worker, every module with it, decides offline and syncs once the server is back."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.serving import make_server

from tests.conftest import free_port
from tests.e2e.conftest import SERVER_DROPPED_STATIC_FILE
from tests.helpers import applicant
from workshops.models import Attendance, Role
from workshops.services import registration as registrations

pytestmark = [pytest.mark.e2e, SERVER_DROPPED_STATIC_FILE]


class Server:
    """The app on a fixed port, to stop and start again."""

    def __init__(self, app):
        self.app, self.port, self.server = app, free_port(), None

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def test_scanner_reloads_decides_and_syncs_with_the_server_gone(app, browser, make_workshop, make_user, db):
    now = datetime.now(UTC)
    workshop = make_workshop(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1, hours=7))
    people = [registrations.register(workshop.id, applicant(n)).registration for n in range(2)]
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    server = Server(app)
    server.start()
    try:
        page = browser.new_context().new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        base = f"http://127.0.0.1:{server.port}"
        page.goto(f"{base}/login")
        page.fill("#email", organiser.email)
        page.fill("#password", "correct horse battery")
        page.click("button[type=submit]")
        page.goto(f"{base}/checkin/{workshop.id}/sessions/{workshop.sessions[0].id}")
        page.locator("#counters:not(:empty)").wait_for()
        kept = "caches.open('workshops-scanner-v4').then(c => c.match(location.href)).then(r => !!r)"
        for _ in range(50):
            if page.evaluate(kept):
                break
            page.wait_for_timeout(200)

        server.stop()
        page.reload()  # the page, qr-scanner and every module from the worker's cache
        page.locator("#counters:not(:empty)").wait_for(timeout=15000)
        page.fill("#code", people[0].ticket_token)
        page.press("#code", "Enter")
        page.locator("#result[data-tone=green]").wait_for(timeout=15000)
        assert "1" in page.locator("#queued").inner_text()
        page.click("#result")
        page.fill("#code", people[0].ticket_token)
        page.press("#code", "Enter")
        page.locator("#result[data-tone=amber]").wait_for(timeout=10000)
        assert page.locator("#network").get_attribute("data-state") == "offline"

        server.start()
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.locator("#queued").wait_for(state="hidden", timeout=15000)
        db.session.expire_all()
        attendance = db.session.scalars(db.select(Attendance)).one()
        assert attendance.registration_id == people[0].id and attendance.by_user_id == organiser.id
        assert errors == []
        page.context.close()
    finally:
        if server.thread.is_alive():
            server.stop()
