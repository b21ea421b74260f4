"""Nomination lists taken as they come (the shapes of /work/shared/REAL_FILES.md, invented people):
title rows, 序号, totals and signatures, bilingual headers, merged cells, full-width characters,
Excel's exponents, landlines, two emails in a cell, people listed twice, phone-only rows, GBK
CSV; the column-mapping step and what it remembers; the status and the notification; the
command line; files refused before or while they are read."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import pytest
from openpyxl import Workbook

from tests.conftest import shanghai
from workshops.models import (
    AuditEvent,
    ImportMapping,
    Job,
    OutboxMessage,
    Programme,
    Registration,
    RegistrationStatus,
    Role,
    WorkshopFormat,
)
from workshops.services import nominations, spreadsheets, walk_ins
from workshops.services.errors import InvalidInput
from workshops.services.registration import Applicant

ORG = "重庆精工机械有限公司"
ONSITE = WorkshopFormat.ONSITE


# ---- files, made the way Excel, WPS and openpyxl make them ----


def xlsx(rows, merges=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "推荐名单"
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def excel_csv(rows, encoding="gbk") -> bytes:
    """What 另存为 CSV（逗号分隔） writes on Chinese Windows: GBK, CRLF, padded columns."""
    width = max(len(row) for row in rows)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(
        [list(row) + [""] * (width - len(row)) for row in rows]
    )
    return buffer.getvalue().encode(encoding)


def rewrite(data: bytes, member: str, change) -> bytes:
    """The workbook with one part rewritten (what no spreadsheet program writes)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            target.writestr(item.filename, change(content) if item.filename == member else content)
    return buffer.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def outcome(report: nominations.ImportReport) -> dict:
    """Who is imported, refused, warned and skipped, and why: everything a test asserts."""
    return {
        "created": [(c["line"], c["full_name"], c["email"], c["mobile"]) for c in report.created],
        "refused": [(r["line"], r["reason"]) for r in report.refused],
        "warnings": [(w["line"], w["message"]) for w in report.warnings],
        "skipped": report.skipped,
    }


def dry(workshop, filename, data, **choices) -> nominations.ImportReport:
    return nominations.import_file(workshop, filename, data, dry_run=True, **choices)


def people(db, workshop):
    return db.session.scalars(
        db.select(Registration).filter_by(workshop_id=workshop.id).order_by(Registration.id)
    ).all()


