"""The programme report's figures against a programme counted by hand, and its documents as a
ministry reads them: Chinese labels in the page, the XLSX and the PDF, bundled fonts only.

The programme (all times relative to now):
  A  held 30 days ago   p1 (a@, m1) came · p2 (b@, m2) came online (join link) · p3 no-show
  B  held 10 days ago   p1 again (A@ upper-cased, another mobile) · p2 again (another email,
                        mobile m2; registered online, came to the door) · p4 · p5 came
                        (registered online, checked in by hand: online) · p6 no-show
  C  in 30 days         p8 registered (planned: counted nowhere)
  D  held 20 days ago, then cancelled: p7 came (counted nowhere)
  E  another programme: p9 came (counted nowhere)
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from tests.helpers import applicant
from tests.test_surveys import answers
from workshops.models import CheckInMethod, Programme, RegistrationSource, Role, WorkshopStatus
from workshops.services import checkin, reports, surveys
from workshops.services import registration as registrations

LONG_TITLE_ZH = "关于在全国试点城市推进高质量学徒制和职业技能提升行动的能力建设研讨会（第二期）暨经验交流会"


def pdf_text(path, *pages) -> str:
    extra = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
    return subprocess.run(
        ["pdftotext", "-layout", *extra, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_fonts(path) -> list[str]:
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in lines.splitlines()[2:] if line.strip()]


def pdf_info(path) -> dict[str, str]:
    lines = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return dict(line.split(":", 1) for line in lines.splitlines() if ":" in line)


def only_bundled(fonts: list[str]) -> bool:
    # A subset font is named "ABCDEF+Name": each must be the bundled WenQuanYi Micro Hei
    # (its bold and oblique are WeasyPrint's synthesised faces of the same file).
    return bool(fonts) and all(re.fullmatch(r"[A-Z]{6}\+WQY-Micro-Hei(-Bold|-Oblique)?", f) for f in fonts)


@pytest.fixture
def programme(db, make_workshop, make_user):
    """The programme of the module's docstring, with surveys answered at A and B."""
    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    other = Programme(code="XX", name_en="Another programme", name_zh="其他项目")
    db.session.add_all([programme, other])
    db.session.commit()
    now = datetime.now(UTC)

    def held(days_ago, **extra):
        start = now - timedelta(days=days_ago)
        return make_workshop(programme=programme, starts_at=start, ends_at=start + timedelta(days=1), **extra)

    a = held(30, title_en="Workshop A", title_zh=LONG_TITLE_ZH)
    b = held(10, title_en="Workshop B", title_zh="研讨会乙")
    c = make_workshop(
        programme=programme,
        title_en="Workshop C",
        title_zh="研讨会丙",
        starts_at=now + timedelta(days=30),
        ends_at=now + timedelta(days=31),
    )
    d = held(20, title_en="Workshop D", title_zh="研讨会丁")
    e = make_workshop(
        programme=other,
        title_en="Workshop E",
        starts_at=now - timedelta(days=5),
        ends_at=now - timedelta(days=4),
    )

    def person(workshop, n, came=True, method=CheckInMethod.QR, **profile):
        registration = registrations.register(
            workshop.id, applicant(n, **profile), source=RegistrationSource.WALK_IN
        ).registration
        if came:
            checkin.redeem(workshop.sessions[0], registration=registration, override=True, method=method)
        return registration

    people = {
        "a1": person(a, 1, email="a@example.org", mobile="+86 139 0000 0001", gender="woman",
                     organisation_type="government", city="北京", mode="onsite"),
        "a2": person(a, 2, email="b@example.org", mobile="+86 139 0000 0002", gender="man",
                     organisation_type="employers", city="", mode="online", method=CheckInMethod.JOIN_LINK),
        "a3": person(a, 3, came=False, gender="woman", organisation_type="workers", city="上海"),
        "b1": person(b, 1, email="A@Example.org", mobile="+86 139 0000 0091", gender="woman",
                     organisation_type="government", city="北京", mode="onsite"),
        "b2": person(b, 2, email="b2@example.org", mobile="+86 139 0000 0002", gender="man",
                     organisation_type="employers", city="上海", mode="online"),
        "b4": person(b, 4, gender="undisclosed", organisation_type="tvet", city="  ", mode="onsite"),
        "b5": person(b, 5, gender="woman", organisation_type="enterprise", city="上海", mode="online",
                     method=CheckInMethod.MANUAL),
        "b6": person(b, 6, came=False, gender="man", organisation_type="research", city=""),
    }  # fmt: skip
    person(c, 8, came=False, gender="another")
    person(d, 7, gender="another", organisation_type="other", city="广州")
    person(e, 9, gender="another", organisation_type="other", city="广州")
    d.status = WorkshopStatus.CANCELLED
    db.session.commit()

    coordinator = make_user(Role.COORDINATOR)
    for workshop in (a, b):
        surveys.apply_template(surveys.survey_for(workshop), coordinator)
    surveys.send_due_invitations()
    survey_a, survey_b = surveys.survey_for(a), surveys.survey_for(b)
    surveys.submit(
        survey_a,
        people["a1"],
        answers(
            survey_a,
            relevance="5",
            content="4",
            facilitators="4",
            organisation="3",
            knowledge_before="2",
            knowledge_after="4",
            recommend="10",
        ),
    )
    surveys.submit(
        survey_a,
        people["a2"],
        answers(
            survey_a,
            relevance="3",
            content="4",
            facilitators="2",
            organisation="5",
            knowledge_before="1",
            knowledge_after="3",
            recommend="6",
            apply="1",
            most_useful="很好 👍 مرحبا",  # not all in the bundled font
        ),
    )
    surveys.submit(survey_b, people["b4"], answers(survey_b, relevance="4", content="5", facilitators="5",
                   organisation="4", recommend="9"))  # fmt: skip
    return {
        "programme": programme, "a": a, "b": b, "c": c, "d": d, "coordinator": coordinator, "now": now,
        "people": people,
    }  # fmt: skip


