"""Coordinators plan workshops, their agenda and programmes."""

from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from workshops.models import AuditEvent, Role, Workshop, WorkshopStatus

NEXT_YEAR = datetime.now(UTC).year + 1


def workshop_form(**overrides):
    data = {
        "title_en": "Capacity Building Workshops on Quality Apprenticeship",
        "title_zh": "高质量学徒制能力建设研讨会",
        "description_en": "Two days, onsite in Chongqing and online.",
        "description_zh": "为期两天，重庆现场与线上同步。",
        "format": "hybrid",
        "city": "重庆",
        "venue": "Training Centre",
        "meeting_url": "https://meeting.example.org/qa",
        "timezone": "Asia/Shanghai",
        "starts_at": f"{NEXT_YEAR}-03-31T09:00",
        "ends_at": f"{NEXT_YEAR}-04-01T17:00",
        "registration_closes_at": f"{NEXT_YEAR}-03-29T18:00",
        "onsite_capacity": "40",
        "online_capacity": "186",
        "approval_required": "y",
        "training_hours": "12",
        "programme_id": "0",
    }
    data.update(overrides)
    return data


@pytest.fixture
def coordinator(auth, make_user):
    user = make_user(Role.COORDINATOR)
    auth.login(user)
    return user


def test_coordinator_schedules_a_two_day_hybrid_workshop_that_the_public_can_import(client, coordinator, db):
    response = client.post("/staff/workshops/new", data=workshop_form())
    assert response.status_code == 302, response.get_data(as_text=True)
    workshop = db.session.scalars(db.select(Workshop)).one()
    # 09:00 in Chongqing is 01:00 UTC.
    assert workshop.starts_at == datetime(NEXT_YEAR, 3, 31, 1, 0, tzinfo=UTC)
    assert workshop.status == WorkshopStatus.DRAFT

    for title_en, title_zh, start, end in [
        ("Day 1", "第一天", "03-31T09:00", "03-31T17:00"),
        ("Day 2", "第二天", "04-01T09:00", "04-01T17:00"),
    ]:
        response = client.post(
            f"/staff/workshops/{workshop.id}/sessions",
            data={
                "title_en": title_en,
                "title_zh": title_zh,
                "room": "Hall A",
                "starts_at": f"{NEXT_YEAR}-{start}",
                "ends_at": f"{NEXT_YEAR}-{end}",
            },
        )
        assert response.status_code == 302
    assert client.get(f"/workshops/{workshop.id}").status_code == 404  # still a draft

    assert client.post(f"/staff/workshops/{workshop.id}/publish").status_code == 302
    listing = client.get("/").get_data(as_text=True)
    assert "Capacity Building Workshops on Quality Apprenticeship" in listing

    page = client.get(f"/workshops/{workshop.id}").get_data(as_text=True)
    assert "09:00" in page and "17:00" in page  # venue-local times, not UTC
    assert "Day 2" in page and "(GMT+08:00)" in page
    zh_page = client.get(f"/workshops/{workshop.id}", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )
    assert "高质量学徒制能力建设研讨会" in zh_page and "第二天" in zh_page

    ics = client.get(f"/workshops/{workshop.id}/calendar.ics")
    assert ics.mimetype == "text/calendar"
    events = Calendar.from_ical(ics.data).walk("VEVENT")
    assert [e.decoded("dtstart") for e in events] == [
        datetime(NEXT_YEAR, 3, 31, 1, 0, tzinfo=UTC),
        datetime(NEXT_YEAR, 4, 1, 1, 0, tzinfo=UTC),
    ]
    assert "Day 1" in str(events[0]["summary"]) and "Training Centre" in str(events[0]["location"])
    assert "meeting.example.org" not in ics.get_data(as_text=True)  # only for registered participants


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"ends_at": f"{NEXT_YEAR}-03-30T09:00"}, "The workshop must end after it starts."),
        ({"onsite_capacity": "-5"}, "Between 0 and 100,000 seats."),
        ({"online_capacity": "99999999999"}, "Between 0 and 100,000 seats."),  # a database error before
        ({"timezone": "Europe/Geneva"}, "Not a valid choice."),  # not a zone: a 500 once it was offered
        (
            {"registration_closes_at": f"{NEXT_YEAR}-04-02T09:00"},
            "Registration must close before the workshop ends.",
        ),
        ({"starts_at": "not a date"}, "Not a valid datetime value."),
        ({"title_en": "", "title_zh": ""}, "Give the workshop a title in English or Chinese."),
        ({"meeting_url": "javascript:alert(1)"}, "The meeting link must start with https://"),
        ({"timezone": "Mars/Olympus"}, "Not a valid choice."),
    ],
)
def test_bad_workshop_details_get_a_clear_message_and_nothing_is_saved(
    client, coordinator, db, overrides, message
):
    response = client.post("/staff/workshops/new", data=workshop_form(**overrides))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Workshop)) == 0


