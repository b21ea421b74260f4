"""The scanner page reads a ticket from a (fake) camera and shows the green result."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, SERVER_DROPPED_STATIC_FILE
from tests.helpers import applicant
from workshops.models import Attendance, Role
from workshops.services import registration as registrations
from workshops.services import tickets

pytestmark = [pytest.mark.e2e, SERVER_DROPPED_STATIC_FILE]


def write_y4m(png: bytes, path, frames: int = 30) -> None:
    """A Y4M video (what Chromium's fake camera plays) showing the QR code on white."""
    frame = Image.new("RGB", (640, 480), "white")
    qr = Image.open(io.BytesIO(png)).convert("RGB").resize((360, 360), Image.NEAREST)
    frame.paste(qr, (140, 60))
    y, cb, cr = frame.convert("YCbCr").split()
    cb, cr = cb.resize((320, 240)), cr.resize((320, 240))
    with open(path, "wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            out.write(b"FRAME\n" + y.tobytes() + cb.tobytes() + cr.tobytes())


def test_scanner_page_checks_in_a_ticket_shown_to_the_camera(
    live_server, make_workshop, make_user, db, tmp_path
):
    from playwright.sync_api import sync_playwright

    now = datetime.now(UTC)
    workshop = make_workshop(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1, hours=7))
    registration = registrations.register(workshop.id, applicant(1, full_name="李华")).registration
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    video = tmp_path / "ticket.y4m"
    write_y4m(tickets.ticket_qr_png(registration.ticket_token), video)

    args = CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, permissions=["camera"]
        )
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.fill("#email", organiser.email)
        page.fill("#password", "correct horse battery")
        page.click("button[type=submit]")
        page.goto(f"{live_server}/checkin/{workshop.id}/sessions/{workshop.sessions[0].id}")
        result = page.locator("#result")
        result.wait_for(state="visible", timeout=20000)
        assert result.get_attribute("data-tone") == "green"
        assert "李华" in page.locator(".result-name").inner_text()
        # The counters are redrawn after the answer is shown: wait for them, as a person would look.
        page.wait_for_function(
            "document.querySelector('#counters').innerText.includes('Onsite 1 / 1')", timeout=10000
        )
        assert "Onsite 1 / 1" in page.locator("#counters").inner_text()
        browser.close()
    attendance = db.session.scalars(db.select(Attendance)).one()
    assert attendance.registration_id == registration.id and attendance.by_user_id == organiser.id


def test_scanner_keeps_working_offline_and_syncs_when_back(
    live_server, browser, make_workshop, make_user, db
):
    now = datetime.now(UTC)
    workshop = make_workshop(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1, hours=7))
    people = [
        registrations.register(workshop.id, applicant(n, full_name=f"参加者{n}")).registration
        for n in range(3)
    ]
    registrations.cancel(people[2])
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("#email", organiser.email)
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.goto(f"{live_server}/checkin/{workshop.id}/sessions/{workshop.sessions[0].id}")
    page.locator(
        "#counters:not(:empty)"
    ).wait_for()  # the roster is kept (the page's CSP forbids eval-based waits)

    # The service worker keeps the page and its files (fetched again through it on this first visit).
    kept = "caches.open('workshops-scanner-v4').then(c => c.match(location.href)).then(r => !!r)"
    for _ in range(50):
        if page.evaluate(kept):
            break
        page.wait_for_timeout(200)
    assert page.evaluate(kept)

    context.set_offline(True)
    page.locator("#code").focus()
    for person in people[:2]:  # a USB scanner types the code and Enter, the next one while a result shows
        page.keyboard.type(person.ticket_token)
        page.keyboard.press("Enter")
        page.locator("#result[data-tone=green] .result-name", has_text=person.full_name).wait_for(
            timeout=10000
        )
    page.click("#result")
    page.fill("#code", people[0].ticket_token)
    page.press("#code", "Enter")
    page.locator("#result[data-tone=amber]").wait_for(timeout=10000)  # known locally as already in
    assert re.search(r"\d{1,2}:\d{2}", page.locator(".result-title").inner_text())  # ... and since when
    page.click("#result")
    page.fill("#code", people[2].ticket_token)
    page.press("#code", "Enter")
    page.locator("#result[data-tone=red]").wait_for(timeout=10000)  # the roster knows it was cancelled
    assert page.locator(".result-title").inner_text() == "This registration was cancelled or declined."
    page.click("#result")
    assert page.locator("#network").get_attribute("data-state") == "offline"
    assert "2" in page.locator("#queued").inner_text()
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 0

    # Meanwhile a coordinator re-issued the second person's ticket: the server will not take that one.
    registrations.rotate_ticket(people[1], make_user(Role.COORDINATOR))
    # Reloaded without network (a phone that dropped the tab): the page comes from the worker, and
    # the people let in before are still "in" on this phone. (Chromium's offline emulation does not
    # always cover a service worker's own fetches, so the reloaded page may find the server and
    # sync at once: the rest of the test holds either way.)
    page.reload()
    page.locator("#counters:not(:empty)").wait_for(timeout=15000)
    page.locator("#code").focus()
    page.keyboard.type(people[0].ticket_token)
    page.keyboard.press("Enter")
    page.locator("#result[data-tone=amber]").wait_for(timeout=10000)
    page.click("#result")
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.locator("#queued").wait_for(state="hidden", timeout=15000)
    refused = page.locator("#sync-notice")
    refused.wait_for(timeout=10000)  # the door is told, and it stays until read
    assert (
        "not checked in by the server (1)" in refused.inner_text()
        and people[1].full_name in refused.inner_text()
    )
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 1
    context.close()