def shares(report, name):
    return [(s.code, s.count, s.percent) for s in report["breakdown"][name]]


def test_the_figures_are_those_counted_by_hand(programme):
    report = reports.programme_report(programme["programme"])
    # Held: A and B. C is still to come, D was cancelled, E is another programme's.
    assert [w["workshop"].title_en for w in report["workshops"]] == ["Workshop A", "Workshop B"]
    assert report["planned"] == []  # with no period chosen, only what was held
    assert report["workshops_held"] == 2
    assert (report["confirmed"], report["attendances"]) == (8, 6)
    assert (report["attendance_rate"], report["no_show_rate"]) == (75.0, 25.0)
    a, b = report["workshops"]
    assert (a["confirmed"], a["attended"], a["no_show_rate"]) == (3, 2, 33.3)
    assert (b["confirmed"], b["attended"], b["no_show_rate"]) == (5, 4, 20.0)

    # p1 twice by email (case ignored), p2 twice by mobile with another email: 4 people.
    assert report["unique_participants"] == 4
    # Each described by the latest registration: p2 gave a city at B.
    assert shares(report, "gender") == [
        ("woman", 2, 50.0), ("man", 1, 25.0), ("another", 0, 0.0), ("undisclosed", 1, 25.0)
    ]  # fmt: skip
    assert shares(report, "organisation_type") == [
        ("government", 1, 25.0), ("employers", 1, 25.0), ("workers", 0, 0.0), ("enterprise", 1, 25.0),
        ("tvet", 1, 25.0), ("research", 0, 0.0), ("other", 0, 0.0),
    ]  # fmt: skip
    # Most frequent first, by division (上海 typed is 上海市 3101); a blank city (spaces too) is
    # "Not given", last.
    assert shares(report, "city") == [("3101", 2, 50.0), ("1101", 1, 25.0), ("", 1, 25.0)]
    # How they attended (the check-ins), not how they registered: p2 registered online both
    # times but came to B's door, so attended both ways; p5 was checked in by hand, as registered.
    assert shares(report, "mode") == [("onsite", 2, 50.0), ("online", 1, 25.0), ("both", 1, 25.0)]

    cross = report["cross_table"]
    assert [c["code"] for c in cross["columns"]] == [
        "government", "employers", "workers", "enterprise", "tvet", "research", "other"
    ]  # fmt: skip
    assert {r["code"]: r["cells"] for r in cross["rows"]} == {
        "woman": [1, 0, 0, 1, 0, 0, 0],
        "man": [0, 1, 0, 0, 0, 0, 0],
        "another": [0, 0, 0, 0, 0, 0, 0],
        "undisclosed": [0, 0, 0, 0, 1, 0, 0],
    }
    assert cross["totals"] == [1, 1, 0, 1, 1, 0, 0] and cross["total"] == 4
    assert [r["total"] for r in cross["rows"]] == [2, 1, 0, 1]

    # Satisfaction: the mean of the four satisfaction questions' means; NPS from "recommend".
    assert a["means"] == {
        "relevance": 4.0, "content": 4.0, "facilitators": 3.0, "organisation": 4.0,
        "knowledge_before": 1.5, "knowledge_after": 3.5, "recommend": 8.0,
    }  # fmt: skip
    assert (a["satisfaction"], a["nps"]) == (3.75, 0)  # one promoter, one detractor
    assert (b["satisfaction"], b["nps"]) == (4.5, 100)
    assert (a["invited"], a["answered"], a["response_rate"]) == (2, 2, 100.0)
    assert (b["invited"], b["answered"], b["response_rate"]) == (4, 1, 25.0)
    assert (report["invited"], report["answered"], report["response_rate"]) == (6, 3, 50.0)


