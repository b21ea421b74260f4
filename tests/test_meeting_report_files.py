"""Meeting reports of every platform, read and decided: who is counted, for how long, and why.

Each export is built in the shape REAL_FILES.md describes (tests/meeting_exports.py), with
invented people; each test says exactly who is counted and why the others are not.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import meeting_exports as export
from tests.conftest import SHANGHAI, shanghai
from tests.helpers import applicant
from workshops.models import AttendanceMode, Job, Registration, RegistrationSource, RegistrationStatus
from workshops.services import meeting_reports
from workshops.services import registration as registrations
from workshops.services.errors import InvalidInput
from workshops.services.meeting_files import Entry, duration_seconds

M = timedelta(minutes=1)
S = timedelta(seconds=1)


@pytest.fixture
def workshop(make_workshop):
    return make_workshop()  # next year, 31 March, Day 1 09:00-17:00 Shanghai


@pytest.fixture
def session(workshop):
    return workshop.sessions[0]


def register(workshop, *people):
    """Confirmed online participants: (full name, email, mobile)."""
    found = {}
    for n, (name, email, mobile) in enumerate(people):
        found[name] = registrations.register(
            workshop.id, applicant(n, mode="online", full_name=name, email=email, mobile=mobile)
        ).registration
    return found


def counted(payload):
    return {p["full_name"]: (p["minutes"], p["matched_by"], p["status"]) for p in payload["people"]}


def lines(payload):
    return {p["full_name"]: p["lines"] for p in payload["people"]}


def unmatched(payload):
    return [(u["name"], u["reason"], u["lines"], u["minutes"]) for u in payload["unmatched"]]


def codes(items):
    return [item["code"] for item in items]


# ---- Zoom meeting participants, three header styles ----------------------------------------


def test_zoom_current_export_with_its_summary(workshop, session):
    register(
        workshop,
        ("王芳", "wang.fang@example.org", ""),
        ("张三", "zhang.san@example.org", "+86 138 0000 0000"),
        ("Maria Fernandes", "maria@example.org", ""),
        ("李娜", "li.na@example.org", ""),
        ("陈静", "chen.jing@example.org", ""),
    )
    t = session.starts_at
    data = export.zoom_current(
        [
            ("李明", "host@example.org", t - 10 * M, t + 8 * 60 * M, 490, "No"),  # the host (summary)
            ("Fang (王芳)", "WANG.FANG@Example.org", t + 1 * M, t + 61 * M, 60, "No"),  # email, case differs
            ("张三13800000000", "", t + 2 * M, t + 92 * M, 90, "No"),  # the phone typed into the name
            ("Maria Fernandes", "", t - 10 * M, t, 10, "Yes"),  # waiting room: not time in the meeting
            ("Maria Fernandes", "", t, t + 4 * M + 30 * S, 5, "No"),  # two 4.5-minute stays show 5 + 5
            ("Maria Fernandes", "", t + 10 * M, t + 14 * M + 30 * S, 5, "No"),
            ("李娜", "", t, t + 180 * M, 180, "No"),
            ("李娜的iPhone", "", t + 60 * M, t + 120 * M, 60, "No"),  # her second device, overlapping
            ("陈静, 人社局", "", t + 100 * M, t + 160 * M, 60, "No"),  # a comma inside the name (quoted)
            ("iPhone", "", t + 5 * M, t + 200 * M, 195, "No"),  # a device no one named
            ("Maria's Otter.ai Notetaker", "", t, t + 60 * M, 60, "No"),  # a bot
        ],
        t,
        session.ends_at,
    )
    payload = meeting_reports.analyse(session, "participants_81234567890.csv", data, 30)
    assert payload["platform"] == "zoom" and payload["header_line"] == 4
    assert counted(payload) == {
        "王芳": (60, "email", "counted"),
        "张三": (90, "phone", "counted"),
        "Maria Fernandes": (9, "name", "too_short"),  # 9 minutes, not 10 (nor 20 with the waiting room)
        "李娜": (180, "name", "counted"),  # her devices counted once
        "陈静": (60, "name", "counted"),
    }
    assert lines(payload) == {
        "王芳": [6],
        "张三": [7],
        "Maria Fernandes": [9, 10],
        "李娜": [11, 12],
        "陈静": [13],
    }
    assert unmatched(payload) == [
        ("李明", "host", [5], 480),  # capped at the session's 8 hours
        ("iPhone", "device", [14], 195),
        ("Maria's Otter.ai Notetaker", "bot", [15], 60),
    ]
    assert payload["meeting_day"] == session.starts_at.astimezone(workshop.zone).date().isoformat()
    assert codes(payload["warnings"]) == []
    assert codes(payload["notes"]) == ["waiting_room", "zone"]


def test_zoom_legacy_title_case_export(workshop, session):
    register(workshop, ("王芳", "wang.fang@example.org", ""), ("Li Hua", "li.hua@example.org", ""))
    t = session.starts_at
    data = export.zoom_legacy(
        [
            ("Organiser", "host@example.org", t - 5 * M, t + 8 * 60 * M, 485),  # the summary's User Email
            ("王芳", "wang.fang@example.org", t + 9 * M + 15 * S, t + 50 * M, 41),
            ("王芳", "wang.fang@example.org", t + 70 * M, t + 100 * M, 30),  # rejoined
            ("LI HUA", "", t + 180 * M, t + 200 * M, 20),  # too short
            ("Visitor", "visitor@example.org", t, t + 45 * M, 45),
        ],
        t,
        session.ends_at,
    )
    payload = meeting_reports.analyse(session, "participants.csv", data, 30)
    assert payload["platform"] == "zoom" and payload["header_line"] == 4
    assert counted(payload) == {"王芳": (71, "email", "counted"), "Li Hua": (20, "name", "too_short")}
    assert unmatched(payload) == [("Organiser", "host", [5], 480), ("Visitor", "unknown", [9], 45)]


@pytest.mark.parametrize("day, warnings", [(6, []), (7, ["date_mismatch", "day_first"])])
def test_zoom_legacy_export_without_a_preamble_and_day_first_dates(make_workshop, day, warnings):
    """``06/01/2028 09:00``: day first, 24 h, and day and month both under 13. The session's date
    settles which way round; when it cannot, a 24-hour clock means day first, and the preview says so."""
    year = datetime.now(SHANGHAI).year + 1
    workshop = make_workshop(starts_at=shanghai(year, 1, day, 9), ends_at=shanghai(year, 1, day + 1, 17))
    session = workshop.sessions[0]
    register(workshop, ("Maria Fernandes", "maria@example.org", ""))
    t = shanghai(year, 1, 6, 9)
    rows = [
        ["Name (Original Name)", "User Email", "Join Time", "Leave Time", "Duration (Minutes)", "Guest"],
        [
            "Maria Fernandes",
            "maria@example.org",
            export.day_first_24h(t),
            export.day_first_24h(t + 40 * M),
            "40",
            "No",
        ],
    ]
    assert rows[1][2] == f"06/01/{year} 09:00"
    data = "\r\n".join(",".join(row) for row in rows).encode()
    payload = meeting_reports.analyse(session, "zoom.csv", data, 30)
    assert counted(payload) == {"Maria Fernandes": (40, "email", "counted")}
    assert payload["meeting_day"] == f"{year}-01-06"
    assert codes(payload["warnings"]) == warnings


def test_zoom_unique_users_has_totals_and_no_times(workshop, session):
    register(workshop, ("王芳", "wang.fang@example.org", ""), ("李娜", "li.na@example.org", ""))
    data = export.zoom_unique(
        [("李明", "host@example.org", 500), ("王芳", "wang.fang@example.org", 95), ("李娜", "", 25)],
        session.starts_at,
        session.ends_at,
    )
    payload = meeting_reports.analyse(session, "participants.csv", data, 30)
    assert payload["platform"] == "zoom_unique"
    assert counted(payload) == {"王芳": (95, "email", "counted"), "李娜": (25, "name", "too_short")}
    assert unmatched(payload) == [("李明", "host", [5], 480)]


# ---- Zoom webinar -------------------------------------------------------------------------


def test_zoom_webinar_attendee_report(workshop, session):
    register(
        workshop,
        ("王磊", "wang.lei@example.org", "+86 138 1234 5678"),
        ("张伟", "zhang.wei@example.org", "+8613700001234"),
        ("李娜", "li.na@example.org", ""),
        ("Maria Fernandes", "maria@example.org", ""),
    )
    t = session.starts_at
    data = export.zoom_webinar(
        attendees=[
            # given name first, another email: found by the phone typed on the registration form
            ("Yes", "磊 王", "磊", "王", "wl@othermail.cn", "+86 138 1234 5678", t, t + 50 * M, 50, "人社局"),
            (
                "Yes",
                "磊 王",
                "磊",
                "王",
                "wl@othermail.cn",
                "+86 138 1234 5678",
                t + 60 * M,
                t + 90 * M,
                30,
                "人社局",
            ),
            ("Yes", "张伟", "伟", "张", "", "137-0000-1234", t + 5 * M, t + 125 * M, 120, "职业学院"),
            ("No", "李娜", "娜", "李", "li.na@example.org", "", None, None, 0, "职业学院"),  # never joined
            ("Yes", "maria", "Maria", "Fernandes", "MARIA@example.org", "", t + 200 * M, t + 215 * M, 15, ""),
        ],
        hosts=[("Organiser", "host@example.org", t - 10 * M, t + 8 * 60 * M, 490)],
        panelists=[("Dr Chen", "chen@university.example", t, t + 60 * M, 60)],
        start=t,
        registered_at=t - timedelta(days=10),
    )
    assert data.decode("utf-8-sig").splitlines()[0].startswith("Attendee Report,,,")  # padded
    payload = meeting_reports.analyse(session, "attendee_report.csv", data, 30)
    assert payload["platform"] == "zoom_webinar"
    assert counted(payload) == {
        "王磊": (80, "phone", "counted"),
        "张伟": (120, "phone", "counted"),
        "Maria Fernandes": (15, "email", "too_short"),
    }
    assert unmatched(payload) == [("Organiser", "host", [8], 480), ("Dr Chen", "unknown", [12], 60)]
    assert codes(payload["notes"]) == ["never_joined", "zone"] and payload["notes"][0]["n"] == 1
    assert payload["meeting_day"] == t.astimezone(workshop.zone).date().isoformat()


# ---- Tencent Meeting ----------------------------------------------------------------------


@pytest.fixture
def tencent_people(workshop):
    return register(
        workshop,
        ("王芳", "wang.fang@example.org", ""),
        ("赵磊", "zhao.lei@example.org", "+8613912345678"),
        ("张三", "zhang.san@example.org", ""),
        ("李四", "li.si@example.org", ""),
        ("陈静", "chen.jing@example.org", ""),
    )


def tencent_rows(t):
    overview = [
        ("某某(李明)", t - 10 * M, t + 480 * M, 1, 490 * 60, "主持人"),
        ("小助手(刘老师)", t - 5 * M, t + 480 * M, 1, 485 * 60, "联席主持人"),
        ("🌻向日葵(王芳-人社局)", t + 5 * S, t + 150 * M, 3, 130 * 60, "成员"),
        ("微信用户(赵磊13912345678)", t + 30 * M, t + 75 * M, 1, 45 * 60, "成员"),
        ("张三&李四(张三＆李四)", t, t + 100 * M, 1, 100 * 60, "成员"),
        ("Sunny(陈静)", t + 420 * M, None, 1, 40 * 60, "成员"),
    ]
    detail = [
        ("某某(李明)", t - 10 * M, t + 480 * M, 490 * 60),
        ("小助手(刘老师)", t - 5 * M, t + 480 * M, 485 * 60),
        ("🌻向日葵(王芳-人社局)", t + 5 * S, t + 60 * M, 60 * 60 - 5),
        ("🌻向日葵(王芳-人社局)", t + 80 * M, t + 150 * M, 70 * 60),
        ("王芳手机(王芳-人社局)", t + 90 * M, t + 100 * M, 10 * 60),  # a second device, overlapping
        ("微信用户(赵磊13912345678)", t + 30 * M, t + 75 * M, 45 * 60),
        ("张三&李四(张三＆李四)", t, t + 100 * M, 100 * 60),
        ("Sunny(陈静)", t + 420 * M, None, 40 * 60),  # 退会时间 "--": still inside
    ]
    return overview, detail


def test_tencent_workbook_reads_the_detail_sheet_and_the_hosts_of_the_overview(
    workshop, session, tencent_people
):
    t = session.starts_at
    overview, detail = tencent_rows(t)
    data = export.tencent_xlsx(overview, detail, t, session.ends_at)
    payload = meeting_reports.analyse(session, "腾讯会议参会成员.xlsx", data, 30)
    assert payload["platform"] == "tencent_detail" and payload["sheet"] == "成员参会明细"
    assert payload["header_line"] == 9
    assert counted(payload) == {
        "王芳": (130, "name", "counted"),  # 60 + 70 minutes; the second device's 10 inside them
        "赵磊": (45, "phone", "counted"),  # the digits in her in-meeting name
        "张三": (100, "name", "counted"),  # one device, two people
        "李四": (100, "name", "counted"),
        "陈静": (60, "name", "counted"),  # still inside at 16:00: until the session's end at 17:00
    }
    assert lines(payload)["王芳"] == [12, 13, 14]
    assert unmatched(payload) == [("某某(李明)", "host", [10], 480), ("小助手(刘老师)", "cohost", [11], 480)]
    assert payload["meeting_day"] == t.astimezone(workshop.zone).date().isoformat()


def test_an_older_tencent_workbook_has_its_header_on_row_1(workshop, session, tencent_people):
    t = session.starts_at
    overview, detail = tencent_rows(t)
    payload = meeting_reports.analyse(
        session, "export.xlsx", export.tencent_xlsx(overview, detail, t, session.ends_at, header_row=1), 30
    )
    assert payload["header_line"] == 1 and payload["platform"] == "tencent_detail"
    assert set(counted(payload)) == {"王芳", "赵磊", "张三", "李四", "陈静"}
    assert [u["reason"] for u in payload["unmatched"]] == ["host", "cohost"]


def test_tencent_first_sheet_saved_as_gbk_csv(workshop, session, tencent_people):
    """Only the overview: a person's minutes are the platform's totals, within first join to last leave."""
    t = session.starts_at
    overview, _detail = tencent_rows(t)
    data = export.tencent_gbk_csv(overview, t, session.ends_at)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert b"\r\n" in data and not data.startswith(b"\xef\xbb\xbf") and "?向日葵".encode("gbk") in data
    payload = meeting_reports.analyse(session, "成员参会概况.csv", data, 30)
    assert payload["platform"] == "tencent_overview" and payload["header_line"] == 9
    assert counted(payload) == {
        "王芳": (130, "name", "counted"),  # 累计参会时长, less than her 150-minute span
        "赵磊": (45, "phone", "counted"),
        "张三": (100, "name", "counted"),
        "李四": (100, "name", "counted"),
        "陈静": (60, "name", "counted"),
    }
    assert [u["name"] for u in payload["unmatched"]] == ["某某(李明)", "小助手(刘老师)"]
    assert codes(payload["notes"]) == ["zone", "overview_only"]


# ---- Feishu -------------------------------------------------------------------------------


def test_feishu_participants_with_masked_phones(workshop, session):
    register(
        workshop,
        ("王芳", "wang.fang@example.org", "+86 139 1234 5678"),
        ("李娜", "li.na@example.org", "+8613700005678"),
        ("周杰", "zhou.jie@example.org", ""),
    )
    t = session.starts_at
    data = export.feishu_xlsx(
        [
            # cumulative 1:50:00 over a 1:59 span: she left for 9 minutes
            (
                "王芳",
                "人社局",
                "ou_7d8a6e",
                "1001",
                "+86139****5678",
                "",
                t + M,
                t + 120 * M,
                110 * 60,
                "主动离会",
            ),
            (
                "李娜",
                "职业学院",
                "ou_1a2b3c",
                "1002",
                "+86137****5678",
                "LI.NA@example.org",
                t,
                t + 58 * S,
                58,
                "主动离会",
            ),
            ("周杰", "", "ou_9f8e7d", "", "+86135****0000", "", t + 30 * M, t + 90 * M, 60 * 60, "网络断开"),
        ]
    )
    payload = meeting_reports.analyse(session, "参会人明细.xlsx", data, 30)
    assert payload["platform"] == "feishu"
    assert counted(payload) == {
        "王芳": (110, "name", "counted"),  # the masked phone neither matches nor contradicts
        "李娜": (1, "email", "too_short"),
        "周杰": (60, "name", "counted"),
    }
    assert payload["unmatched"] == []
    assert codes(payload["notes"]) == []  # Feishu's times carry their offset (GMT+08:00)


# ---- any other layout: the coordinator says which column is which -------------------------


def localised_zoom(session):
    """A Zoom export in the portal's language (REAL_FILES: headers may be localised, Chinese ones
    not verified): the app knows none of these names."""
    t = session.starts_at
    rows = [
        ["名称（原始名称）", "用户邮箱地址", "入会时刻", "离开时刻", "时间（分钟）", "访客"],
        ["王芳", "wang.fang@example.org", export.us_12h(t), export.us_12h(t + 50 * M), "50", "否"],
        ["王芳", "wang.fang@example.org", export.us_12h(t + 40 * M), export.us_12h(t + 70 * M), "30", "否"],
        ["某人", "", export.us_12h(t), export.us_12h(t + 60 * M), "60", "是"],
    ]
    return ("\ufeff" + "\r\n".join(",".join(row) for row in rows)).encode()


def test_an_unknown_layout_is_read_with_the_columns_the_coordinator_chooses(workshop, session):
    register(workshop, ("王芳", "wang.fang@example.org", ""))
    data = localised_zoom(session)
    first = meeting_reports.analyse(session, "report.csv", data, 30)
    assert first["needs_mapping"] and first["platform"] == "unknown" and first["people"] == []
    assert first["columns"][:3] == ["名称（原始名称）", "用户邮箱地址", "入会时刻"]
    by_index = {"name": "0", "email": "1", "join": "2", "leave": "3", "duration": "4", "phone": ""}
    payload = meeting_reports.analyse(session, "report.csv", data, 30, by_index)
    assert payload["platform"] == "mapped" and not payload["needs_mapping"]
    assert counted(payload) == {"王芳": (70, "email", "counted")}  # 50 + 30 overlapping: 70
    assert unmatched(payload) == [("某人", "unknown", [4], 60)]
    by_header = {"name": "名称（原始名称）", "email": "用户邮箱地址", "duration": "时间（分钟）"}
    assert counted(meeting_reports.analyse(session, "report.csv", data, 30, by_header)) == {
        "王芳": (80, "email", "counted")  # without the times, the platform's totals
    }
    with pytest.raises(InvalidInput) as error:
        meeting_reports.analyse(session, "report.csv", data, 30, {"name": "0"})
    assert "duration" in error.value.errors
    with pytest.raises(InvalidInput) as error:  # a text column as times: said, with the line
        meeting_reports.analyse(session, "report.csv", data, 30, {"name": "0", "join": "5", "leave": "3"})
    assert 'Line 2: "否" in the column "访客"' in str(error.value.message)


# ---- matching rules -----------------------------------------------------------------------


def test_namesakes_and_contradicted_names_stay_unmatched(workshop, session):
    register(
        workshop,
        ("张伟", "zhang.wei@example.org", "+8613700000001"),
        ("张 伟", "zhang.wei2@example.org", "+8613700000002"),  # the same name, written with a space
        ("王芳", "wang.fang@example.org", "+8613900000003"),
    )
    t = session.starts_at
    data = export.zoom_current(
        [
            ("张伟", "", t, t + 60 * M, 60, "No"),  # which one? unmatched
            ("张伟", "zhang.wei2@example.org", t, t + 45 * M, 45, "No"),  # the email says
            ("王芳", "wang.fang@othermail.cn", t, t + 60 * M, 60, "No"),  # another email: someone else
            ("王芳 13800009999", "", t, t + 60 * M, 60, "No"),  # another phone: someone else
            ("王芳 138****0003", "", t, t + 60 * M, 60, "No"),  # masked: neither matches nor contradicts
        ],
        t,
        session.ends_at,
        host="Organiser",
    )
    payload = meeting_reports.analyse(session, "zoom.csv", data, 30)
    assert counted(payload) == {"张 伟": (45, "email", "counted"), "王芳": (60, "name", "counted")}
    assert lines(payload)["王芳"] == [9]
    assert unmatched(payload) == [
        ("张伟", "namesakes", [5], 60),
        ("王芳", "contradicted", [7], 60),
        ("王芳 13800009999", "contradicted", [8], 60),
    ]


def test_a_phone_only_registration_is_matched_by_the_digits_in_a_name(app, workshop, session, db):
    phone_only = Registration(
        workshop_id=workshop.id,
        full_name="刘洋",
        email="",
        mobile="+8613800000001",
        mode=AttendanceMode.ONLINE,
        status=RegistrationStatus.CONFIRMED,
        source=RegistrationSource.IMPORT,
    )
    db.session.add(phone_only)
    db.session.commit()
    t = session.starts_at
    overview, detail = [], [("阳光(小刘13800000001)", t, t + 90 * M, 90 * 60)]
    data = export.tencent_xlsx(overview, detail, t, session.ends_at)
    payload = meeting_reports.analyse(session, "tencent.xlsx", data, 30)
    assert payload["people"] == [
        {
            "registration_id": phone_only.id,
            "full_name": "刘洋",
            "email": "",
            "mobile": "+8613800000001",
            "minutes": 90,
            "matched_by": "phone",
            "lines": [10],
            "status": "counted",
            "at": t.astimezone(UTC).isoformat(),
            "assigned": [],
        }
    ]


def test_the_date_of_the_meeting_is_compared_with_the_session(workshop, session):
    register(workshop, ("王芳", "wang.fang@example.org", ""))
    day_before = session.starts_at - timedelta(days=1)
    data = export.zoom_current(
        [("王芳", "wang.fang@example.org", day_before, day_before + 60 * M, 60, "No")],
        day_before,
        day_before + 8 * 60 * M,
    )
    payload = meeting_reports.analyse(session, "zoom.csv", data, 30)
    local = workshop.zone
    assert payload["warnings"] == [
        {
            "code": "date_mismatch",
            "file": day_before.astimezone(local).date().isoformat(),
            "session": session.starts_at.astimezone(local).date().isoformat(),
        }
    ]
    assert counted(payload) == {"王芳": (60, "email", "counted")}  # a warning, not a refusal


def test_minutes_are_the_union_of_stays_rounded_and_capped(workshop, session):
    t = session.starts_at

    def entry(start, end, seconds, inside=False):
        return Entry(1, "x", [], t + start, None if inside else t + end, inside, seconds)

    minutes = meeting_reports.minutes_of
    assert minutes([entry(0 * M, 4 * M + 30 * S, 300), entry(10 * M, 14 * M + 30 * S, 300)], session) == 9
    assert minutes([entry(0 * M, 4 * M + 29 * S, 300)], session) == 4  # 4:29 rounds down...
    assert minutes([entry(0 * M, 4 * M + 30 * S, 300)], session) == 5  # ...4:30 up
    assert (
        minutes([entry(0 * M, 60 * M, 3600), entry(30 * M, 90 * M, 3600)], session) == 90
    )  # devices overlap
    assert minutes([entry(0 * M, 120 * M, 110 * 60)], session) == 110  # a span with the total less
    assert minutes([entry(-60 * M, 600 * M, None)], session) == 480  # capped at the session's 8 hours
    assert minutes([entry(7 * 60 * M, 0 * M, 600, inside=True)], session) == 60  # "--": to the end
    assert minutes([Entry(1, "x", [], None, None, False, 45 * 60)], session) == 45  # no times: the total


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("83", 83 * 60),
        ("83.5", 83 * 60 + 30),
        ("01:23:45", 5025),
        ("1:02:03", 3723),
        ("83分钟", 83 * 60),
        ("1小时23分钟", 83 * 60),
        ("1.5小时", 90 * 60),
        ("1.5 hours", 90 * 60),
        ("90 min", 90 * 60),
        ("1:30", 90 * 60),  # a spreadsheet's h:mm
        ("45:30", 45 * 60 + 30),  # mm:ss
        ("１２０", 120 * 60),  # full-width digits
        ("", None),
        ("--", None),
    ],
)
def test_durations_in_the_shapes_platforms_write_them(value, seconds):
    assert duration_seconds(value) == seconds


@pytest.mark.parametrize("value", ["1e999", "9" * 8000, "inf", "NaN", "-5", "n minutes", "1" * 7])
def test_a_duration_that_is_not_one_is_refused_at_once(value):
    began = time.process_time()
    with pytest.raises(ValueError):
        duration_seconds(value)
    assert time.process_time() - began < 0.05


def test_nothing_is_written_by_an_analysis(workshop, session, db):
    register(workshop, ("王芳", "wang.fang@example.org", ""))
    t = session.starts_at
    data = export.zoom_current(
        [("王芳", "wang.fang@example.org", t, t + 60 * M, 60, "No")], t, session.ends_at
    )
    meeting_reports.analyse(session, "zoom.csv", data, 30)
    assert db.session.query(Job).count() == 0


# ---- anything at all ---------------------------------------------------------------------

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 40)),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
cells = st.text(max_size=30) | st.sampled_from(
    [
        "Name (original name)",
        "Join time",
        "Leave time",
        "Duration (minutes)",
        "--",
        "1e999",
        "张三&李四(张三＆李四)",
    ]
)


@FUZZ
@given(data=st.binary(max_size=3000))
def test_any_bytes_give_a_report_or_a_message(app, data):
    from zoneinfo import ZoneInfo

    from workshops.services.meeting_files import read_report

    with app.test_request_context():
        try:
            read_report(data, ZoneInfo("Asia/Shanghai"))
        except InvalidInput as error:
            assert str(error.errors["file"]).strip()


@FUZZ
@given(table=st.lists(st.lists(cells, min_size=1, max_size=8), min_size=1, max_size=12))
def test_any_table_gives_a_preview_or_a_message(app, session, table):
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows([export.CURRENT_HEADER, *table])
    with app.test_request_context():
        try:
            payload = meeting_reports.analyse(session, "x.csv", out.getvalue().encode(), 30)
        except InvalidInput as error:
            assert str(error.message).strip()
        else:
            assert all(p["minutes"] <= 480 for p in payload["people"])


@pytest.mark.parametrize(
    "text, day_first, expected",
    [
        ("11/15/2025 01:45:02 PM", False, (2025, 11, 15, 13, 45, 2, 8)),  # Zoom, United States
        ("11/19/2021 9:54:15 AM", False, (2021, 11, 19, 9, 54, 15, 8)),
        ("11/19/2021 12:05:00 AM", False, (2021, 11, 19, 0, 5, 0, 8)),  # midnight on a 12-hour clock
        ("01/06/2023 00:00", True, (2023, 6, 1, 0, 0, 0, 8)),  # day first, 24 h
        ("Nov 22, 2025 6:55 PM", False, (2025, 11, 22, 18, 55, 0, 8)),  # a webinar's summary
        ("Nov 22, 2025 18:58:10", False, (2025, 11, 22, 18, 58, 10, 8)),  # and its rows
        ("2025-11-22 18:58:10", False, (2025, 11, 22, 18, 58, 10, 8)),  # Tencent Meeting
        ("2022.07.21 11:04:52 (GMT+08:00)", False, (2022, 7, 21, 11, 4, 52, 8)),  # Feishu
        ("2022.07.21 11:04:52 (GMT+09:00)", False, (2022, 7, 21, 11, 4, 52, 9)),
        ("2025-11-22T10:58:10Z", False, (2025, 11, 22, 10, 58, 10, 0)),
        ("２０２５－１１－２２　１８：５８", False, (2025, 11, 22, 18, 58, 0, 8)),  # full-width
    ],
)
def test_every_date_style_of_the_platforms(text, day_first, expected):
    from zoneinfo import ZoneInfo

    from workshops.services.meeting_files import Clock

    moment = Clock(ZoneInfo("Asia/Shanghai"), day_first=day_first).read(text)
    *wall, hours = expected
    assert (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second) == tuple(wall)
    assert moment.utcoffset() == timedelta(hours=hours)


@pytest.mark.parametrize(
    "text", ["13/45/2025 10:00", "2025-02-30 10:00:00", "11/15/2025 13:00 PM", "yesterday", "9" * 70]
)
def test_a_time_that_is_not_one_is_refused(text):
    from zoneinfo import ZoneInfo

    from workshops.services.meeting_files import Clock, Unreadable

    with pytest.raises(Unreadable):
        Clock(ZoneInfo("Asia/Shanghai")).read(text)


def test_a_workbook_too_big_to_read_quickly_is_refused_quickly(app, monkeypatch):
    import io
    from zoneinfo import ZoneInfo

    from openpyxl import Workbook

    from workshops.services import meeting_files

    monkeypatch.setattr(meeting_files, "MAX_CELLS", 2_000)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("成员参会明细")
    for n in range(1_000):
        sheet.append([f"某某(参会者{n})", "2027-03-31 09:00:00", "2027-03-31 10:00:00", "1:00:00"])
    out = io.BytesIO()
    book.save(out)
    with app.test_request_context(), pytest.raises(InvalidInput) as error:
        meeting_files.read_report(out.getvalue(), ZoneInfo("Asia/Shanghai"))
    assert "more than 2000 filled cells" in str(error.value.message)
