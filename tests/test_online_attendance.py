"""Online participants are counted through their join link or the meeting platform's report."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import Workbook

from tests.helpers import applicant
from workshops.models import Attendance, Job, Role
from workshops.services import meeting_reports
from workshops.services import registration as registrations


@pytest.fixture
def online_now(make_workshop):
    now = datetime.now(UTC)
    return make_workshop(
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1, hours=7),
        meeting_url="https://meeting.tencent.com/dm/abc",
    )


def test_join_link_records_attendance_and_opens_the_meeting(client, online_now, db):
    registration = registrations.register(online_now.id, applicant(1, mode="online")).registration
    response = client.get(f"/j/{registration.ticket_token}")
    assert (
        response.status_code == 302 and response.headers["Location"] == "https://meeting.tencent.com/dm/abc"
    )
    client.get(f"/j/{registration.ticket_token}")  # joining again (dropped connection) counts once
    attendance = db.session.scalars(db.select(Attendance)).one()
    assert attendance.method.value == "join_link" and attendance.session_id == online_now.sessions[0].id


def test_join_link_counts_only_confirmed_online_people_with_a_meeting_to_go_to(
    client, online_now, make_workshop, db
):
    """The link carries the QR ticket's token: an onsite person opening it at home earns nothing."""
    onsite = registrations.register(online_now.id, applicant(1, mode="onsite")).registration
    response = client.get(f"/j/{onsite.ticket_token}")
    assert response.status_code == 403 and "show your ticket" in response.get_data(as_text=True)
    no_link = make_workshop(starts_at=online_now.starts_at, ends_at=online_now.ends_at, meeting_url="")
    online = registrations.register(no_link.id, applicant(2, mode="online")).registration
    response = client.get(f"/j/{online.ticket_token}")
    assert response.status_code == 403 and "not published the meeting link" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 0


def test_join_page_never_leads_from_the_ticket_token_to_the_ticket_page(client, online_now, db):
    """A badge's QR shows the ticket token to anyone: /j/ must not hand out the page that cancels."""
    from workshops.models import WorkshopStatus

    onsite = registrations.register(online_now.id, applicant(1, mode="onsite")).registration
    page = client.get(f"/j/{onsite.ticket_token}").get_data(as_text=True)
    assert onsite.manage_token not in page and "linked in your confirmation email" in page
    online = registrations.register(online_now.id, applicant(2, mode="online")).registration
    registrations.cancel(online)
    assert "This registration was cancelled or declined." in client.get(f"/j/{online.ticket_token}").get_data(
        as_text=True
    )
    still = registrations.register(online_now.id, applicant(3, mode="online")).registration
    online_now.status = WorkshopStatus.CANCELLED
    db.session.commit()
    response = client.get(f"/j/{still.ticket_token}")
    assert response.status_code == 403 and "This workshop was cancelled." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 0


def test_join_link_outside_a_session_says_when_to_come_back(client, make_workshop, db):
    workshop = make_workshop(meeting_url="https://meeting.example.org/x")  # next year
    registration = registrations.register(workshop.id, applicant(1, mode="online")).registration
    page = client.get(f"/j/{registration.ticket_token}").get_data(as_text=True)
    assert "The next session, Day 1, starts at" in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 0
    assert client.get("/j/forged").status_code == 404


def test_confirmation_email_of_online_participants_carries_the_join_link(app, online_now, db):
    from workshops.models import OutboxMessage
    from workshops.services import outbox

    registration = registrations.register(
        online_now.id, applicant(1, mode="online", language="en")
    ).registration
    message = db.session.scalars(db.select(OutboxMessage)).one()
    outbox.render(message)
    assert f"http://workshops.test/j/{registration.ticket_token}" in message.body_text