def test_a_period_shows_the_workshops_still_to_come_apart_and_counts_them_nowhere(programme):
    now = programme["now"]
    everything = reports.programme_report(
        programme["programme"], start=now - timedelta(days=60), end=now + timedelta(days=60)
    )
    assert [p["workshop"].title_en for p in everything["planned"]] == ["Workshop C"]
    assert everything["planned"][0]["registrations"] == 1
    assert everything["workshops_held"] == 2 and everything["attendance_rate"] == 75.0
    assert everything["unique_participants"] == 4 and everything["registrations"] == 8

    recent = reports.programme_report(programme["programme"], start=now - timedelta(days=15))
    assert [w["workshop"].title_en for w in recent["workshops"]] == ["Workshop B"]
    assert (recent["confirmed"], recent["attendances"], recent["attendance_rate"]) == (5, 4, 80.0)
    assert recent["unique_participants"] == 4  # p1 and p2 came to B too
    assert shares(recent, "city") == [("3101", 2, 50.0), ("1101", 1, 25.0), ("", 1, 25.0)]


def test_people_are_one_when_an_email_or_a_mobile_matches_across_registrations(app):
    with app.test_request_context():
        rows = [
            (1, "li@example.org", "+8613900000001", "woman"),
            (2, "li.hua@example.org", "+8613900000001", "woman"),  # the same mobile
            (3, "li.hua@example.org", "", "undisclosed"),  # the same email as 2: still Li
            (4, "", "+8613900000004", "man"),
            (5, "wang@example.org", "", "man"),
        ]
        people = reports.unique_people(rows)
    assert sorted(people) == [("man",), ("man",), ("undisclosed",)]  # Li as at her latest


