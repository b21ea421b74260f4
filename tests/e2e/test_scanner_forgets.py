"""A phone at the door forgets the roster when it may no longer scan: signed out, or its
volunteer link withdrawn. Nothing of the scanner stays in the Cache Storage or in IndexedDB, the
scan log (names) was never kept by the service worker, and check-ins made offline that could
not be sent are counted on screen, not silently lost."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import SERVER_DROPPED_STATIC_FILE
from tests.helpers import applicant
from workshops.models import Attendance, Role
from workshops.services import checkin_access
from workshops.services import registration as registrations

pytestmark = [pytest.mark.e2e, SERVER_DROPPED_STATIC_FILE]

PASSWORD = "correct horse battery"
CACHES = "caches.keys()"
DATABASES = "indexedDB.databases().then(found => found.map(d => d.name))"
# The roster the phone keeps for offline use, as it is in IndexedDB (null: none).
KEPT_ROSTER = """sessionId => new Promise(resolve => {
  const open = indexedDB.open("workshops-checkin");
  open.onsuccess = () => {
    const get = open.result.transaction("rosters").objectStore("rosters").get(sessionId);
    get.onsuccess = () => { open.result.close(); resolve(get.result ? get.result.people.length : null); };
  };
  open.onerror = () => resolve(null);
})"""
PAGE_KEPT = "url => caches.open('workshops-scanner-v4').then(c => c.match(url)).then(r => !!r)"


@pytest.fixture
def running(make_workshop):
    now = datetime.now(UTC)
    return make_workshop(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1, hours=7))


def wait_for(page, script, arg=None, tries=75):
    for _ in range(tries):
        if page.evaluate(script, arg):
            return True
        page.wait_for_timeout(200)
    raise AssertionError(f"never true: {script}")


def open_scanner(page, url, session_id):
    """The scanner page, once it has filled the worker's cache and kept the roster in IndexedDB."""
    page.goto(url)
    page.locator("#counters:not(:empty)").wait_for()
    wait_for(page, PAGE_KEPT, page.url)
    wait_for(page, KEPT_ROSTER, session_id)
    assert "workshops-checkin" in page.evaluate(DATABASES)


def scan_offline(page, token):
    """A ticket scanned while the check-in API cannot be reached: decided and queued on the phone."""
    page.route("**/api/v1/checkin**", lambda route: route.abort())
    page.fill("#code", token)
    page.press("#code", "Enter")
    page.locator("#result[data-tone=green]").wait_for(timeout=15000)
    page.locator("#queued:not([hidden])").wait_for()
    page.click("#result")


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_signing_out_leaves_nothing_of_the_scanner_on_the_phone(live_server, browser, running, make_user, db):
    session = running.sessions[0]
    people = [registrations.register(running.id, applicant(n)).registration for n in range(2)]
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(running)
    db.session.commit()
    page = browser.new_context().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server, organiser)
    scanner = f"{live_server}/checkin/{running.id}/sessions/{session.id}"
    open_scanner(page, scanner, session.id)
    assert page.evaluate(KEPT_ROSTER, session.id) == 2
    # The scan log names people: the worker lets it pass and keeps nothing of it.
    log = f"{live_server}/checkin/{running.id}/sessions/{session.id}/log"
    page.goto(log)
    page.goto(scanner)
    page.locator("#counters:not(:empty)").wait_for()
    page.wait_for_timeout(500)
    assert page.evaluate(PAGE_KEPT, scanner) and not page.evaluate(PAGE_KEPT, log)

    # A scan queued offline when the organiser signs out: the phone says how many would be lost.
    scan_offline(page, people[0].ticket_token)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.click("text=Sign out")
    page.wait_for_url(lambda url: "/checkin/" not in url)
    assert dialogs and dialogs[0].startswith("1 check-ins made offline have not reached the server yet")
    assert page.evaluate(CACHES) == []
    assert page.evaluate(DATABASES) == []
    assert errors == []
    page.context.close()


def test_a_withdrawn_link_leaves_nothing_on_the_volunteers_phone_and_says_what_was_lost(
    live_server, browser, running, make_user, db
):
    session = running.sessions[0]
    people = [registrations.register(running.id, applicant(n)).registration for n in range(3)]
    coordinator = make_user(Role.COORDINATOR)
    link = checkin_access.create_link(running, "Door B", datetime.now(UTC) + timedelta(hours=8), coordinator)
    phone = browser.new_context().new_page()
    errors = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    phone.goto(f"{live_server}/checkin/v/{link.token}")  # straight to the running session's scanner
    open_scanner(phone, phone.url, session.id)
    assert phone.evaluate(KEPT_ROSTER, session.id) == 3
    scan_offline(phone, people[0].ticket_token)
    scan_offline(phone, people[1].ticket_token)
    assert "2" in phone.locator("#queued").inner_text()

    # The coordinator withdraws the link from the workshop's page.
    staff = browser.new_context().new_page()
    sign_in(staff, live_server, coordinator)
    staff.goto(f"{live_server}/staff/workshops/{running.id}")
    staff.click("#checkin-links button:has-text('Withdraw')")
    staff.locator("text=The link no longer works.").wait_for()

    # The volunteer's phone is back online: its sync is refused, and it forgets.
    phone.unroute("**/api/v1/checkin**")
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    notice = phone.locator("#sync-notice:not([hidden])")
    notice.wait_for(timeout=15000)
    assert "This check-in link does not work any more" in notice.inner_text()
    assert "2 check-ins made offline could not be sent and were dropped" in notice.inner_text()
    wait_for(phone, "caches.keys().then(names => names.length === 0)")
    wait_for(phone, "indexedDB.databases().then(found => found.length === 0)")
    assert phone.locator("#queued").is_hidden()
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 0
    # Reopened, the page says the link does not work (and the phone keeps nothing of it).
    phone.reload()
    assert "This check-in link does not work" in phone.content()
    assert phone.evaluate(CACHES) == [] and phone.evaluate(DATABASES) == []
    assert errors == []
    phone.context.close()
    staff.context.close()