def xlsx(rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "value, minutes",
    [
        ("83", 83),
        ("83.6", 83),
        ("01:23:45", 83),
        ("83分钟", 83),
        ("1小时23分钟", 83),
        ("1.5小时", 90),
        ("1.5 hours", 90),
        ("90 min", 90),
        ("1:30", 90),
        ("45:30", 45),
        ("", 0),
        ("n/a", 0),
    ],
)
def test_durations_in_the_shapes_platforms_write_them(value, minutes):
    assert meeting_reports.parse_minutes(value) == minutes


def test_meeting_report_matches_by_email_phone_and_name_with_a_minimum(
    client, auth, make_user, online_now, db
):
    for n, extra in enumerate(
        [
            {"full_name": "王芳", "email": "wang@example.org"},
            {"full_name": "张伟", "mobile": "+86 139 1234 5678"},
            {"full_name": "Maria Fernandes"},
            {"full_name": "李娜"},
        ]
    ):
        registrations.register(online_now.id, applicant(n, mode="online", **extra))
    auth.login(make_user(Role.COORDINATOR))
    report = "\n".join(
        [
            "Name (Original Name),User Email,Duration (Minutes)",
            "Fang,WANG@example.org,50",
            "Zhang Wei,,40",  # a nickname and no phone column in Zoom's export: not matched
            "maria fernandes,,45",
            "李娜,,10",
            "李娜,,15",  # rejoined: 25 minutes in all, under the minimum
            "Someone Else,stranger@example.org,90",
        ]
    ).encode()
    response = client.post(
        f"/staff/workshops/{online_now.id}/meeting-report",
        data={
            "session_id": str(online_now.sessions[0].id),
            "min_minutes": "30",
            "file": (io.BytesIO(report), "zoom.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    job = db.session.scalars(db.select(Job)).one()
    matched = {m["name"]: (m["minutes"], m["via"], m["counts"]) for m in job.payload["matched"]}
    assert matched == {
        "王芳": (50, "email", True),
        "Maria Fernandes": (45, "name", True),
        "李娜": (25, "name", False),
    }
    assert [u["name"] for u in job.payload["unmatched"]] == ["Zhang Wei", "Someone Else"]
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert "2 people stayed long enough" in page and "Someone Else" in page
    client.post(f"/staff/jobs/{job.id}/confirm")
    db.session.expire_all()
    present = db.session.scalars(db.select(Attendance)).all()
    assert sorted(a.registration.full_name for a in present) == ["Maria Fernandes", "王芳"]
    assert {a.method.value for a in present} == {"meeting_import"}


def test_tencent_meeting_report_in_xlsx_matches_by_phone(client, auth, make_user, online_now, db):
    registrations.register(
        online_now.id, applicant(2, mode="online", full_name="张伟", mobile="+86 139 1234 5678")
    )
    auth.login(make_user(Role.COORDINATOR))
    data = xlsx(
        [["用户昵称", "手机号", "入会时间", "参会时长"], ["小张", "13912345678", "09:01", "01:30:00"]]
    )
    client.post(
        f"/staff/workshops/{online_now.id}/meeting-report",
        data={
            "session_id": str(online_now.sessions[0].id),
            "min_minutes": "30",
            "file": (io.BytesIO(data), "腾讯会议.xlsx"),
        },
        content_type="multipart/form-data",
    )
    job = db.session.scalars(db.select(Job)).one()
    assert job.payload["matched"] == [
        {
            "registration_id": job.payload["matched"][0]["registration_id"],
            "name": "张伟",
            "minutes": 90,
            "via": "phone",
            "counts": True,
        }
    ]


def test_reports_with_the_meeting_summary_above_the_participants_table(
    client, auth, make_user, online_now, db
):
    """Zoom's export "with meeting data" and Tencent Meeting's put the meeting's own details first."""
    registrations.register(
        online_now.id, applicant(1, mode="online", full_name="王芳", email="wang@example.org")
    )
    registrations.register(
        online_now.id, applicant(2, mode="online", full_name="张伟", mobile="+86 139 1234 5678")
    )
    auth.login(make_user(Role.COORDINATOR))
    zoom = "\n".join(
        [
            "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants",
            "812 3456 7890,Quality Apprenticeship,03/31/2027 09:00:00 AM,03/31/2027"
            " 05:00:00 PM,host@example.org,480,3",
            "",
            "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest",
            "Fang,wang@example.org,03/31/2027 09:01:00 AM,03/31/2027 10:00:00 AM,59,Yes",
            "Visitor,visitor@example.org,03/31/2027 09:05:00 AM,03/31/2027 09:50:00 AM,45,Yes",
        ]
    ).encode()
    tencent = xlsx(
        [
            ["会议主题", "高质量学徒制能力建设研讨会"],
            ["会议时间", "2027-03-31 09:00"],
            [],
            ["用户昵称", "手机号", "入会时间", "退会时间", "参会时长"],
            ["小张", "13912345678", "09:01", "10:31", "90分钟"],
        ]
    )
    found = {}
    for filename, data in [("zoom.csv", zoom), ("tencent.xlsx", tencent)]:
        response = client.post(
            f"/staff/workshops/{online_now.id}/meeting-report",
            data={
                "session_id": str(online_now.sessions[0].id),
                "min_minutes": "30",
                "file": (io.BytesIO(data), filename),
            },
            content_type="multipart/form-data",
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        job = db.session.scalars(db.select(Job).order_by(Job.id.desc())).first()
        found[filename] = job.payload
    assert [(m["name"], m["minutes"], m["via"]) for m in found["zoom.csv"]["matched"]] == [
        ("王芳", 59, "email")
    ]
    assert found["zoom.csv"]["unmatched"] == [
        {"line": 6, "name": "Visitor", "email": "visitor@example.org", "minutes": 45}
    ]
    assert [(m["name"], m["minutes"], m["via"]) for m in found["tencent.xlsx"]["matched"]] == [
        ("张伟", 90, "phone")
    ]


@pytest.mark.parametrize("content", [b"\n\n", b",,,\n,,\n", "\ufeff".encode()])
def test_a_report_with_nothing_in_it_is_explained(client, auth, make_user, online_now, db, content):
    auth.login(make_user(Role.COORDINATOR))
    response = client.post(
        f"/staff/workshops/{online_now.id}/meeting-report",
        data={
            "session_id": str(online_now.sessions[0].id),
            "min_minutes": "30",
            "file": (io.BytesIO(content), "zoom.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "no rows under its header row" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 0


def test_a_name_written_twice_the_same_way_still_matches_and_a_deleted_session_fails_the_job(
    client, auth, make_user, online_now, db
):
    from workshops.services import meeting_reports as reports

    registrations.register(
        online_now.id, applicant(1, mode="online", full_name="Li Hua", latin_name="LI HUA")
    )
    coordinator = make_user(Role.COORDINATOR)
    report = b"Name (Original Name),Duration (Minutes)\nli hua,50\n"
    job = reports.preview_report(online_now, online_now.sessions[1], "zoom.csv", report, 30, coordinator)
    assert [(m["name"], m["via"]) for m in job.payload["matched"]] == [("Li Hua", "name")]
    db.session.delete(online_now.sessions[1])
    db.session.commit()
    job.status = "queued"
    db.session.commit()
    reports.run_meeting_import(job.id)
    db.session.expire_all()
    failed = db.session.get(Job, job.id)
    assert failed.status == "failed" and "deleted" in failed.error
    auth.login(coordinator)
    assert "The import stopped" in client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)


def test_a_file_that_is_not_a_meeting_report_is_explained(client, auth, make_user, online_now, db):
    auth.login(make_user(Role.COORDINATOR))
    response = client.post(
        f"/staff/workshops/{online_now.id}/meeting-report",
        data={
            "session_id": str(online_now.sessions[0].id),
            "min_minutes": "30",
            "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "This does not look like a meeting report" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 0