def test_the_page_speaks_chinese_with_labels_not_codes(client, auth, programme):
    auth.login(programme["coordinator"])
    page = client.get(
        f"/staff/programmes/{programme['programme'].id}/report", headers={"Accept-Language": "zh-CN"}
    ).get_data(as_text=True)
    for label in ("女", "男", "不愿透露", "政府机构", "雇主组织", "职业院校", "未填写", "线上", "现场"):
        assert label in page, label
    assert "会前对主题的了解（1–5）" in page and "性别 × 单位类型" in page
    assert "截至" in page and "生成时间" in page
    assert "50.0%" in page  # shares as percentages
    body = page.split("<main", 1)[-1]
    for code in ("woman", "tvet", "knowledge_before", "undisclosed"):
        assert code not in body, code
    assert '<th scope="row"></th>' not in body  # a blank city is "Not given", not an empty label
    assert "参会方式（按实际出席）" in page and "现场和线上均有" in page
    # The downloads in each language, the period chosen kept.
    url = f"/staff/programmes/{programme['programme'].id}/report"
    dated = client.get(f"{url}?from=2026-01-01&lang=en", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )
    links = re.findall(r"report\.[a-z]+\?[^\"]*", dated)
    assert links == [
        "report.pdf?from=2026-01-01", "report.pdf?lang=zh&amp;from=2026-01-01",
        "report.pdf?lang=en&amp;from=2026-01-01", "report.xlsx?from=2026-01-01",
        "report.xlsx?lang=zh&amp;from=2026-01-01", "report.xlsx?lang=en&amp;from=2026-01-01",
        "report.xlsx?lang=both&amp;from=2026-01-01",
    ]  # fmt: skip
    assert "中英双语" in dated
    # Whatever else the address carries stays out of the documents' links (and breaks nothing).
    for stray in ("fmt=pdf", "programme_id=7", "_method=POST", "_external=1", "_anchor=x", "lang=xx"):
        odd = client.get(f"{url}?from=2026-01-01&{stray}")
        assert odd.status_code == (400 if stray == "lang=xx" else 200), stray
        if odd.status_code == 200:
            assert (
                re.findall(r"report\.[a-z]+\?[^\"]*", odd.get_data(as_text=True))[0]
                == "report.pdf?from=2026-01-01"
            )


def rows_of(sheet):
    """The rows under the header (row 3, as every download of the export layer has it)."""
    return [[cell.value for cell in row] for row in sheet.iter_rows(min_row=4)]


def by_label(sheet) -> dict:
    return {row[0]: row[1:] for row in rows_of(sheet)}