def test_every_offered_zone_saves_a_workshop(client, coordinator, db):
    from zoneinfo import ZoneInfo

    from workshops.services.scheduling import TIMEZONES

    for zone in TIMEZONES:
        ZoneInfo(zone)  # exists in the zone database
        response = client.post("/staff/workshops/new", data=workshop_form(timezone=zone, title_en=zone))
        assert response.status_code == 302, zone
    saved = db.session.scalars(db.select(Workshop.timezone).order_by(Workshop.id)).all()
    assert saved == list(TIMEZONES)


def _last_sunday(year: int, month: int) -> int:
    from calendar import monthrange

    last = monthrange(year, month)[1]
    return max(day for day in range(last - 6, last + 1) if datetime(year, month, day).weekday() == 6)


@pytest.mark.parametrize(
    "month, said",
    [
        (3, "This time does not exist on the venue's clock"),  # 02:30 is skipped in Zurich
        (10, "This time happens twice on the venue's clock"),  # 02:30 comes twice
    ],
)
def test_a_time_the_clocks_skip_or_repeat_is_refused(client, coordinator, db, month, said):
    day = f"{NEXT_YEAR}-{month:02d}-{_last_sunday(NEXT_YEAR, month):02d}"
    form = workshop_form(
        timezone="Europe/Zurich", starts_at=f"{day}T02:30", ends_at=f"{day}T17:00", registration_closes_at=""
    )
    response = client.post("/staff/workshops/new", data=form)
    assert response.status_code == 200 and said in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Workshop)) == 0
    # An hour later is one moment, and saves.
    later = dict(form, starts_at=f"{day}T03:30")
    assert client.post("/staff/workshops/new", data=later).status_code == 302


def test_publishing_needs_seats_in_every_mode_the_format_offers(client, coordinator, make_workshop, db):
    from workshops.models import WorkshopFormat

    for format_, seats, missing in (
        (WorkshopFormat.ONSITE, {"onsite_capacity": 0, "online_capacity": 50}, "onsite"),
        (WorkshopFormat.HYBRID, {"onsite_capacity": 40, "online_capacity": 0}, "online"),
        (WorkshopFormat.ONLINE, {"onsite_capacity": 40, "online_capacity": 0}, "online"),
    ):
        workshop = make_workshop(format=format_, status=WorkshopStatus.DRAFT, **seats)
        response = client.post(f"/staff/workshops/{workshop.id}/publish", follow_redirects=True)
        assert f"Set the {missing} seats before publishing." in response.get_data(as_text=True)
        assert db.session.get(Workshop, workshop.id).status == WorkshopStatus.DRAFT
    ready = make_workshop(format=WorkshopFormat.ONSITE, status=WorkshopStatus.DRAFT, online_capacity=0)
    client.post(f"/staff/workshops/{ready.id}/publish")
    assert db.session.get(Workshop, ready.id).status == WorkshopStatus.PUBLISHED


def test_bad_input_is_explained_in_chinese(client, coordinator):
    client.get("/language/zh")
    response = client.post("/staff/workshops/new", data=workshop_form(ends_at=f"{NEXT_YEAR}-03-30T09:00"))
    assert "研讨会的结束时间必须晚于开始时间。" in response.get_data(as_text=True)


def test_sessions_must_fall_within_the_workshop(client, coordinator, make_workshop, db):
    workshop = make_workshop(with_sessions=False)
    response = client.post(
        f"/staff/workshops/{workshop.id}/sessions",
        data={
            "title_en": "Study tour",
            "starts_at": f"{NEXT_YEAR}-05-01T09:00",
            "ends_at": f"{NEXT_YEAR}-05-01T12:00",
        },
    )
    assert response.status_code == 422
    assert "The session must take place within the workshop" in response.get_data(as_text=True)
    assert db.session.get(Workshop, workshop.id).sessions == []


