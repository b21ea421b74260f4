"""A participant registers from a phone, in Chinese, and lands on the ticket page."""

import pytest

from tests.e2e.conftest import SERVER_DROPPED_STATIC_FILE
from workshops.models import Registration

pytestmark = [pytest.mark.e2e, SERVER_DROPPED_STATIC_FILE]


def test_participant_registers_on_a_phone_in_chinese(live_server, phone, make_workshop, db):
    workshop = make_workshop()
    phone.goto(f"{live_server}/workshops/{workshop.id}")
    assert phone.locator("html").get_attribute("lang") == "zh-CN"
    assert "高质量学徒制能力建设研讨会" in phone.locator("h1").inner_text()

    phone.get_by_label("姓名", exact=True).fill("李华")
    phone.locator("#email").fill("li.hua@example.org")
    phone.locator("#mobile").fill("+86 138 0000 0000")
    phone.locator("#organisation").fill("重庆工程职业技术学院")
    phone.locator("#organisation_type").select_option("tvet")
    phone.locator("#gender").select_option("woman")
    phone.get_by_role("radio", name="现场").check()
    phone.get_by_role("button", name="报名").click()

    # Forgot the consent: the same page, with the message next to the box, in Chinese.
    error = phone.locator("#consent-error")
    assert error.is_visible()
    assert "隐私声明" in error.inner_text()
    assert phone.get_by_label("姓名", exact=True).input_value() == "李华"

    phone.locator("#consent").check()
    phone.get_by_role("button", name="报名").click()
    phone.wait_for_url(f"{live_server}/r/**")

    registration = db.session.scalars(db.select(Registration)).one()
    assert phone.url.startswith(f"{live_server}/r/{registration.manage_token}")
    assert registration.full_name == "李华" and registration.status.value == "confirmed"
    assert phone.locator(".status").inner_text().strip() != ""
    qr = phone.locator("figure.ticket img")
    assert qr.is_visible()
    assert phone.evaluate("img => img.naturalWidth", qr.element_handle()) > 100
    # Nothing overflows a phone screen sideways.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
