"""The sign-in sheet (签到表) of a session: printed for the door, and filled in after the event."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from tests.helpers import applicant
from workshops.extensions import db
from workshops.models import Programme, Role, WorkshopFormat
from workshops.services import checkin
from workshops.services import registration as registrations

# What these tests check (a PDF's layout and fonts) does not depend on the database.
pytestmark = pytest.mark.one_database

SHANGHAI_OFFSET = timedelta(hours=8)


def _pdf(client, url: str, tmp_path, name: str = "sheet.pdf"):
    response = client.get(url)
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/pdf"
    path = tmp_path / name
    path.write_bytes(response.data)
    return path


def _text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _info(path) -> str:
    return subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout


def _pages(path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)$", _info(path), re.M).group(1))


def _url(workshop, session, **args) -> str:
    query = "?check_ins=1" if args.get("check_ins") else ""
    return f"/staff/workshops/{workshop.id}/sessions/{session.id}/sign-in-sheet.pdf{query}"


def _register(workshop, n: int, **fields):
    return registrations.register(workshop.id, applicant(n, **fields)).registration


def test_sheet_lists_each_confirmed_onsite_person_once_in_both_languages(
    client, auth, make_user, make_workshop, tmp_path
):
    programme = Programme(code="QA", name_en="Quality Apprenticeship Phase 2", name_zh="高质量学徒制二期")
    db.session.add(programme)
    db.session.commit()
    workshop = make_workshop(onsite_capacity=3, programme=programme, venue="Yuzhong Training Centre")
    session = workshop.sessions[0]
    session.room = "Hall 3"
    db.session.commit()
    here = [
        _register(workshop, 1, full_name="王芳", organisation="重庆市人力资源和社会保障局", job_title="处长"),
        _register(workshop, 2, full_name="Maria Pereira", latin_name="", organisation="ILO Beijing"),
        _register(workshop, 3, full_name="李华", organisation="重庆市人力资源和社会保障局", job_title="科员"),
    ]
    waiting = _register(workshop, 4, full_name="候补的人")  # the onsite seats are full
    online = _register(workshop, 5, full_name="在线的人", mode="online")
    gone = _register(workshop, 6, full_name="取消的人", mode="online")
    registrations.cancel(gone, actor=None)
    assert waiting.status == "waitlisted" and online.status == "confirmed"

    auth.login(make_user(Role.COORDINATOR))
    path = _pdf(client, _url(workshop, session), tmp_path)
    text = _text(path)
    for words in (
        "签到表",
        "Sign-in sheet",
        "高质量学徒制二期",
        "Quality Apprenticeship Phase 2",
        "高质量学徒制能力建设研讨会",
        "Capacity Building Workshop on Quality Apprenticeship",
        "第一天",
        "Day 1",
        f"{workshop.starts_at.year}年3月31日 09:00–17:00 (GMT+08:00)",
        f"March 31, {workshop.starts_at.year} 09:00–17:00 (GMT+08:00)",
        "Yuzhong Training Centre, Chongqing",
        "Hall 3",
        "姓名",
        "签名",
        "手机尾号",
        "Signature",
        "第 1 页，共 1 页",
        "Page 1 of 1",
    ):
        assert words in text, words
    for person in here:
        assert text.count(person.full_name) == 1, person.full_name
        assert person.mobile[-4:] in text
    for absent in (waiting, online, gone):
        assert absent.full_name not in text
    # Only the last four digits: no longer run of a person's number appears anywhere.
    digits = re.sub(r"\D", "", text)
    for person in here:
        assert person.mobile.lstrip("+")[-8:] not in digits
    # By organisation, then name: the ILO first (Latin before CJK), then the bureau's two people.
    order = [text.index(name) for name in ("Maria Pereira", "李华", "王芳")]
    assert order == sorted(order)
    assert "应到" not in text  # before the event: no count, no times
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    listed = fonts.splitlines()[2:]
    assert listed and all("WQY-Micro-Hei" in line and " yes " in line for line in listed), fonts
    assert re.search(r"^Title:\s+签到表 — 高质量学徒制能力建设研讨会 — 第一天$", _info(path), re.M)


def test_sheet_after_the_event_shows_check_in_times_and_the_count(
    client, auth, make_user, make_workshop, tmp_path
):
    now = datetime.now(UTC)
    workshop = make_workshop(starts_at=now - timedelta(hours=2), ends_at=now + timedelta(hours=6))
    session = workshop.sessions[0]
    people = [_register(workshop, n, organisation=f"单位{n}") for n in range(1, 4)]
    online = _register(workshop, 9, full_name="线上的人", mode="online")
    arrived = [checkin.redeem(session, registration=p).attendance for p in people[:2]]
    assert checkin.redeem(session, registration=online).ok  # online: not on a sheet at the door
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    auth.login(organiser)

    text = _text(_pdf(client, _url(workshop, session, check_ins=True), tmp_path))
    for attendance in arrived:
        local = (attendance.checked_in_at.astimezone(UTC) + SHANGHAI_OFFSET).strftime("%H:%M")
        line = next(row for row in text.splitlines() if attendance.registration.full_name in row)
        assert local in line
    late = next(row for row in text.splitlines() if people[2].full_name in row)
    assert not re.search(r"\d\d:\d\d", late)
    assert "应到 3 人，已签到 2 人" in text and "2 of 3 signed in" in text
    assert "线上的人" not in text
    blank = _text(_pdf(client, _url(workshop, session), tmp_path, "blank.pdf"))
    assert not re.search(r"\b\d\d:\d\d\b(?!–)", blank.split("签到时间", 1)[1])  # the blank sheet has none


def test_an_english_only_workshop_gets_an_english_sheet_and_a_chinese_only_one_a_chinese_sheet(
    client, auth, make_user, make_workshop, tmp_path
):
    english = make_workshop(title_en="Core Skills Training", title_zh="")
    chinese = make_workshop(title_en="", title_zh="核心技能培训")
    _register(english, 1, full_name="Ana Costa")
    _register(chinese, 2, full_name="张伟")
    auth.login(make_user(Role.ADMIN))
    text = _text(_pdf(client, _url(english, english.sessions[1]), tmp_path, "en.pdf"))
    assert "Sign-in sheet" in text and "Core Skills Training" in text and "Day 2" in text
    assert "签到表" not in text and "第二天" not in text and "Ana Costa" in text
    text = _text(_pdf(client, _url(chinese, chinese.sessions[1]), tmp_path, "zh.pdf"))
    assert "签到表" in text and "核心技能培训" in text and "第二天" in text and "张伟" in text
    assert "Sign-in sheet" not in text and "Signature" not in text


def test_many_people_take_more_pages_each_with_the_header_and_page_numbers(
    client, auth, make_user, make_workshop, tmp_path
):
    workshop = make_workshop(onsite_capacity=200)
    auth.login(make_user(Role.COORDINATOR))
    _register(workshop, 0)
    one = _pages(_pdf(client, _url(workshop, workshop.sessions[0]), tmp_path, "one.pdf"))
    for n in range(1, 70):
        _register(workshop, n)
    path = _pdf(client, _url(workshop, workshop.sessions[0]), tmp_path, "many.pdf")
    pages = _text(path).split("\f")[:-1]
    assert one == 1 and len(pages) == _pages(path) >= 3
    for number, page in enumerate(pages, start=1):
        assert "签名" in page and "Signature" in page and "手机尾号" in page  # the table's head, again
        assert f"第 {number} 页，共 {len(pages)} 页" in page and f"Page {number} of {len(pages)}" in page
    assert sum(page.count("参加者") for page in pages) == 70


def test_long_names_and_organisations_wrap_inside_the_page(client, auth, make_user, make_workshop, tmp_path):
    workshop = make_workshop(title_en="A" * 280, title_zh="很长的研讨会名称" * 30)
    session = workshop.sessions[0]
    session.room = "R" * 150
    db.session.commit()
    _register(workshop, 1, full_name="欧阳" * 40, organisation="很长的单位名称" * 20, job_title="J" * 120)
    _register(workshop, 2, full_name="Bartholomew" * 12, organisation="Organisation" * 20)
    auth.login(make_user(Role.COORDINATOR))
    path = _pdf(client, _url(workshop, session), tmp_path)
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True)
    tree = ElementTree.fromstring(
        re.sub(r"<!DOCTYPE[^>]*>", "", out.stdout).replace('xmlns="http://www.w3.org/1999/xhtml"', "")
    )
    words = list(tree.iter("word"))
    width = float(next(tree.iter("page")).get("width"))
    assert words and all(float(w.get("xMax")) <= width - 20 for w in words)  # inside the 12 mm margins
    joined = "".join(w.text or "" for w in words)
    assert joined.count("欧") == joined.count("阳") == 40 and "Bartholomew" * 4 in joined  # wrapped, whole


def test_only_the_workshops_own_staff_get_its_sheet(client, auth, make_user, make_workshop):
    mine, theirs = make_workshop(), make_workshop(title_en="Another workshop")
    other = make_user(Role.ORGANISER)
    other.workshops.append(theirs)
    db.session.commit()
    auth.login(other)
    assert client.get(_url(mine, mine.sessions[0])).status_code == 403
    assert client.get(_url(mine, mine.sessions[0], check_ins=True)).status_code == 403
    auth.logout()
    auth.login(make_user(Role.COORDINATOR))
    # A session of another workshop under this workshop's address: no sheet.
    assert client.get(_url(mine, theirs.sessions[0])).status_code == 404


def test_an_online_only_workshop_sheet_says_nobody_is_expected(
    client, auth, make_user, make_workshop, tmp_path
):
    workshop = make_workshop(format=WorkshopFormat.ONLINE, onsite_capacity=0)
    _register(workshop, 1, mode="online", full_name="在线参加者")
    auth.login(make_user(Role.COORDINATOR))
    text = _text(_pdf(client, _url(workshop, workshop.sessions[0]), tmp_path))
    assert "无现场参会报名。" in text and "在线参加者" not in text


def test_a_title_that_looks_like_markup_is_only_text(client, auth, make_user, make_workshop, tmp_path):
    workshop = make_workshop(title_zh='研讨会"</style><h1>X</h1>\\', title_en="")
    _register(workshop, 1)
    auth.login(make_user(Role.COORDINATOR))
    path = _pdf(client, _url(workshop, workshop.sessions[0]), tmp_path)
    assert '研讨会"</style><h1>X</h1>\\' in _text(path)
    assert '研讨会"</style><h1>X</h1>\\' in _info(path)
