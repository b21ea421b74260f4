"""Online participants are counted through their join link or the meeting platform's report."""

import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests import meeting_exports as export
from tests.helpers import applicant
from workshops.models import Attendance, Job, JobFile, Role, ScanLog
from workshops.services import checkin, meeting_reports
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


# ---- meeting reports: the page, the command line, bad files ---------------------------------

M = timedelta(minutes=1)


@pytest.fixture
def workshop(make_workshop):
    return make_workshop()  # next year, 31 March; Day 1 09:00-17:00 Shanghai


@pytest.fixture
def people(workshop):
    found = {}
    for n, (name, email, mobile) in enumerate(
        [
            ("王芳", "wang.fang@example.org", "+86 139 1234 5678"),
            ("李娜", "li.na@example.org", ""),
            ("Maria Fernandes", "Maria@Example.org", ""),
        ]
    ):
        found[name] = registrations.register(
            workshop.id, applicant(n, mode="online", full_name=name, email=email, mobile=mobile)
        ).registration
    return found


def zoom_report(session, day_offset=timedelta(0)):
    t = session.starts_at + day_offset
    return export.zoom_current(
        [
            ("李明", "host@example.org", t - 10 * M, t + 480 * M, 490, "No"),
            ("Fang", "fang.w@company.example", t + 3 * M, t + 63 * M, 60, "No"),  # her work email
            ("Fang", "fang.w@company.example", t + 70 * M, t + 100 * M, 30, "No"),
            ("李娜", "", t, t + 120 * M, 120, "No"),
            ("Maria Fernandes", "maria@example.org", t + 5 * M, t + 50 * M, 45, "No"),
        ],
        t,
        t + 480 * M,
    )


def upload(client, workshop, data, filename="participants.csv", min_minutes="30"):
    return client.post(
        f"/staff/workshops/{workshop.id}/meeting-report",
        data={
            "session_id": str(workshop.sessions[0].id),
            "min_minutes": min_minutes,
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def latest_job(db):
    db.session.expire_all()
    return db.session.scalars(db.select(Job).order_by(Job.id.desc())).first()


def decide(client, job, **form):
    return client.post(f"/staff/jobs/{job.id}/meeting-report", data=form)


def test_preview_assign_leave_out_and_record_with_minutes_and_source(
    client, auth, make_user, workshop, people, db
):
    auth.login(make_user(Role.COORDINATOR))
    session = workshop.sessions[0]
    response = upload(client, workshop, zoom_report(session))
    assert response.status_code == 302, response.get_data(as_text=True)
    job = latest_job(db)
    assert {p["full_name"]: p["status"] for p in job.payload["people"]} == {
        "李娜": "counted",
        "Maria Fernandes": "counted",
    }
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert "Zoom meeting participants" in page and "2 people stayed long enough" in page
    assert "Fang" in page and "Not registered" in page and "Host" in page
    fang = next(u for u in job.payload["unmatched"] if u["name"] == "Fang")
    assert fang["lines"] == [6, 7] and fang["minutes"] == 90
    assert f'value="#{people["王芳"].id} 王芳"' in page  # the list to assign from

    decide(client, job, action="assign", key=fang["key"], who=f"#{people['王芳'].id} 王芳")
    decide(client, job, action="exclude", registration_id=people["李娜"].id)
    job = latest_job(db)
    assert {
        p["full_name"]: (p["minutes"], p["matched_by"], p["status"], p["lines"])
        for p in job.payload["people"]
    } == {
        "王芳": (90, "assigned", "counted", [6, 7]),
        "李娜": (120, "name", "excluded", [8]),
        "Maria Fernandes": (45, "email", "counted", [9]),
    }
    assert job.total == 2 and [u["name"] for u in job.payload["unmatched"]] == ["李明"]
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert (
        "Left out by you" in page
        and "Assigned by you" in page
        and "Record the attendance of 2 people" in page
    )
    assert decide(client, job, action="assign", key="99", who="王芳").status_code == 302  # stale: said
    assert "no longer unmatched" in client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)

    client.post(f"/staff/jobs/{job.id}/confirm")
    db.session.expire_all()
    present = {a.registration.full_name: a for a in db.session.scalars(db.select(Attendance))}
    assert set(present) == {"王芳", "Maria Fernandes"}
    assert (present["王芳"].minutes, present["王芳"].source) == (90, "participants.csv")
    assert present["王芳"].checked_in_at == session.starts_at + 3 * M  # her first join, not the import's time
    assert present["Maria Fernandes"].method.value == "meeting_import"
    assert db.session.scalar(db.select(db.func.count()).select_from(ScanLog)) == 2
    assert db.session.scalar(db.select(db.func.count()).select_from(JobFile)) == 0  # the file is gone
    assert "Done: 2 attendances recorded." in client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert decide(client, job, action="exclude", registration_id=people["王芳"].id).status_code == 302
    assert "already been confirmed" in client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)