def test_the_xlsx_has_a_title_row_a_frozen_header_and_typed_cells_in_chinese(client, auth, programme):
    programme["coordinator"].name = "王芳"
    auth.login(programme["coordinator"])
    response = client.get(
        f"/staff/programmes/{programme['programme'].id}/report.xlsx", headers={"Accept-Language": "zh-CN"}
    )
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [
        "概览", "研讨会", "问题对比", "性别", "单位类型", "城市", "省份", "参会方式", "性别 × 单位类型",
    ]  # fmt: skip
    overview = book["概览"]
    assert overview["A1"].value == "项目报告: 高质量学徒制 / Quality Apprenticeship"
    assert "截至" in overview["A2"].value and "王芳" in overview["A2"].value
    assert [c.value for c in overview[3]] == ["指标", "数值"]
    assert overview.freeze_panes == "A4" and overview.auto_filter.ref.startswith("A3:")
    figures = by_label(overview)
    assert figures["统计期间"][0].startswith("截至") and "生成时间" in figures["生成时间"][0]
    assert figures["制表人"] == ["王芳"]
    assert figures["参与人数（去重）"] == [4] and figures["举办研讨会场次"] == [2]
    # Rates are numbers a spreadsheet can average, shown as percentages.
    rate = next(row[1] for row in overview.iter_rows(min_row=4) if row[0].value == "出席率")
    assert (rate.value, rate.data_type, rate.number_format) == (0.75, "n", "0.0%")

    workshops = book["研讨会"]
    header = [cell.value for cell in workshops[3]]
    assert header[:9] == [
        "研讨会", "开始时间", "举办形式", "城市", "报名人数（已确认）", "已出席", "缺席率",
        "满意度（1–5）", "NPS",
    ]  # fmt: skip
    first = rows_of(workshops)[0]
    assert first[0] == LONG_TITLE_ZH and isinstance(first[1], datetime) and first[2] == "线上线下结合"
    assert workshops.cell(4, 2).number_format == "yyyy-mm-dd"
    # Registered, attended, no-show rate, satisfaction and NPS side by side, each typed.
    assert first[4:9] == [3, 2, 0.333, 3.75, 0]
    assert workshops.cell(4, 7).number_format == "0.0%"
    assert {workshops.cell(4, column).data_type for column in range(5, 10)} == {"n"}
    compared = book["问题对比"]
    assert [c.value for c in compared[3]][2:] == [
        "与工作的相关性（1–5）", "内容质量（1–5）", "主讲人（1–5）", "会务组织和后勤（1–5）",
        "会前对主题的了解（1–5）", "会后对主题的了解（1–5）", "推荐意愿（0–10）",
    ]  # fmt: skip
    means = {row[0]: row[2:] for row in rows_of(compared)}
    assert means == {
        LONG_TITLE_ZH: [4.0, 4.0, 3.0, 4.0, 1.5, 3.5, 8.0],
        "研讨会乙": [4.0, 5.0, 5.0, 4.0, 2.0, 4.0, 9.0],
    }
    gender = by_label(book["性别"])
    assert gender == {"女": [2, 0.5], "男": [1, 0.25], "其他性别": [0, 0], "不愿透露": [1, 0.25]}
    assert book["性别"].cell(4, 3).number_format == "0.0%"
    organisations = [row[0] for row in rows_of(book["单位类型"])]
    assert organisations == ["政府机构", "雇主组织", "工人组织", "企业", "职业院校", "研究/学术机构", "其他"]
    assert [row[0] for row in rows_of(book["城市"])] == ["上海市", "北京市", "未填写"]  # the divisions' names
    assert by_label(book["参会方式"]) == {
        "现场": [2, 0.5], "线上": [1, 0.25], "现场和线上均有": [1, 0.25],
    }  # fmt: skip
    cross = book["性别 × 单位类型"]
    assert [c.value for c in cross[3]][:4] == ["性别", "政府机构", "雇主组织", "工人组织"]
    assert [c.value for c in cross[cross.max_row]] == ["合计", 1, 1, 0, 1, 1, 0, 0, 4]
    values = [c.value for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    for code in ("woman", "tvet", "knowledge_before", "undisclosed", "hybrid", "onsite", "both"):
        assert code not in [str(v) for v in values], code
    assert not any(isinstance(v, str) and v.startswith("'") for v in values)  # no apostrophes


def test_the_xlsx_in_english_and_bilingual(client, auth, programme):
    auth.login(programme["coordinator"])
    url = f"/staff/programmes/{programme['programme'].id}/report.xlsx"
    # The language asked for wins over the page's.
    book = load_workbook(io.BytesIO(client.get(f"{url}?lang=en", headers={"Accept-Language": "zh-CN"}).data))
    assert book.sheetnames[:3] == ["Overview", "Workshops", "Questions compared"]
    assert "City" in book.sheetnames and "Province" in book.sheetnames
    assert book["Overview"]["A1"].value.startswith("Programme report: ")
    assert "All workshops held until" in by_label(book["Overview"])["Period"][0]
    assert rows_of(book["Workshops"])[0][0] == "Workshop A"
    mode = book["Attendance mode"]  # a sheet's name is short; its header says how it is counted
    assert mode["A3"].value == "Attendance mode (as they attended)"
    assert by_label(mode) == {
        "Onsite": [2, 0.5], "Online": [1, 0.25], "Both onsite and online": [1, 0.25],
    }  # fmt: skip
    assert by_label(book["Gender"])["Woman"] == [2, 0.5]

    both = load_workbook(io.BytesIO(client.get(f"{url}?lang=both").data))
    assert both.sheetnames[0] == "概览 Overview"
    assert [c.value for c in both["性别 Gender"][3]] == [
        "性别 Gender",
        "参会者 Participants",
        "占参与者比例 Share of participants",
    ]
    assert "女 Woman" in by_label(both["性别 Gender"])
    assert rows_of(both["研讨会 Workshops"])[1][0] == "研讨会乙 / Workshop B"

    # A language nobody offers: a clear message in the reader's language, no file.
    wrong = client.get(f"{url}?lang=fr", headers={"Accept-Language": "zh-CN"})
    assert wrong.status_code == 400 and "zh（中文）" in wrong.get_data(as_text=True)


def test_a_formula_typed_as_a_city_stays_text_without_an_apostrophe(
    client, auth, make_workshop, make_user, db
):
    programme = Programme(code="FX", name_en="Formulas", name_zh="公式")
    db.session.add(programme)
    db.session.commit()
    now = datetime.now(UTC)
    workshop = make_workshop(
        programme=programme, starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=2)
    )
    for n, city in enumerate(['=HYPERLINK("http://evil.example","x")', "+86", "@SUM(1)"]):
        registration = registrations.register(
            workshop.id, applicant(n, city=city), source=RegistrationSource.WALK_IN
        ).registration
        checkin.redeem(workshop.sessions[0], registration=registration, override=True)
    auth.login(make_user(Role.COORDINATOR))
    book = load_workbook(io.BytesIO(client.get(f"/staff/programmes/{programme.id}/report.xlsx").data))
    cells = [row[0] for row in book["City"].iter_rows(min_row=4)]
    assert sorted(c.value for c in cells) == sorted(
        ['=HYPERLINK("http://evil.example","x")', "+86", "@SUM(1)"]
    )
    assert {c.data_type for c in cells} == {"s"}  # text, never a formula


