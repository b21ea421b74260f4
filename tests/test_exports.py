"""Downloads as their readers take them: labels in the chosen language, typed cells, local times,
a title above a frozen and filtered header, no apostrophe in XLSX, inert CSV, and a registrations
file that re-imports as the same people."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tests.helpers import applicant
from tests.test_surveys import answers, attendee, q
from workshops.models import Registration, RegistrationStatus, Role
from workshops.services import exports, registration, surveys
from workshops.services.exports import HEADER_ROW

XLSX_FORMULAS = ['=HYPERLINK("http://evil.example/","click")', "+86 139 1234 5678", "-2+3", "@SUM(A1)"]


@pytest.fixture
def coordinator(auth, make_user):
    user = make_user(Role.COORDINATOR)
    auth.login(user)
    return user


def workbook(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[-500:]
    return load_workbook(io.BytesIO(response.data))


def table(sheet) -> tuple[list[str], list[list]]:
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=HEADER_ROW)]
    return rows[0], rows[1:]


def people(db, workshop) -> list[Registration]:
    return db.session.scalars(
        db.select(Registration).filter_by(workshop_id=workshop.id).order_by(Registration.id)
    ).all()


def register_three(workshop):
    registration.register(
        workshop.id,
        applicant(
            1,
            full_name="王芳",
            latin_name="Wang Fang",
            job_title="培训专员",
            organisation_type="government",
            gender="undisclosed",
            city="常州",
            needs="素食",
        ),
    )
    registration.register(
        workshop.id,
        applicant(
            2,
            full_name="Maria Fernandes",
            organisation="+cmd Auto Parts",
            organisation_type="employers",
            gender="another",
            mode="online",
            mobile="+86 139 1234 5678",
            language="en",
            city="Beijing",
        ),
    )
    registration.register(
        workshop.id, applicant(3, full_name="张伟", organisation_type="workers", gender="man")
    )


def test_registrations_xlsx_in_chinese_labels_values_types_and_layout(client, coordinator, make_workshop, db):
    workshop = make_workshop()
    register_three(workshop)
    book = workbook(client, f"/staff/workshops/{workshop.id}/registrations/export.xlsx?lang=zh&mode=onsite")
    sheet = book.active
    assert sheet.title == "报名"
    title, details = sheet["A1"].value, sheet["A2"].value
    assert (
        "高质量学徒制能力建设研讨会" in title
        and "Capacity Building Workshop on Quality Apprenticeship" in title
    )
    assert "参会方式: 现场" in details and "(Asia/Shanghai)" in details
    made = datetime.strptime(details.rsplit(": ", 1)[1][:16], "%Y-%m-%d %H:%M")
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert abs((now - made).total_seconds()) < 120  # when it was made, in the workshop's time
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    header, rows = table(sheet)
    assert sheet.auto_filter.ref == f"A{HEADER_ROW}:T{HEADER_ROW + len(rows)}"
    assert header[:3] == ["报名编号", "姓名", "拼音或英文姓名"]
    assert "报名时间 (Asia/Shanghai)" in header and "性别" in header and "单位类型" in header
    assert [row[1] for row in rows] == ["王芳", "张伟"]  # the online person is filtered out
    wang = dict(zip(header, rows[0], strict=True))
    assert wang["单位类型"] == "政府机构" and wang["性别"] == "不愿透露" and wang["参会方式"] == "现场"
    assert wang["状态"] == "已确认" and wang["语言"] == "中文"
    assert (wang["省份"], wang["城市"]) == ("江苏省", "常州市")  # typed as 常州: the division's names
    assert isinstance(wang["报名编号"], int)
    registered = people(db, workshop)[0].created_at
    local = registered.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, microsecond=0)
    assert wang["报名时间 (Asia/Shanghai)"] == local  # a datetime cell, in the workshop's zone
    cell = sheet.cell(row=HEADER_ROW + 1, column=header.index("报名时间 (Asia/Shanghai)") + 1)
    assert cell.is_date and cell.number_format == exports.MOMENT_FORMAT
    assert sheet.column_dimensions["B"].width >= 6 and sheet.column_dimensions["F"].width > 10


def test_registrations_headers_in_english_or_both(client, coordinator, make_workshop):
    workshop = make_workshop()
    register_three(workshop)
    base = f"/staff/workshops/{workshop.id}/registrations/export.xlsx"
    header, rows = table(workbook(client, f"{base}?lang=en").active)
    assert header[1:5] == ["Name", "Name in Latin letters", "Email", "Mobile"]
    assert "Registered at (Asia/Shanghai)" in header
    maria = dict(zip(header, rows[1], strict=True))
    assert maria["Type of organisation"] == "Employers' organisation" and maria["Gender"] == "Another gender"
    assert maria["Attendance mode"] == "Online" and maria["Language"] == "English"
    header, _rows = table(workbook(client, f"{base}?lang=both").active)
    assert header[1] == "姓名 Name" and "单位类型 Type of organisation" in header
    # No choice: the page's language.
    sheet = workbook(client, base).active
    assert table(sheet)[0][1] == "Name"
    client.get("/language/zh")
    assert table(workbook(client, base).active)[0][1] == "姓名"
    assert client.get(f"{base}?lang=fr").status_code == 400


def test_xlsx_text_is_kept_as_it_is_never_a_formula_and_never_apostrophised(
    client, coordinator, make_workshop
):
    workshop = make_workshop()
    for n, text in enumerate(XLSX_FORMULAS):
        registration.register(workshop.id, applicant(n, full_name=text, job_title=text, needs="\tcol"))
    sheet = workbook(client, f"/staff/workshops/{workshop.id}/registrations/export.xlsx?lang=en").active
    header, rows = table(sheet)
    assert [row[header.index("Name")] for row in rows] == XLSX_FORMULAS
    for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
        for cell in row:
            assert cell.data_type != "f"
            if isinstance(cell.value, str):
                assert cell.data_type == "s" and not cell.value.startswith("'")
    assert all(row[header.index("Mobile")].startswith("+86") for row in rows)  # text, as it is


@pytest.mark.parametrize("text", ["=1+1", "+86 139", "-2+3", "@SUM(A1)"])
def test_csv_neutralises_each_formula_start(client, coordinator, make_workshop, text):
    workshop = make_workshop()
    registration.register(workshop.id, applicant(1, job_title=text, needs=text + " and more"))
    body = client.get(f"/staff/workshops/{workshop.id}/registrations/export.csv?lang=en").data
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0]["Job title"] == "'" + text
    assert rows[0]["Access or dietary needs"] == "'" + text + " and more"
    assert rows[0]["Name"] == "参加者1"  # plain text stays plain


@pytest.mark.parametrize("text", ["\tcmd", "\rcmd", "=cmd", "+1", "-1", "@x"])
def test_csv_neutralises_tab_and_carriage_return_too_and_xlsx_keeps_them(app, text):
    # A form strips what it is given: a tab or CR can start a value only from elsewhere (an API,
    # an import), so the layer itself is asked.
    download = exports.Download(
        title="Test",
        workshop_title="Workshop",
        zone="Asia/Shanghai",
        language="en",
        tables=[
            exports.Table(
                "Sheet", [exports.Column("Text"), exports.Column("Number", exports.WHOLE)], [[text, 7]]
            )
        ],
    )
    with app.test_request_context():
        body = exports.write_csv(download).decode("utf-8-sig")
        sheet = load_workbook(io.BytesIO(exports.write_xlsx(download))).active
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows[1] == ["'" + text, "7"]
    cell = sheet.cell(row=HEADER_ROW + 1, column=1)
    # As given: lxml (openpyxl's writer) writes a CR as a character reference, which XML keeps.
    assert (cell.value, cell.data_type) == (text, "s")
    assert sheet.cell(row=HEADER_ROW + 1, column=2).value == 7


def test_csv_has_its_header_first_with_local_times(client, coordinator, make_workshop, db):
    workshop = make_workshop(timezone="Europe/Berlin")
    register_three(workshop)
    text = client.get(f"/staff/workshops/{workshop.id}/registrations/export.csv?lang=zh").data.decode(
        "utf-8-sig"
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][1] == "姓名" and "报名时间 (Europe/Berlin)" in rows[0]
    created = people(db, workshop)[0].created_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert rows[1][rows[0].index("报名时间 (Europe/Berlin)")] == f"{created:%Y-%m-%d %H:%M}"
    assert rows[1][rows[0].index("性别")] == "不愿透露"


def export_then_import(client, db, source, target, fmt, lang):
    data = client.get(f"/staff/workshops/{source.id}/registrations/export.{fmt}?lang={lang}").data
    response = client.post(
        f"/staff/workshops/{target.id}/import",
        data={"file": (io.BytesIO(data), f"registrations.{fmt}")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 rows are ready to import." in page, page[-3000:]
    client.post(f"/staff/jobs/{job_id}/confirm", data={"notify_asked": "1"})


KEPT = (
    "full_name",
    "latin_name",
    "email",
    "mobile",
    "organisation",
    "organisation_type",
    "job_title",
    "gender",
    "place_code",
    "city",
    "mode",
    "language",
    "needs",
)


@pytest.mark.parametrize(("fmt", "lang"), [("xlsx", "zh"), ("xlsx", "en"), ("xlsx", "both"), ("csv", "zh")])
def test_an_exported_list_reimports_as_the_same_people(client, coordinator, make_workshop, db, fmt, lang):
    source, target = make_workshop(), make_workshop(title_en="The next one", title_zh="下一期")
    register_three(source)
    export_then_import(client, db, source, target, fmt, lang)
    db.session.expire_all()

    def seen(workshop):
        return [tuple(str(getattr(p, name)) for name in KEPT) for p in people(db, workshop)]

    assert seen(target) == seen(source)
    assert {p.status for p in people(db, target)} == {RegistrationStatus.CONFIRMED}


@pytest.fixture
def ended(make_workshop):
    now = datetime.now(UTC)
    return make_workshop(starts_at=now - timedelta(days=2), ends_at=now - timedelta(hours=1))


@pytest.fixture
def survey(ended, make_user):
    survey = surveys.survey_for(ended)
    surveys.apply_template(survey, make_user(Role.COORDINATOR))
    return survey


def answered(workshop, survey, n, **overrides):
    """Person n answers: relevance 3, 4, 5 by turn; 'Yes, later'; a suggestion that looks like a formula."""
    person = attendee(workshop, n, **overrides)
    suggestion = ["=1+1", "好", "+86 123"][n % 3]
    surveys.submit(
        survey, person, answers(survey, relevance=str(3 + n % 3), apply="1", suggestions=suggestion)
    )
    return person


def test_survey_answers_in_chinese_with_choices_in_chinese_and_ratings_as_numbers(
    client, coordinator, ended, survey, db
):
    for n in range(3):
        answered(ended, survey, n, language="en" if n else "zh")
    base = f"/staff/workshops/{ended.id}/survey"
    book = workbook(client, f"{base}/responses.xlsx?lang=zh")
    sheet = book.worksheets[0]
    assert "高质量学徒制能力建设研讨会" in sheet["A1"].value and "筛选" in sheet["A2"].value
    header, rows = table(sheet)
    assert header[:3] == ["姓名", "电子邮箱", "工作单位"] and "提交时间 (Asia/Shanghai)" in header
    choice, rating, text = q(survey, "apply"), q(survey, "relevance"), q(survey, "suggestions")
    number = {q.id: i for i, q in enumerate(survey.questions, start=1)}
    column = {
        question.id: next(i for i, h in enumerate(header) if h.startswith(f"Q{number[question.id]}. "))
        for question in survey.questions
    }
    assert header[column[rating.id]] == f"Q{number[rating.id]}. {rating.text_zh}"
    assert {row[column[choice.id]] for row in rows} == {"是，以后应用"}  # English speakers' too
    assert [row[column[rating.id]] for row in rows] == [3, 4, 5]  # numbers Excel can average
    assert all(isinstance(row[column[rating.id]], int) for row in rows)
    assert "=1+1" in [row[column[text.id]] for row in rows]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    english = table(workbook(client, f"{base}/responses.xlsx?lang=en").worksheets[0])
    assert {row[column[choice.id]] for row in english[1]} == {"Yes, later"}
    assert english[0][3] == "Attendance mode" and english[1][0][3] == "Onsite"


def test_survey_summary_xlsx_typed_and_labelled(client, coordinator, ended, survey, db):
    for n in range(3):
        answered(ended, survey, n)
    surveys.send_due_invitations()
    book = workbook(client, f"/staff/workshops/{ended.id}/survey/summary.xlsx?lang=zh&mode=onsite")
    assert book.sheetnames[:2] == ["概览", "问题"]
    overview = book["概览"]
    assert "参会方式: 现场" in overview["A2"].value
    figures = dict(table(overview)[1])
    assert figures["受邀"] == 3 and figures["回复率（%）"] == 100
    header, rows = table(book["问题"])
    assert header[:3] == ["问题", "题型", "回答数"]
    rating = next(row for row in rows if row[1] == "评分（1–5）")
    assert rating[2] == 3 and rating[3] == 4.0 and isinstance(rating[3], int | float)
    assert book["问题"].freeze_panes == f"A{HEADER_ROW + 1}"


def test_an_organiser_of_another_workshop_cannot_download(
    client, auth, make_user, make_workshop, ended, survey, db
):
    other = make_workshop(title_en="Other")
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(other)
    db.session.commit()
    answered(ended, survey, 1)
    auth.login(organiser)
    for workshop in (other, ended):  # not even their own: downloads carry everyone's data
        assert (
            client.get(f"/staff/workshops/{workshop.id}/registrations/export.xlsx?lang=zh").status_code == 403
        )
    for download in ("responses.xlsx?lang=both", "responses.csv", "summary.xlsx?lang=zh"):
        assert client.get(f"/staff/workshops/{ended.id}/survey/{download}").status_code == 403


def test_the_download_buttons_offer_the_headers_language_and_keep_the_filters(
    client, coordinator, make_workshop
):
    workshop = make_workshop()
    client.get("/language/zh")
    page = client.get(f"/staff/workshops/{workshop.id}/registrations?status=confirmed").get_data(as_text=True)
    assert 'name="lang"' in page and '<option value="zh" lang="zh-CN" selected>' in page
    assert 'value="both"' in page and '<input type="hidden" name="status" value="confirmed">' in page
    assert f'formaction="/staff/workshops/{workshop.id}/registrations/export.xlsx"' in page