def test_edit_keeps_local_times_and_is_audited(client, coordinator, make_workshop, db):
    workshop = make_workshop()
    form = client.get(f"/staff/workshops/{workshop.id}/edit").get_data(as_text=True)
    assert f'value="{NEXT_YEAR}-03-31T09:00"' in form
    response = client.post(
        f"/staff/workshops/{workshop.id}/edit",
        data=workshop_form(
            onsite_capacity="60", starts_at=f"{NEXT_YEAR}-03-31T09:00", ends_at=f"{NEXT_YEAR}-04-01T17:00"
        ),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Workshop, workshop.id).onsite_capacity == 60
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="workshop.update")).one()
    assert event.actor_id == coordinator.id and "onsite_capacity" in event.details["changed"]


def test_edit_refuses_dates_that_would_strand_sessions(client, coordinator, make_workshop):
    workshop = make_workshop()
    response = client.post(
        f"/staff/workshops/{workshop.id}/edit",
        data=workshop_form(starts_at=f"{NEXT_YEAR}-04-01T09:00", ends_at=f"{NEXT_YEAR}-04-01T17:00"),
    )
    assert "Some sessions fall outside these dates; move them first." in response.get_data(as_text=True)


def test_duplicate_makes_a_draft_copy_with_its_agenda(client, coordinator, make_workshop, db):
    workshop = make_workshop()
    response = client.post(f"/staff/workshops/{workshop.id}/duplicate")
    assert response.status_code == 302
    copy = db.session.scalars(db.select(Workshop).where(Workshop.id != workshop.id)).one()
    assert copy.status == WorkshopStatus.DRAFT
    assert copy.title_zh.endswith("（副本）")
    assert [s.title_en for s in copy.sessions] == ["Day 1", "Day 2"]


def test_cancelled_workshop_is_marked_and_cannot_be_republished(client, coordinator, make_workshop, db):
    workshop = make_workshop()
    assert (
        client.post(
            f"/staff/workshops/{workshop.id}/cancel", data={"reason_en": "Venue closed", "confirmed": "yes"}
        ).status_code
        == 302
    )
    assert "This workshop has been cancelled." in client.get(f"/workshops/{workshop.id}").get_data(
        as_text=True
    )
    response = client.post(f"/staff/workshops/{workshop.id}/publish", follow_redirects=True)
    assert "A cancelled workshop cannot be published again" in response.get_data(as_text=True)
    assert db.session.get(Workshop, workshop.id).status == WorkshopStatus.CANCELLED


def test_programmes_group_workshops_and_codes_are_unique(client, coordinator, db):
    data = {"code": "qa", "name_en": "Quality Apprenticeship — Phase 2", "name_zh": "高质量学徒制——二期"}
    assert client.post("/staff/programmes/new", data=data).status_code == 302
    again = client.post("/staff/programmes/new", data=data)
    assert "Another programme already uses this code." in again.get_data(as_text=True)
    page = client.get("/staff/programmes").get_data(as_text=True)
    assert "QA · Quality Apprenticeship — Phase 2" in page


def test_organisers_can_be_assigned_to_a_workshop(client, coordinator, make_user, make_workshop, db):
    organiser = make_user(Role.ORGANISER)
    workshop = make_workshop()
    response = client.post(
        f"/staff/workshops/{workshop.id}/organisers", data={"organisers": [str(organiser.id)]}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert [w.id for w in db.session.get(type(organiser), organiser.id).workshops] == [workshop.id]


def test_reassigning_organisers_adds_and_removes_only_this_workshop(
    client, coordinator, make_user, make_workshop, db
):
    from workshops.services import users

    first, second = make_user(Role.ORGANISER), make_user(Role.ORGANISER)
    workshop, other = make_workshop(), make_workshop()
    first.workshops.append(other)
    db.session.commit()
    client.post(f"/staff/workshops/{workshop.id}/organisers", data={"organisers": [str(first.id)]})
    page = client.get(f"/staff/workshops/{workshop.id}").get_data(as_text=True)
    assert f'selected value="{first.id}"' in page  # the form shows who is assigned

    response = client.post(
        f"/staff/workshops/{workshop.id}/organisers", data={"organisers": [str(second.id)]}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert [u.id for u in users.organisers_of(workshop)] == [second.id]
    assert [w.id for w in db.session.get(type(first), first.id).workshops] == [
        other.id
    ]  # their other workshop stays