def test_the_pdf_is_bilingual_with_charts_and_says_period_time_and_author_on_every_page(
    client, auth, programme, tmp_path
):
    coordinator = programme["coordinator"]
    coordinator.name = "王芳"
    auth.login(coordinator)
    path = tmp_path / "report.pdf"
    response = client.get(f"/staff/programmes/{programme['programme'].id}/report.pdf")
    assert response.status_code == 200
    path.write_bytes(response.data)
    info = pdf_info(path)
    assert "项目报告" in info["Title"] and "Quality Apprenticeship" in info["Title"]
    assert only_bundled(pdf_fonts(path)), pdf_fonts(path)
    pages = int(info["Pages"])
    assert pages >= 2
    for page in range(1, pages + 1):
        text = pdf_text(path, page)
        assert "生成时间" in text and "王芳" in text and "截至" in text, page
        assert "Generated" in text and "All workshops held until" in text, page
    text = pdf_text(path)
    for label in ("女", "Woman", "政府机构", "Government agency", "未填写", "Not given", "性别 × 单位类型"):
        assert label in text, label
    assert "会前对主题的了解（1–5）" in text and "Knowledge before the workshop (1–5)" in text
    for code in ("woman", "tvet", "knowledge_before", "undisclosed"):
        assert code not in text, code
    # The per-question charts: each workshop's mean beside its (shortened) title.
    assert text.count("研讨会乙") >= 8  # the tables, and one bar per compared question
    assert "…" in text  # the long title ends in an ellipsis where it has no room


def test_the_chinese_pdf_says_author_and_period_on_every_page_in_the_bundled_font(
    client, auth, programme, tmp_path
):
    coordinator = programme["coordinator"]
    coordinator.name = "王芳"
    auth.login(coordinator)
    path = tmp_path / "report-zh.pdf"
    response = client.get(f"/staff/programmes/{programme['programme'].id}/report.pdf?lang=zh")
    assert response.status_code == 200
    path.write_bytes(response.data)
    info = pdf_info(path)
    assert info["Title"].strip() == "项目报告 · 高质量学徒制"
    assert only_bundled(pdf_fonts(path)), pdf_fonts(path)
    pages = int(info["Pages"])
    assert pages >= 2
    for page in range(1, pages + 1):
        text = pdf_text(path, page)
        assert "王芳" in text and "截至" in text and "生成时间" in text, page
    text = pdf_text(path)
    # The figures counted by hand, with their shares, and the mode as people attended.
    assert "参会方式（按实际出席）" in text and "现场和线上均有" in text
    assert re.search(r"现场\s+2\s+50\.0%", text) and re.search(r"线上\s+1\s+25\.0%", text)
    assert "受邀 6 人，已回复 3 人" in text
    # Workshops are numbered, so the shortened titles of the charts still tell them apart.
    assert "1. 关于在全国试点城市" in text and "2. 研讨会乙" in text
    for english in ("Woman", "Generated", "Programme report", "Workshop B"):
        assert english not in text, english