def test_the_same_report_again_records_nothing_new(
    client, auth, make_user, workshop, people, db, runner, tmp_path
):
    auth.login(make_user(Role.COORDINATOR))
    session = workshop.sessions[0]
    checkin.redeem(session, registration=people["李娜"], override=True)  # at the door, earlier
    upload(client, workshop, zoom_report(session))
    first = latest_job(db)
    assert first.total == 1 and first.payload["warnings"] == [{"code": "already", "n": 1}]
    client.post(f"/staff/jobs/{first.id}/confirm")
    assert latest_job(db).result == {"recorded": 1, "already": 1}
    assert "1 person already recorded." in client.get(f"/staff/jobs/{first.id}").get_data(as_text=True)

    upload(client, workshop, zoom_report(session))
    again = latest_job(db)
    assert again.id != first.id and again.total == 0
    assert {p["status"] for p in again.payload["people"]} == {"already"}
    page = client.get(f"/staff/jobs/{again.id}").get_data(as_text=True)
    assert "2 people already recorded." in page and "Nothing new to record." in page
    assert f"/staff/jobs/{again.id}/confirm" not in page
    path = tmp_path / "participants.csv"
    path.write_bytes(zoom_report(session))
    result = runner.invoke(args=["attendance", "import", str(session.id), str(path)])
    assert result.exit_code == 0, result.output
    assert "0 recorded, 2 already recorded" in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(Attendance)) == 2


def test_the_columns_of_an_unknown_layout_are_chosen_on_the_page(
    client, auth, make_user, workshop, people, db
):
    auth.login(make_user(Role.COORDINATOR))
    t = workshop.sessions[0].starts_at
    rows = [  # a Zoom export in the portal's language (REAL_FILES: Chinese headers not verified)
        ["名称（原始名称）", "用户邮箱地址", "入会时刻", "离开时刻", "时间（分钟）"],
        ["王芳", "wang.fang@example.org", export.us_12h(t), export.us_12h(t + 50 * M), "50"],
    ]
    upload(client, workshop, "\r\n".join(",".join(r) for r in rows).encode(), "report.csv")
    job = latest_job(db)
    assert job.payload["needs_mapping"] and job.total == 0
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert "not one this app recognises" in page and '<details id="columns" open>' in page
    assert "用户邮箱地址" in page
    decide(client, job, action="columns", name="0", email="1", join="2", leave="3", duration="")
    job = latest_job(db)
    assert job.payload["mapping"] == {"name": 0, "email": 1, "join": 2, "leave": 3}
    assert [(p["full_name"], p["minutes"], p["status"]) for p in job.payload["people"]] == [
        ("王芳", 50, "counted")
    ]
    decide(client, job, action="columns", name="0")  # no time chosen: said, the preview kept
    assert "Choose the duration column" in client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert latest_job(db).payload["mapping"] == {"name": 0, "email": 1, "join": 2, "leave": 3}


