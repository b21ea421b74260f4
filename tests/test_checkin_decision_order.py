"""The check-in decision order is one table (checkin.DECISION_ORDER): the server's decision
walks it, and the roster sends it to the scanner page, whose offline decisions walk it too."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import applicant
from workshops.models import RegistrationStatus, Role
from workshops.services import checkin
from workshops.services import registration as registrations
from workshops.services.checkin import DECISION_ORDER, Reason, Step


@pytest.fixture
def running(make_workshop):
    now = datetime.now(UTC)
    return make_workshop(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1, hours=7))


def test_every_reason_has_its_place_and_every_check_its_meaning():
    assert {step.reason for step in DECISION_ORDER} == set(Reason)
    assert {step.check for step in DECISION_ORDER} == set(checkin.CHECKS)
    assert DECISION_ORDER[-1] == Step(Reason.OK, "otherwise")  # a new check-in: nothing held before
    # Each status has its one answer; workshop_cancelled only asks a cancelled one about its workshop.
    looked_for = [status for step in DECISION_ORDER if step.check == "status" for status in step.statuses]
    assert sorted(looked_for) == sorted(set(RegistrationStatus) - {RegistrationStatus.CONFIRMED})
    assert all(step.statuses for step in DECISION_ORDER if step.check == "status")


def test_the_decision_follows_the_table(running, monkeypatch):
    session = running.sessions[0]
    was_in = registrations.register(running.id, applicant(1)).registration
    assert checkin.redeem(session, token=was_in.ticket_token).reason == Reason.OK
    registrations.cancel(was_in)  # checked in, then cancelled: two steps hold
    assert checkin.redeem(session, token=was_in.ticket_token).reason == Reason.CANCELLED
    order = list(DECISION_ORDER)
    cancelled = next(n for n, step in enumerate(order) if step.reason == Reason.CANCELLED)
    checked_in = next(n for n, step in enumerate(order) if step.check == "checked_in")
    order[cancelled], order[checked_in] = order[checked_in], order[cancelled]
    monkeypatch.setattr(checkin, "DECISION_ORDER", tuple(order))
    assert checkin.redeem(session, token=was_in.ticket_token).reason == Reason.ALREADY_CHECKED_IN


def test_the_roster_sends_the_table(client, auth, make_user, running, db):
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(running)
    db.session.commit()
    auth.login(organiser)
    roster = client.get(f"/api/v1/workshops/{running.id}/roster?session_id={running.sessions[0].id}").json
    assert roster["decision_order"] == checkin.decision_order()
    assert [step["reason"] for step in roster["decision_order"]] == [
        "ticket_needed",  # a volunteer's check-in by name in a batch: whoever it is
        "unknown_ticket",
        "wrong_workshop",
        "ok",  # the same scan sent again: its first answer
        "workshop_cancelled",  # a cancelled registration of a cancelled workshop
        "cancelled",
        "waitlisted",
        "pending_approval",
        "already_checked_in",
        "outside_session",
        "search_limit",  # a new check-in by name through a link, over the hour's number
        "ok",
    ]
    assert roster["decision_order"][5] == {
        "reason": "cancelled",
        "check": "status",
        "statuses": ["cancelled", "rejected"],
    }