def test_the_survey_summary_pdf_names_its_filters_and_choices_in_both_languages(
    client, auth, programme, tmp_path
):
    auth.login(programme["coordinator"])
    path = tmp_path / "summary.pdf"
    before = os.environ.get("FONTCONFIG_FILE")
    response = client.get(f"/staff/workshops/{programme['a'].id}/survey/summary.pdf?mode=online")
    assert response.status_code == 200
    path.write_bytes(response.data)
    assert only_bundled(pdf_fonts(path)), pdf_fonts(path)
    assert os.environ.get("FONTCONFIG_FILE") == before  # the process's own fontconfig untouched
    assert "反馈汇总" in pdf_info(path)["Title"]
    text = pdf_text(path)
    assert "参会方式：线上" in text and "Attendance mode: Online" in text
    assert "mode: online" not in text
    assert "是，以后应用" in text and "Yes, later" in text  # p2 (online) chose the second option
    # p2's emoji and Arabic are not in the bundled font: drawn as its empty boxes, never in a
    # system font (the only_bundled check above), and the Chinese of the answer is all there.
    assert "很好" in text


def test_a_programme_with_nothing_held_yet_reports_zeros_and_no_rates(
    client, auth, make_workshop, make_user, db
):
    programme = Programme(code="NW", name_en="New", name_zh="新项目")
    db.session.add(programme)
    db.session.commit()
    workshop = make_workshop(programme=programme)  # next year
    registrations.register(workshop.id, applicant(1), source=RegistrationSource.WALK_IN)
    report = reports.programme_report(programme)
    assert (report["workshops_held"], report["unique_participants"], report["confirmed"]) == (0, 0, 0)
    assert report["attendance_rate"] is None and report["no_show_rate"] is None  # not 100 % no-show
    assert all(share.percent is None for share in report["breakdown"]["gender"])
    auth.login(make_user(Role.COORDINATOR))
    for suffix in ("", ".xlsx", ".pdf"):
        assert client.get(f"/staff/programmes/{programme.id}/report{suffix}").status_code == 200, suffix


def test_someone_checked_in_then_cancelled_keeps_the_rates_between_0_and_100(programme, db):
    """p1 came to A and cancelled afterwards (a change of plans for day 2): A counts the
    confirmed who came, so its attendance stays at most 100 % and no-show at least 0."""
    registrations.cancel(programme["people"]["a1"])
    report = reports.programme_report(programme["programme"])
    a = report["workshops"][0]
    assert (a["confirmed"], a["attended"], a["no_show_rate"]) == (2, 1, 50.0)
    assert (report["confirmed"], report["attendances"], report["attendance_rate"]) == (7, 5, 71.4)


def test_a_report_reader_sees_no_group_of_fewer_than_five_people(programme):
    """The same programme as counted by hand, read by the donor: every group here is under five
    people, so no count is given (nor a share), and the cities are pooled."""
    report = reports.programme_report(programme["programme"], aggregates_only=True)
    few = reports.FEW
    assert shares(report, "gender") == [
        ("woman", few, None), ("man", few, None), ("another", 0, 0.0), ("undisclosed", few, None)
    ]  # fmt: skip
    assert shares(report, "city") == [(reports.OTHER_CITIES_CODE, few, None), ("", few, None)]
    cross = report["cross_table"]
    assert {r["code"]: r["cells"] for r in cross["rows"]}["woman"] == [few, 0, 0, few, 0, 0, 0]
    assert cross["total"] == few and report["unique_participants"] == 4