def count(db, model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def coordinator(auth, make_user):
    user = make_user(Role.COORDINATOR)
    auth.login(user)
    return user


def upload(client, workshop, filename, data, **headers):
    return client.post(
        f"/staff/workshops/{workshop.id}/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        headers=headers,
    )


def preview_page(client, workshop, filename, data) -> tuple[Job, str]:
    response = upload(client, workshop, filename, data)
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return job_id, page


# A list as enterprises send it: a title, the form's details, a blank row, the header, people,
# a blank row, the total and the signature.
TITLED_LIST = [
    [f"{ORG} 推荐学员名单"],
    [f"填报单位（盖章）：{ORG}"],
    ["联系人：周敏", None, None, "联系电话：023-6888 1234"],
    [],
    ["序号", "姓名", "性别", "工作单位", "职务", "手机号码", "电子邮箱", "参会方式"],
    [1, "陈立华", "男", ORG, "车间主任", "13812340001", "chen.lihua@cqjg.example.cn", "线下"],
    [2, "刘晓梅", "女", ORG, "培训专员", "13812340002", None, "线上"],
    [3, "赵强", "先生", ORG, "高级技师", None, "zhao.qiang@cqjg.example.cn", "现场"],
    [],
    ["合计：3人"],
    ["填表人：周敏", None, None, "联系电话：13900001111", None, "日期：2026年3月1日"],
]


def test_title_rows_numbering_totals_and_signature_are_skipped_and_listed(
    client, coordinator, make_workshop, db
):
    workshop = make_workshop()
    data = xlsx(TITLED_LIST, merges=["A1:H1", "A2:H2"])
    assert outcome(dry(workshop, "名单.xlsx", data)) == {
        "created": [
            (6, "陈立华", "chen.lihua@cqjg.example.cn", "+8613812340001"),
            (7, "刘晓梅", "", "+8613812340002"),
            (8, "赵强", "zhao.qiang@cqjg.example.cn", ""),
        ],
        "refused": [],
        "warnings": [],
        "skipped": [1, 2, 3, 4, 9, 10, 11],
    }
    job_id, page = preview_page(client, workshop, "名单.xlsx", data)
    job = db.session.get(Job, job_id)
    assert job.payload["header_line"] == 5
    assert job.payload["columns"] == [
        "",  # 序号: left out
        "full_name",
        "gender",
        "organisation",
        "job_title",
        "mobile",
        "email",
        "mode",
    ]
    assert [tuple(item) for item in job.payload["skipped"]] == [
        (1, "title"),
        (2, "title"),
        (3, "title"),
        (4, "blank"),
        (9, "blank"),
        (10, "totals"),
        (11, "signature"),
    ]
    assert (
        "3 rows are ready to import. 0 rows will be refused. 0 rows have a warning. 7 lines are skipped."
        in page
    )
    assert "Header row: line 5." in page
    assert "<td>10</td><td>a totals row</td>" in page and "<td>11</td><td>a signature or a note</td>" in page
    # every field read, on every row: the 序号 column is not one of them
    assert "<td>陈立华</td><td>Man</td><td>重庆精工机械有限公司</td><td>车间主任</td>" in page
    assert "<td>+8613812340002</td><td></td><td>Online</td>" in page
    assert people(db, workshop) == []  # a preview writes nothing


def test_bilingual_headers_are_matched_by_either_language(make_workshop):
    workshop = make_workshop()
    data = xlsx(
        [
            ["序号 No.", "姓名 Name", "性别 Gender", "所在单位 Organisation", "岗位 Position",
             "手机号 Mobile", "电子邮箱 Email", "地区 City", "参会方式 Attendance"],
            [1, "孙婷", "Female", "天津机电职业技术学院", "教务处副处长", "13987650001",
             "sun.ting@tjjd.example.cn", "天津", "网络"],
        ]
    )  # fmt: skip
    sheet = nominations.read_sheet("list.xlsx", data)
    assert nominations.suggest_mapping(workshop, sheet.headers).columns == [
        "",
        "full_name",
        "gender",
        "organisation",
        "job_title",
        "mobile",
        "email",
        "city",
        "mode",
    ]
    report = dry(workshop, "list.xlsx", data)
    assert report.created == [
        {
            "line": 2,
            "full_name": "孙婷",
            "email": "sun.ting@tjjd.example.cn",
            "mobile": "+8613987650001",
            "organisation": "天津机电职业技术学院",
            "mode": "online",
            "gender": "woman",
        }
    ]
    assert (report.refused, report.warnings, report.skipped) == ([], [], [])
    assert [nominations.header_field(h) for h in ["E-mail", "联系电话", "职位", "工作单位", "城市"]] == [
        "email",
        "mobile",
        "job_title",
        "organisation",
        "city",
    ]


def test_merged_organisation_cells_fill_every_row_they_span(app, make_workshop, db):
    workshop = make_workshop(format=ONSITE)
    data = xlsx(
        [
            ["序号", "姓名", "单位", "职务", "手机", "邮箱"],
            [1, "黄海涛", "四川建筑职业技术学院", "教师", "13700001001", "huang.ht@scjz.example.cn"],
            [2, "郭佳", None, "辅导员", "13700001002", ""],
            [3, "何文", None, "教师", "", "he.wen@scjz.example.cn"],
            [4, "罗丹", "成都工业职业技术学院", "讲师", "13700001004", ""],
        ],
        merges=["C2:C4"],
    )
    assert outcome(dry(workshop, "list.xlsx", data)) == {
        "created": [
            (2, "黄海涛", "huang.ht@scjz.example.cn", "+8613700001001"),
            (3, "郭佳", "", "+8613700001002"),
            (4, "何文", "he.wen@scjz.example.cn", ""),
            (5, "罗丹", "", "+8613700001004"),
        ],
        "refused": [],
        "warnings": [],
        "skipped": [],
    }
    nominations.import_file(workshop, "list.xlsx", data, notify=False)
    assert [(p.full_name, p.organisation) for p in people(db, workshop)] == [
        ("黄海涛", "四川建筑职业技术学院"),
        ("郭佳", "四川建筑职业技术学院"),
        ("何文", "四川建筑职业技术学院"),
        ("罗丹", "成都工业职业技术学院"),
    ]


def test_no_mode_column_in_a_hybrid_workshop_is_given_by_the_mapping_step(
    client, coordinator, make_workshop, db
):
    workshop = make_workshop()  # hybrid
    data = xlsx(
        [
            ["姓名", "工作单位", "手机号码", "邮箱"],
            ["马骏", "广州工贸技师学院", "13600002001", "ma.jun@gzgm.example.cn"],
            ["冯雪", "广州工贸技师学院", "13600002002", ""],
        ]
    )
    job_id, page = preview_page(client, workshop, "list.xlsx", data)
    assert "0 rows are ready to import. 2 rows will be refused." in page
    assert "This workshop is onsite and online and the file says nothing of it" in page
    assert page.count("Refused: Choose onsite or online.") == 2
    response = client.post(
        f"/staff/jobs/{job_id}/mapping",
        data={"column-0": "full_name", "column-1": "organisation", "column-2": "mobile", "column-3": "email",
              "constant-mode": "online"},
    )  # fmt: skip
    assert response.status_code == 302
    page = client.get(f"/staff/jobs/{job_id}").get_data(as_text=True)
    assert "2 rows are ready to import. 0 rows will be refused." in page
    assert '<option value="online" selected>Online</option>' in page
    job = db.session.get(Job, job_id)
    assert job.payload["constants"] == {"mode": "online"}
    assert [r["values"]["mode"] for r in job.payload["rows"]] == ["online", "online"]
    client.post(f"/staff/jobs/{job_id}/confirm", data={"notify_asked": "1", "notify": "y"})
    db.session.expire_all()
    assert [(p.full_name, p.mode.value) for p in people(db, workshop)] == [
        ("马骏", "online"),
        ("冯雪", "online"),
    ]


def test_the_mapping_step_refuses_a_field_read_from_two_columns(client, coordinator, make_workshop, db):
    workshop = make_workshop(format=ONSITE)
    job_id, _page = preview_page(
        client, workshop, "list.xlsx", xlsx([["姓名", "手机"], ["谢敏", "13500003001"]])
    )
    response = client.post(
        f"/staff/jobs/{job_id}/mapping",
        data={"column-0": "mobile", "column-1": "mobile"},
        follow_redirects=True,
    )
    assert "Mobile is read from two columns (A and B): choose one." in response.get_data(as_text=True)
    assert db.session.get(Job, job_id).payload["columns"] == ["full_name", "mobile"]  # unchanged


def test_full_width_characters_and_spaces_inside_chinese_names_are_normalised(make_workshop):
    workshop = make_workshop(format=ONSITE)
    data = xlsx(
        [
            ["姓名", "性别", "手机号码", "电子邮箱"],
            ["林\u3000芳", "女士", "１３８ １２３４ ５６７８", "lin.fang＠example.com.cn"],
            ["王  磊", "男", "＋86 139-0000-1111", ""],
        ]
    )
    report = dry(workshop, "list.xlsx", data)
    assert outcome(report) == {
        "created": [
            (2, "林芳", "lin.fang@example.com.cn", "+8613812345678"),
            (3, "王磊", "", "+8613900001111"),
        ],
        "refused": [],
        "warnings": [],
        "skipped": [],
    }
    assert [c["gender"] for c in report.created] == ["woman", "man"]


def test_an_excel_exponent_or_a_landline_warns_and_the_row_imports_by_email(make_workshop, db):
    workshop = make_workshop(format=ONSITE)
    data = excel_csv(
        [
            ["姓名", "单位", "手机", "邮箱"],
            ["邓超然", ORG, "1.38123E+10", "deng.cr@cqjg.example.cn"],
            ["许静", ORG, "023-6312 8800转8021", "xu.jing@cqjg.example.cn"],
            ["韩磊", ORG, "1.39001E+10", ""],
        ]
    )
    exponent = (
        "The mobile 1.38123E+10 is not used: The spreadsheet turned this number into an exponent"
        " (like 1.38E+10) and lost digits."
    )
    expected = {
        "created": [(2, "邓超然", "deng.cr@cqjg.example.cn", ""), (3, "许静", "xu.jing@cqjg.example.cn", "")],
        "refused": [(4, "No email address and no usable mobile number: the ticket cannot be sent.")],
        "warnings": [
            (2, exponent),
            (3, "The mobile 023-6312 8800转8021 is not used: This is a landline with an extension, not a"
                " mobile number."),
            (4, exponent.replace("1.38123E+10", "1.39001E+10")),
        ],
        "skipped": [],
    }  # fmt: skip
    assert outcome(dry(workshop, "名单.csv", data)) == expected
    assert outcome(nominations.import_file(workshop, "名单.csv", data, notify=False)) == expected
    assert [(p.email, p.mobile) for p in people(db, workshop)] == [
        ("deng.cr@cqjg.example.cn", ""),
        ("xu.jing@cqjg.example.cn", ""),
    ]


def test_two_emails_in_a_cell_take_the_first_with_a_warning(make_workshop):
    workshop = make_workshop(format=ONSITE)
    data = xlsx([["姓名", "邮箱"], ["吴静", "wu.jing@cqjg.example.cn；wujing@mail.example.com"]])
    assert outcome(dry(workshop, "list.xlsx", data)) == {
        "created": [(2, "吴静", "wu.jing@cqjg.example.cn", "")],
        "refused": [],
        "warnings": [
            (
                2,
                "Two email addresses in one cell: wu.jing@cqjg.example.cn is used, not"
                " wujing@mail.example.com.",
            )
        ],
        "skipped": [],
    }


def test_an_invalid_email_refuses_the_row(make_workshop):
    workshop = make_workshop(format=ONSITE)
    data = xlsx([["姓名", "手机", "邮箱"], ["曹阳", "13800005001", "cao.yang@"]])
    assert outcome(dry(workshop, "list.xlsx", data))["refused"] == [
        (2, "Enter a valid email address, like name@example.com.")
    ]


def test_a_person_listed_twice_is_imported_once(make_workshop, db):
    workshop = make_workshop(format=ONSITE)
    data = xlsx(
        [
            ["姓名", "手机号码", "电子邮箱"],
            ["周雨", "", "Zhou.Yu@cqjg.example.cn"],
            ["钱程", "138 1234 0001", ""],
            ["周雨", "", "zhou.yu@CQJG.example.cn"],
            ["钱程", "+86-138-1234-0001", "qian.cheng@cqjg.example.cn"],
        ]
    )
    expected = {
        "created": [(2, "周雨", "zhou.yu@cqjg.example.cn", ""), (3, "钱程", "", "+8613812340001")],
        "refused": [(4, "Same person as line 2."), (5, "Same person as line 3.")],
        "warnings": [],
        "skipped": [],
    }
    assert outcome(dry(workshop, "list.xlsx", data)) == expected
    assert outcome(nominations.import_file(workshop, "list.xlsx", data, notify=False)) == expected
    assert len(people(db, workshop)) == 2
    # imported again: everyone is already registered
    again = nominations.import_file(workshop, "list.xlsx", data, notify=False)
    assert outcome(again)["refused"] == [
        (2, "Already registered at this workshop (Confirmed)."),
        (3, "Already registered at this workshop (Confirmed)."),
        (4, "Already registered at this workshop (Confirmed)."),
        (5, "Already registered at this workshop (Confirmed)."),
    ]


def test_phone_only_rows_are_imported(make_workshop, db):
    workshop = make_workshop(format=ONSITE)
    data = xlsx(
        [
            ["姓名", "性别", "手机"],
            ["蒋丽", "女", "13711112222"],
            ["沈涛", "男", "+86 137 1111 3333"],
            ["杨帆", "男", ""],
        ]
    )
    assert outcome(nominations.import_file(workshop, "list.xlsx", data, notify=False)) == {
        "created": [(2, "蒋丽", "", "+8613711112222"), (3, "沈涛", "", "+8613711113333")],
        "refused": [(4, "No email address and no usable mobile number: the ticket cannot be sent.")],
        "warnings": [],
        "skipped": [],
    }
    assert [(p.full_name, p.email, p.mobile, p.status) for p in people(db, workshop)] == [
        ("蒋丽", "", "+8613711112222", RegistrationStatus.CONFIRMED),
        ("沈涛", "", "+8613711113333", RegistrationStatus.CONFIRMED),
    ]


def test_a_gbk_csv_from_excel_on_chinese_windows_is_read(client, coordinator, make_workshop, db):
    workshop = make_workshop(format=ONSITE)
    data = excel_csv(
        [
            [f"{ORG} 推荐学员名单"],
            ["序号", "姓名", "性别", "工作单位", "手机号码", "电子邮箱"],
            ["1", "邱志明", "男", ORG, "13598760001", "qiu.zm@cqjg.example.cn"],
            ["2", "戴玉兰", "女", ORG, "13598760002", ""],
            ["合计：2人"],
        ]
    )
    assert data.decode("gbk").count("\r\n") == 5 and b",,,," in data  # what Excel writes
    assert outcome(dry(workshop, "推荐名单.csv", data)) == {
        "created": [
            (3, "邱志明", "qiu.zm@cqjg.example.cn", "+8613598760001"),
            (4, "戴玉兰", "", "+8613598760002"),
        ],
        "refused": [],
        "warnings": [],
        "skipped": [1, 5],
    }  # fmt: skip
    _job, page = preview_page(client, workshop, "推荐名单.csv", data)
    assert "邱志明" in page and "2 rows are ready to import." in page


def test_an_approval_required_workshop_imports_people_as_pending_but_walk_ins_are_not(
    client, coordinator, make_workshop, db
):
    workshop = make_workshop(format=ONSITE, approval_required=True)
    data = xlsx([["姓名", "邮箱"], ["陆文静", "lu.wj@cqjg.example.cn"]])
    job_id, page = preview_page(client, workshop, "list.xlsx", data)
    assert "This workshop needs approval: the people imported will be waiting for it." in page
    client.post(f"/staff/jobs/{job_id}/confirm", data={"notify_asked": "1", "notify": "y"})
    nominations.import_file(
        workshop, "more.xlsx", xlsx([["姓名", "手机"], ["潘越", "13600007001"]]), notify=False
    )
    walk_ins.admit_walk_in(
        workshop, Applicant(full_name="施慧", email="shi.hui@example.cn", mode="onsite"), coordinator
    )
    db.session.expire_all()
    assert [(p.full_name, p.source.value, p.status) for p in people(db, workshop)] == [
        ("陆文静", "import", RegistrationStatus.PENDING),
        ("潘越", "import", RegistrationStatus.PENDING),
        ("施慧", "walk_in", RegistrationStatus.CONFIRMED),
    ]


def test_the_notify_checkbox_is_ticked_for_an_upcoming_workshop_and_not_for_an_ended_one(
    client, coordinator, make_workshop, db
):
    upcoming = make_workshop(format=ONSITE)
    start = shanghai(2025, 3, 1)
    ended = make_workshop(
        format=ONSITE, starts_at=start, ends_at=start + timedelta(hours=8), with_sessions=False
    )
    data = xlsx([["姓名", "手机", "邮箱"], ["金晓东", "13300008001", "jin.xd@cqjg.example.cn"]])
    checked = '<input type="checkbox" id="notify" name="notify" value="y" checked>'
    upcoming_job, page = preview_page(client, upcoming, "list.xlsx", data)
    assert checked in page
    ended_job, page = preview_page(client, ended, "list.xlsx", data)
    assert '<input type="checkbox" id="notify" name="notify" value="y">' in page
    client.post(f"/staff/jobs/{upcoming_job}/confirm", data={"notify_asked": "1", "notify": "y"})
    client.post(f"/staff/jobs/{ended_job}/confirm", data={"notify_asked": "1"})  # left unticked
    db.session.expire_all()
    told = db.session.scalars(db.select(OutboxMessage.registration_id)).all()
    assert told == [people(db, upcoming)[0].id]
    assert len(people(db, ended)) == 1
    assert nominations.notify_by_default(upcoming) and not nominations.notify_by_default(ended)


def test_the_mapping_is_remembered_for_the_programmes_next_workshop(client, coordinator, make_workshop, db):
    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    db.session.add(programme)
    db.session.commit()
    first = make_workshop(programme_id=programme.id)
    second = make_workshop(programme_id=programme.id, title_en="Second")
    outside = make_workshop(title_en="No programme")
    # 联系电话 holds the office landline in this enterprise's form; the mobile is under 手机号.
    header = ["序号", "姓名", "联系电话", "手机号", "电子邮箱"]
    data = xlsx([header, [1, "梁宇", "023-6888 2001", "13200009001", "liang.yu@cqjg.example.cn"]])
    job_id, _page = preview_page(client, first, "list.xlsx", data)
    assert db.session.get(Job, job_id).payload["columns"] == ["", "full_name", "mobile", "", "email"]
    client.post(
        f"/staff/jobs/{job_id}/mapping",
        data={"column-0": "", "column-1": "full_name", "column-2": "", "column-3": "mobile",
              "column-4": "email", "constant-mode": "onsite", "constant-organisation_type": "enterprise"},
    )  # fmt: skip
    client.post(f"/staff/jobs/{job_id}/confirm", data={"notify_asked": "1"})
    remembered = db.session.scalars(db.select(ImportMapping)).one()
    assert (remembered.programme_id, remembered.workshop_id) == (programme.id, None)
    assert remembered.columns == {
        "序号": "",
        "姓名": "full_name",
        "联系电话": "",
        "手机号": "mobile",
        "电子邮箱": "email",
    }
    assert remembered.constants == {"mode": "onsite", "organisation_type": "enterprise"}

    other = xlsx([header, [1, "董佳琪", "023-6888 2002", "13200009002", ""]])
    job_id, page = preview_page(client, second, "list.xlsx", other)
    job = db.session.get(Job, job_id)
    assert job.payload["columns"] == ["", "full_name", "", "mobile", "email"]
    assert job.payload["constants"] == {"mode": "onsite", "organisation_type": "enterprise"}
    assert "1 row is ready to import." in page
    assert job.payload["rows"][0]["values"]["organisation_type"] == "enterprise"
    # a workshop outside the programme starts from the headers alone
    job_id, _page = preview_page(client, outside, "list.xlsx", other)
    assert db.session.get(Job, job_id).payload["columns"] == ["", "full_name", "mobile", "", "email"]


def test_a_workshop_outside_any_programme_remembers_its_own_mapping(make_workshop, db):
    workshop = make_workshop(format=ONSITE)
    data = xlsx([["姓名", "职务", "手机号码"], ["石磊", "班组长", "13100000001"]])
    nominations.import_file(workshop, "list.xlsx", data, columns={"职务": "-"}, notify=False)
    remembered = db.session.scalars(db.select(ImportMapping)).one()
    assert (remembered.programme_id, remembered.workshop_id) == (None, workshop.id)
    sheet = nominations.read_sheet("list.xlsx", data)
    assert nominations.suggest_mapping(workshop, sheet.headers).columns == ["full_name", "", "mobile"]
    assert nominations.suggest_mapping(make_workshop(), sheet.headers).columns == [
        "full_name",
        "job_title",
        "mobile",
    ]


# ---- the command line ----


def test_the_command_line_prints_one_json_object_and_a_dry_run_saves_nothing(
    runner, make_workshop, db, tmp_path
):
    workshop = make_workshop()  # hybrid: the file has no mode column
    path = tmp_path / "推荐名单.xlsx"
    path.write_bytes(
        xlsx(
            [
                [f"{ORG} 推荐学员名单"],
                ["序号", "姓名 Name", "性别", "工作单位", "手机号码", "电子邮箱 Email"],
                [1, "田野", "男", ORG, "1.38123E+10", "Tian.Ye@cqjg.example.cn"],
                [2, "袁媛", "女", ORG, "13912345001", ""],
                [3, "田野", "男", ORG, "", "tian.ye@cqjg.example.cn"],
                ["合计：3人"],
            ]
        )
    )
    args = ["registrations", "import", str(workshop.id), str(path), "--set", "mode=线上", "--json"]
    result = runner.invoke(args=[*args, "--dry-run"])
    assert result.exit_code == 0, result.output
    expected = {
        "created": [
            {"line": 3, "full_name": "田野", "email": "tian.ye@cqjg.example.cn", "mobile": "",
             "organisation": ORG, "mode": "online", "gender": "man"},
            {"line": 4, "full_name": "袁媛", "email": "", "mobile": "+8613912345001",
             "organisation": ORG, "mode": "online", "gender": "woman"},
        ],
        "refused": [{"line": 5, "reason": "Same person as line 3."}],
        "warnings": [
            {"line": 3, "message": "The mobile 1.38123E+10 is not used: The spreadsheet turned this number"
                                   " into an exponent (like 1.38E+10) and lost digits."}
        ],
        "skipped": [1, 6],
    }  # fmt: skip
    assert json.loads(result.stdout) == expected
    for model in (Registration, ImportMapping, Job, OutboxMessage, AuditEvent):
        assert count(db, model) == 0, model

    result = runner.invoke(args=[*args, "--no-notify", "--map", "性别=-"])
    assert result.exit_code == 0, result.output
    expected["created"] = [dict(person, gender="undisclosed") for person in expected["created"]]
    assert json.loads(result.stdout) == expected  # the real run decides as the dry one did
    db.session.expire_all()
    assert [(p.full_name, p.mode.value, p.source.value) for p in people(db, workshop)] == [
        ("田野", "online", "import"),
        ("袁媛", "online", "import"),
    ]
    assert count(db, OutboxMessage) == 0  # --no-notify
    assert db.session.scalars(db.select(ImportMapping)).one().constants == {"mode": "online"}


def test_the_command_line_without_json_lists_what_it_did(runner, make_workshop, tmp_path):
    workshop = make_workshop()
    path = tmp_path / "list.xlsx"
    path.write_bytes(xlsx(TITLED_LIST))
    result = runner.invoke(args=["registrations", "import", str(workshop.id), str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Line 10: skipped, a totals row" in result.output
    assert (
        "Dry run, nothing saved: 3 would be registered, 0 refused, 0 warnings, 7 lines skipped."
        in result.output
    )


@pytest.mark.parametrize(
    "filename, data, message",
    [
        ("list.xlsx", b"", "The file is empty."),
        ("list.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "save it as .xlsx"),
        ("list.xlsx", xlsx([["姓名", "手机", "邮箱"]]), "The file has no rows under its header row."),
    ],
)
def test_the_command_line_refuses_a_bad_file_with_the_pages_message(
    runner, make_workshop, db, tmp_path, filename, data, message
):
    workshop = make_workshop()
    path = tmp_path / filename
    path.write_bytes(data)
    result = runner.invoke(args=["registrations", "import", str(workshop.id), str(path), "--json"])
    assert result.exit_code == 1 and message in result.output and result.output.startswith("Error: ")
    assert count(db, Registration) == count(db, ImportMapping) == 0


def test_the_command_line_explains_a_mapping_it_cannot_follow(runner, make_workshop, tmp_path):
    workshop = make_workshop()
    path = tmp_path / "list.xlsx"
    path.write_bytes(xlsx([["姓名", "手机"], ["谢敏", "13500003001"]]))
    command = ["registrations", "import", str(workshop.id), str(path)]
    result = runner.invoke(args=[*command, "--map", "单位=organisation"])
    assert result.exit_code == 1 and "No column 单位 in the header row (line 1)" in result.output
    result = runner.invoke(args=[*command, "--map", "B=phone number"])
    assert result.exit_code == 1 and "phone number is not a field" in result.output
    result = runner.invoke(args=[*command, "--set", "mode=video"])
    assert (
        result.exit_code == 1
        and "Choose an attendance mode of this workshop: Onsite, Online." in result.output
    )
    result = runner.invoke(args=["registrations", "import", "999999", str(path)])
    assert result.exit_code == 1 and "No workshop has the id 999999." in result.output


# ---- files refused before or while they are read ----


def _sheet_of_cells(cells: int) -> bytes:
    """A sheet with this many cells, written straight into the XML (50 a row)."""
    rows = "".join(
        f'<row r="{r}">'
        + "".join(f'<c r="{spreadsheets.column_letter(c)}{r}"><v>1</v></c>' for c in range(50))
        + "</row>"
        for r in range(1, cells // 50 + 2)
    )  # fmt: skip
    base = xlsx([["姓名", "手机"], ["谢敏", "13500003001"]])
    return rewrite(
        base,
        SHEET,
        lambda xml: xml.split(b"<sheetData>")[0] + f"<sheetData>{rows}</sheetData></worksheet>".encode(),
    )


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, "PNG")
    return buffer.getvalue()


NOMINATIONS = xlsx([["姓名", "手机"], ["谢敏", "13500003001"]])
BAD_FILES = {
    "empty": ("list.xlsx", b"", "The file is empty."),
    "png renamed .xlsx": ("名单.xlsx", _png(), "This file is an image or a PDF, not a spreadsheet"),
    ".xls": (
        "名单.xls",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
        "Old Excel files (.xls) cannot be read: open it in Excel or WPS and save it as .xlsx.",
    ),
    ".xls renamed .xlsx": (
        "名单.xlsx",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
        "This is an old Excel (.xls) file or a workbook protected by a password",
    ),
    "header only": (
        "list.xlsx",
        xlsx([["序号", "姓名", "手机号码", "电子邮箱"]]),
        "The file has no rows under its header row.",
    ),
    "header and totals only": (
        "list.csv",
        excel_csv([["序号", "姓名", "手机号码"], ["合计：0人"]]),
        "The file has no rows under its header row.",
    ),
    "unpacks to 41 MB": (
        "list.xlsx",
        rewrite(
            NOMINATIONS, SHEET, lambda xml: xml.replace(b"<sheetData>", b" " * (41 << 20) + b"<sheetData>")
        ),
        "This workbook unpacks to more than 40 MB",
    ),
    "200,001 cells": ("list.xlsx", _sheet_of_cells(200_001), "This workbook has more than 200000 cells"),
    "a merge over the whole sheet": (
        "list.xlsx",
        rewrite(
            NOMINATIONS,
            SHEET,
            lambda xml: xml.replace(
                b"</sheetData>",
                b'</sheetData><mergeCells count="1"><mergeCell ref="A3:XFD1048576"/></mergeCells>',
            ),
        ),
        "This workbook has more than 200000 cells",
    ),
    "101 columns": (
        "list.xlsx",
        xlsx([["姓名", "手机"] + [""] * 98 + ["备注"], ["谢敏", "13500003001"]]),
        "Row 1 has something in column CW: a list has at most 100 columns.",
    ),
    "a cell of 8,000 digits (csv)": (
        "list.csv",
        ("姓名,手机\r\n谢敏," + "1" * 8000 + "\r\n").encode("gbk"),
        "Cell B2 has more than 2000 characters: is this the right file?",
    ),
    "a cell of 8,000 digits (xlsx number)": (
        "list.xlsx",
        rewrite(
            NOMINATIONS,
            SHEET,
            lambda xml: xml.replace(
                b"</sheetData>", b'<row r="3"><c r="B3"><v>' + b"9" * 8000 + b"</v></c></row></sheetData>"
            ),
        ),
        "A cell of this workbook has more than 2000 characters",
    ),
    "a text cell of 2,001 characters": (
        "list.xlsx",
        xlsx([["姓名", "手机", "备注"], ["谢敏", "13500003001", "长" * 2001]]),
        "Cell C2 has more than 2000 characters: is this the right file?",
    ),
    "a document type": (
        "list.xlsx",
        rewrite(
            NOMINATIONS,
            SHEET,
            lambda xml: (
                b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + xml
            ),
        ),
        "This workbook holds XML that spreadsheet programs never write",
    ),
    "an external entity in the content types": (
        "list.xlsx",
        rewrite(
            NOMINATIONS,
            "[Content_Types].xml",
            lambda xml: b'<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + xml,
        ),
        "This workbook holds XML that spreadsheet programs never write",
    ),
    "xml in another encoding": (
        "list.xlsx",
        rewrite(
            NOMINATIONS,
            SHEET,
            lambda xml: b'<?xml version="1.0" encoding="cp037"?>' + xml.split(b"?>", 1)[-1],
        ),
        "This workbook holds XML that spreadsheet programs never write",
    ),
    "a zip that is no workbook": (
        "list.xlsx",
        b"PK\x03\x04 not really a zip",
        "This file is not a readable XLSX",
    ),
}


@pytest.mark.parametrize("filename, data, message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_files_are_refused_with_a_message_and_nothing_is_saved(
    client, coordinator, make_workshop, db, filename, data, message
):
    workshop = make_workshop()
    response = upload(client, workshop, filename, data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with pytest.raises(InvalidInput) as refused:
        nominations.import_file(workshop, filename, data)
    assert message in str(refused.value.errors["file"])
    for model in (Job, Registration, ImportMapping):
        assert count(db, model) == 0


def test_a_file_over_the_upload_limit_is_refused_by_the_reader_too(app, make_workshop, db):
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    data = excel_csv([["姓名", "手机"]] + [["谢敏", "13500003001"]] * 120_000)
    assert len(data) > 2 * 1024 * 1024
    with pytest.raises(InvalidInput) as refused:
        nominations.import_file(make_workshop(), "list.csv", data)
    assert str(refused.value.errors["file"]) == "The file is larger than 2 MB; split it into smaller files."


def test_a_bad_file_is_explained_in_the_coordinators_language(client, coordinator, make_workshop):
    response = upload(client, make_workshop(), "名单.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 64, **{
        "Accept-Language": "zh-CN,zh;q=0.9"
    })  # fmt: skip
    assert response.status_code == 422
    assert "无法读取旧版 Excel 文件（.xls）：请在 Excel 或 WPS 中打开并另存为 .xlsx。" in response.get_data(
        as_text=True
    )


def test_meeting_reports_are_read_within_the_same_bounds(app):
    from workshops.services.spreadsheets import read_table

    with pytest.raises(InvalidInput) as refused:
        read_table("report.csv", ("Name,Duration (minutes)\r\n张三," + "1" * 8000 + "\r\n").encode())
    assert "Cell B2 has more than 2000 characters" in str(refused.value.errors["file"])
    with pytest.raises(InvalidInput):
        read_table("report.xlsx", BAD_FILES["a document type"][1])
    # a merged cell belongs to every row it spans there too
    table = read_table(
        "report.xlsx",
        xlsx(
            [["Name", "Email", "Duration (minutes)"], ["李四", "li@example.org", 30], ["王五", None, 45]],
            ["B2:B3"],
        ),
        known_headers={"name", "duration (minutes)"},
    )
    assert [row["Email"] for row in table] == ["li@example.org", "li@example.org"]


def test_line_numbers_are_the_rows_a_spreadsheet_shows_with_blank_rows_between(make_workshop):
    workshop = make_workshop(format=ONSITE)
    data = xlsx(
        [
            ["填报单位（盖章）：天津机电职业技术学院"],
            [],
            ["姓名", "手机"],
            ["付强", "13500004001"],
            [],
            [],
            ["邹敏", "13500004002"],
        ]
    )
    assert outcome(dry(workshop, "list.xlsx", data)) == {
        "created": [(4, "付强", "", "+8613500004001"), (7, "邹敏", "", "+8613500004002")],
        "refused": [],
        "warnings": [],
        "skipped": [1, 2, 5, 6],
    }


@pytest.mark.parametrize("notify", [True, False])
def test_a_nominee_with_an_unconfirmed_hold_is_imported_into_it(make_workshop, db, notify):
    # Registered online, link not followed yet: the import vouches for them and they keep the place
    # (not "already registered", which left them to lose it when the hold expired).
    from workshops.services import registration as registrations

    workshop = make_workshop(format=ONSITE, confirm_contact=True)
    hold = registrations.register(
        workshop.id, Applicant(full_name="周雨", email="zhou.yu@cqjg.example.cn", mode="onsite", consent=True)
    ).registration
    assert hold.status == RegistrationStatus.UNVERIFIED
    before = count(db, OutboxMessage)
    data = xlsx([["姓名", "电子邮箱"], ["周雨", "zhou.yu@cqjg.example.cn"]])
    report = nominations.import_file(workshop, "list.xlsx", data, notify=notify)
    assert outcome(report)["created"] == [(2, "周雨", "zhou.yu@cqjg.example.cn", "")]
    assert outcome(report)["refused"] == []
    db.session.refresh(hold)
    assert hold.status == RegistrationStatus.CONFIRMED and len(people(db, workshop)) == 1
    assert count(db, OutboxMessage) == before + (1 if notify else 0)  # notify=False: no email