def test_a_report_of_another_day_is_a_warning_before_confirming(
    client, auth, make_user, workshop, people, db
):
    auth.login(make_user(Role.COORDINATOR))
    upload(client, workshop, zoom_report(workshop.sessions[0], day_offset=timedelta(days=-1)))
    job = latest_job(db)
    assert [w["code"] for w in job.payload["warnings"]] == ["date_mismatch"]
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    day = workshop.sessions[0].starts_at.astimezone(workshop.zone).date()
    assert f"The report&#39;s meeting was on {day - timedelta(days=1)}, but this session is on {day}" in page
    assert job.total == 2  # still possible to record


def test_the_command_line_prints_one_json_object(runner, workshop, people, db, tmp_path):
    session = workshop.sessions[0]
    path = tmp_path / "zoom participants.csv"
    path.write_bytes(zoom_report(session, day_offset=timedelta(days=1)))
    args = ["attendance", "import", str(session.id), str(path), "--min-minutes", "50", "--json"]
    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    decision = json.loads(dry.output)
    assert set(decision) == {"counted", "too_short", "unmatched", "warnings"}
    assert decision["counted"] == [
        {
            "registration_id": people["李娜"].id,
            "email": "li.na@example.org",
            "mobile": "",
            "full_name": "李娜",
            "minutes": 120,
            "matched_by": "name",
        }
    ]
    assert decision["too_short"] == [
        {
            "registration_id": people["Maria Fernandes"].id,
            "email": "maria@example.org",  # lower case
            "mobile": "",
            "full_name": "Maria Fernandes",
            "minutes": 45,
            "matched_by": "email",
        }
    ]
    assert decision["unmatched"] == [
        {"lines": [5], "name": "李明", "minutes": 480},
        {"lines": [6, 7], "name": "Fang", "minutes": 90},
    ]
    assert len(decision["warnings"]) == 1 and "but this session is on" in decision["warnings"][0]
    assert db.session.query(Job).count() == 0 and db.session.query(Attendance).count() == 0

    real = runner.invoke(args=args)
    assert real.exit_code == 0, real.output
    assert json.loads(real.output) == decision  # the same decision, now recorded
    db.session.expire_all()
    (attendance,) = db.session.scalars(db.select(Attendance)).all()
    assert (attendance.registration_id, attendance.minutes, attendance.source) == (
        people["李娜"].id,
        120,
        "zoom participants.csv",
    )


def test_the_command_line_names_the_columns_of_an_unknown_layout(runner, workshop, people, db, tmp_path):
    t = workshop.sessions[0].starts_at
    rows = [
        ["名称（原始名称）", "用户邮箱地址", "时间（分钟）"],
        ["王芳", "wang.fang@example.org", "50"],
    ]
    path = tmp_path / "report.csv"
    path.write_text("\r\n".join(",".join(r) for r in rows), encoding="utf-8-sig")
    args = ["attendance", "import", str(workshop.sessions[0].id), str(path), "--json"]
    refused = runner.invoke(args=args)
    assert (
        refused.exit_code == 1
        and "--column FIELD=HEADER" in refused.output
        and "用户邮箱地址" in refused.output
    )
    named = runner.invoke(args=[*args, "--column", "email=用户邮箱地址", "--column", "duration=时间（分钟）"])
    assert named.exit_code == 0, named.output
    assert [(p["full_name"], p["minutes"]) for p in json.loads(named.output)["counted"]] == [("王芳", 50)]
    assert t and db.session.query(Attendance).count() == 1
    unknown = runner.invoke(args=["attendance", "import", "999999", str(path)])
    assert unknown.exit_code == 1 and "No session 999999" in unknown.output


def test_a_phone_only_person_has_their_mobile_in_e164(runner, workshop, db, tmp_path):
    from workshops.models import AttendanceMode, Registration, RegistrationStatus

    db.session.add(
        Registration(
            workshop_id=workshop.id,
            full_name="刘洋",
            email="",
            mobile="+86 138 0000 0001",
            mode=AttendanceMode.ONLINE,
            status=RegistrationStatus.CONFIRMED,
        )
    )
    db.session.commit()
    t = workshop.sessions[0].starts_at
    path = tmp_path / "zoom.csv"
    path.write_bytes(export.zoom_current([("刘洋13800000001", "", t, t + 60 * M, 60, "No")], t, t + 480 * M))
    result = runner.invoke(args=["attendance", "import", str(workshop.sessions[0].id), str(path), "--json"])
    (person,) = json.loads(result.output)["counted"]
    assert (person["mobile"], person["email"], person["matched_by"]) == ("+8613800000001", "", "phone")


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def zip_of(files):
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def zoom_with_duration(session, value):
    t = session.starts_at
    header = ",".join(export.CURRENT_HEADER)
    row = f"王芳,wang.fang@example.org,{export.us_12h(t)},{export.us_12h(t + 60 * M)},{value},No,OK,No"
    return ("\ufeff" + header + "\r\n" + row + "\r\n").encode()


@pytest.mark.parametrize(
    "name, filename, content, message",
    [
        ("empty", "participants.csv", lambda s: b"", "The file is empty."),
        ("only commas", "participants.csv", lambda s: b",,,\r\n,,\r\n", "The file is empty."),
        (
            "header only",
            "participants.csv",
            lambda s: ("\ufeff" + ",".join(export.CURRENT_HEADER) + "\r\n").encode(),
            "The file has no rows under its header row.",
        ),
        ("picture", "participants.xlsx", lambda s: PNG, "This file is not a spreadsheet"),
        ("xls", "participants.xls", lambda s: OLE2, "save it as .xlsx"),
        (
            "web page as xls",
            "participants.xls",
            lambda s: b"<html><body><table><tr><td>Name</td></tr></table></body></html>",
            "This is a web page saved with a spreadsheet",
        ),
        (
            "zip",
            "participants.xlsx",
            lambda s: zip_of({"hello.txt": "not a workbook"}),
            "not a readable XLSX",
        ),
        ("infinite", "participants.csv", lambda s: zoom_with_duration(s, "1e999"), 'Line 2: "1e999"'),
        (
            "8000 digits",
            "participants.csv",
            lambda s: zoom_with_duration(s, "9" * 8000),
            'Line 2: "999999999999999999999999…" in the column "Duration (minutes)" is not a duration',
        ),
    ],
)
def test_bad_files_are_explained_and_nothing_is_saved(
    client, auth, make_user, workshop, people, db, runner, tmp_path, name, filename, content, message
):
    auth.login(make_user(Role.COORDINATOR))
    data = content(workshop.sessions[0])
    began = time.process_time()
    response = upload(client, workshop, data, filename)
    assert time.process_time() - began < 2
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    path = tmp_path / filename
    path.write_bytes(data)
    result = runner.invoke(args=["attendance", "import", str(workshop.sessions[0].id), str(path)])
    assert result.exit_code == 1 and message in result.output  # the same words as the page
    assert db.session.query(Job).count() == 0 and db.session.query(Attendance).count() == 0


def test_bad_files_are_explained_in_chinese(client, auth, make_user, workshop, db):
    auth.login(make_user(Role.COORDINATOR))
    client.get("/language/zh")
    page = upload(client, workshop, OLE2, "participants.xls").get_data(as_text=True)
    assert "另存为 .xlsx" in page
    page = upload(client, workshop, b"", "participants.csv").get_data(as_text=True)
    assert "文件为空。" in page


def test_a_deleted_session_fails_the_job(client, auth, make_user, workshop, people, db):
    coordinator = make_user(Role.COORDINATOR)
    session = workshop.sessions[1]
    t = session.starts_at
    data = export.zoom_current([("李娜", "", t, t + 60 * M, 60, "No")], t, session.ends_at)
    job = meeting_reports.preview_report(workshop, session, "zoom.csv", data, 30, coordinator)
    assert job.total == 1
    db.session.delete(session)
    db.session.commit()
    job.status = "queued"
    db.session.commit()
    meeting_reports.run_meeting_import(job.id)
    db.session.expire_all()
    failed = db.session.get(Job, job.id)
    assert failed.status == "failed" and "deleted" in failed.error
    auth.login(coordinator)
    assert "The import stopped" in client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
