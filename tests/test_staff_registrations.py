"""Coordinators and organisers manage a workshop's registrations."""

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from tests.helpers import applicant
from workshops.models import AuditEvent, Job, Registration, RegistrationStatus, Role
from workshops.services import exports
from workshops.services import registration as registrations

Status = RegistrationStatus


@pytest.fixture
def coordinator(auth, make_user):
    user = make_user(Role.COORDINATOR)
    auth.login(user)
    return user


def people(db, workshop):
    return db.session.scalars(
        db.select(Registration).filter_by(workshop_id=workshop.id).order_by(Registration.id)
    ).all()


def test_list_counts_filters_and_searches(client, coordinator, make_workshop):
    workshop = make_workshop(onsite_capacity=1)
    registrations.register(workshop.id, applicant(1, full_name="王芳", organisation="宁波海港物流集团"))
    registrations.register(workshop.id, applicant(2, full_name="Maria Fernandes", mobile="+86 139-1234-5678"))
    registrations.register(workshop.id, applicant(3, full_name="张伟", mode="online", city="天津"))
    url = f"/staff/workshops/{workshop.id}/registrations"
    page = client.get(url).get_data(as_text=True)
    assert "王芳" in page and "Maria Fernandes" in page and "张伟" in page
    assert "1 registration shown" in client.get(url + "?q=海港").get_data(as_text=True)
    assert "3 registrations shown" in page
    assert "Maria Fernandes" in client.get(url + "?q=13912345678").get_data(as_text=True)
    waitlisted = client.get(url + "?status=waitlisted").get_data(as_text=True)
    assert "Maria Fernandes" in waitlisted and "王芳" not in waitlisted
    tianjin = client.get(url + "?city=天津").get_data(as_text=True)
    assert "张伟" in tianjin and "王芳" not in tianjin
    assert "No registrations match." in client.get(url + "?q=%25_nobody").get_data(as_text=True)


def test_coordinator_approves_and_declines_with_a_reason(client, coordinator, make_workshop, db):
    workshop = make_workshop(approval_required=True)
    one = registrations.register(workshop.id, applicant(1)).registration
    two = registrations.register(workshop.id, applicant(2)).registration
    base = f"/staff/workshops/{workshop.id}/registrations"
    assert client.post(f"{base}/{one.id}/approve").status_code == 302
    response = client.post(f"{base}/{two.id}/reject", data={"reason": ""}, follow_redirects=True)
    assert "Give a reason; it is sent to the person." in response.get_data(as_text=True)
    client.post(f"{base}/{two.id}/reject", data={"reason": "Not a pilot unit"})
    db.session.expire_all()
    assert [p.status for p in people(db, workshop)] == [Status.CONFIRMED, Status.REJECTED]
    decisions = db.select(AuditEvent.action).filter_by(actor_id=coordinator.id)
    # (the coordinator's sign-in is in the log too)
    assert db.session.scalars(decisions.where(AuditEvent.action.like("registration.%"))).all() == [
        "registration.approve",
        "registration.reject",
    ]


def test_move_up_and_resend(client, coordinator, make_workshop, db):
    workshop = make_workshop(onsite_capacity=1)
    first = registrations.register(workshop.id, applicant(1)).registration
    second = registrations.register(workshop.id, applicant(2)).registration
    base = f"/staff/workshops/{workshop.id}/registrations"
    response = client.post(f"{base}/{second.id}/move-up", follow_redirects=True)
    assert "No Onsite seat is free. Raise the capacity first." in response.get_data(as_text=True)
    client.post(f"{base}/{first.id}/cancel", data={"reason": "Asked by phone"})
    db.session.expire_all()
    assert [p.status for p in people(db, workshop)] == [Status.CANCELLED, Status.CONFIRMED]
    assert client.post(f"{base}/{second.id}/resend").status_code == 302


def test_edit_corrects_details_but_not_into_a_duplicate(client, coordinator, make_workshop, db):
    workshop = make_workshop()
    one = registrations.register(workshop.id, applicant(1)).registration
    registrations.register(workshop.id, applicant(2))
    url = f"/staff/workshops/{workshop.id}/registrations/{one.id}"
    data = {
        "full_name": "李华",
        "email": "person2@example.org",
        "organisation_type": "tvet",
        "gender": "woman",
        "language": "zh",
    }
    assert "Another active registration at this workshop uses this email." in client.post(
        url, data=data
    ).get_data(as_text=True)
    data["email"] = "li.hua@example.org"
    assert client.post(url, data=data).status_code == 302
    db.session.expire_all()
    assert people(db, workshop)[0].full_name == "李华"


def test_organiser_registers_walk_ins_but_cannot_decide(client, auth, make_user, make_workshop, db):
    organiser = make_user(Role.ORGANISER)
    workshop = make_workshop(onsite_capacity=1)
    other = make_workshop(title_en="Another")
    organiser.workshops.append(workshop)
    db.session.commit()
    auth.login(organiser)
    data = {
        "full_name": "刘洋",
        "email": "liu@example.org",
        "mobile": "13800000000",
        "organisation": "常州恒泰",
        "organisation_type": "enterprise",
        "gender": "man",
        "mode": "onsite",
        "language": "zh",
    }
    response = client.post(f"/staff/workshops/{workshop.id}/walk-in", data=data, follow_redirects=True)
    assert "刘洋 is registered." in response.get_data(as_text=True)
    response = client.post(
        f"/staff/workshops/{workshop.id}/walk-in",
        data={**data, "email": "x@example.org", "mobile": "13800000001"},  # someone else
        follow_redirects=True,
    )
    assert "on the waiting list" in response.get_data(as_text=True)
    walk_in = people(db, workshop)[0]
    assert (
        walk_in.source.value == "walk_in"
        and walk_in.status == Status.CONFIRMED
        and walk_in.consent_at is None
    )
    assert client.post(f"/staff/workshops/{other.id}/walk-in", data=data).status_code == 403
    assert (
        client.post(f"/staff/workshops/{workshop.id}/registrations/{walk_in.id}/approve").status_code == 403
    )
    assert client.get(f"/staff/workshops/{workshop.id}/registrations/export.csv").status_code == 403
    assert client.get(f"/staff/workshops/{workshop.id}/import").status_code == 403


def test_export_has_every_field_and_neutralises_formulas(client, coordinator, make_workshop, db):
    workshop = make_workshop()
    registrations.register(
        workshop.id,
        applicant(
            1, full_name='=HYPERLINK("http://evil")', organisation="+cmd", job_title="@SUM(A1)", city="-2+3"
        ),
    )
    registrations.register(workshop.id, applicant(2, full_name="张伟"))
    text = client.get(f"/staff/workshops/{workshop.id}/registrations/export.csv").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["Name"] == '\'=HYPERLINK("http://evil")'
    assert (
        rows[0]["Organisation"] == "'+cmd"
        and rows[0]["Job title"] == "'@SUM(A1)"
        and rows[0]["City"] == "'-2+3"
    )
    assert rows[1]["Name"] == "张伟" and rows[1]["Email"] == "person2@example.org"
    assert {"Mobile", "Gender", "Status", "Registered through", "Consent given at (Asia/Shanghai)"} <= set(
        rows[0]
    )
    assert "Access or dietary needs" in rows[0]

    # XLSX text is a string cell: never a formula, and kept as it is (no apostrophe).
    xlsx = client.get(f"/staff/workshops/{workshop.id}/registrations/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=exports.HEADER_ROW)]
    assert values[1][1] == '=HYPERLINK("http://evil")' and values[2][1] == "张伟"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert (
        db.session.scalar(
            db.select(db.func.count()).select_from(AuditEvent).filter_by(action="registration.export")
        )
        == 2
    )


def xlsx_bytes(rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, workshop, filename, data):
    return client.post(
        f"/staff/workshops/{workshop.id}/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_import_previews_every_row_and_writes_nothing_until_confirmed(client, coordinator, make_workshop, db):
    workshop = make_workshop()
    registrations.register(workshop.id, applicant(9, email="already@example.org"))
    data = xlsx_bytes(
        [
            ["姓名", "邮箱", "手机", "工作单位", "单位类型", "性别", "参会方式"],
            ["王芳", "wang@example.org", "13800000001", "重庆长江精密机械", "企业", "女", "现场"],
            [
                "John Okafor",
                "john@example.org",
                "",
                "Guangzhou Industry Polytechnic",
                "TVET institution",
                "Man",
                "online",
            ],
            ["", "noname@example.org", "", "", "", "", "onsite"],
            ["坏邮箱", "not-an-email", "", "", "", "", "onsite"],
            ["重复", "WANG@example.org", "", "", "", "", "onsite"],
            ["已报名", "already@example.org", "", "", "", "", "onsite"],
        ]
    )
    response = upload(client, workshop, "nominations.xlsx", data)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 rows are ready to import. 4 rows will be refused." in page
    assert "Enter your full name." in page and "Enter a valid email address" in page
    assert "Same person as line 2." in page
    assert "Already registered at this workshop (Confirmed)." in page
    assert len(people(db, workshop)) == 1  # nothing written yet

    job = db.session.scalars(db.select(Job)).one()
    assert client.post(f"/staff/jobs/{job.id}/confirm").status_code == 302  # runs eagerly in tests
    db.session.expire_all()
    imported = people(db, workshop)[1:]
    assert [
        (p.full_name, p.mode.value, p.organisation_type.value, p.gender.value, p.source.value)
        for p in imported
    ] == [
        ("王芳", "onsite", "enterprise", "woman", "import"),
        ("John Okafor", "online", "tvet", "man", "import"),
    ]
    job = db.session.get(Job, job.id)
    assert job.status == "done" and job.done == job.total == 2 and job.result == {"created": 2, "skipped": 0}
    progress = client.get(f"/staff/jobs/{job.id}/progress").json
    assert progress["percent"] == 100 and progress["finished"] is True
    again = client.post(f"/staff/jobs/{job.id}/confirm", follow_redirects=True)
    assert "This import has already been confirmed." in again.get_data(as_text=True)
    assert len(people(db, workshop)) == 3


def test_import_reads_chinese_excel_csv_in_gbk(client, coordinator, make_workshop, db):
    workshop = make_workshop(format="onsite")  # one mode: no mode column needed
    data = "姓名,邮箱,单位\n李娜,lina@example.org,天津机电职业技术学院\n".encode("gbk")
    response = upload(client, workshop, "名单.csv", data)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "李娜" in page and "1 row is ready to import." in page


@pytest.mark.parametrize(
    "filename, data, message",
    [
        ("list.csv", b"", "The file is empty."),
        ("list.pdf", b"%PDF-1.4", "Upload a .csv or .xlsx file."),
        ("list.xlsx", b"PK\x03\x04 not really a zip", "This file is not a readable XLSX workbook."),
        ("list.csv", b"name,email\n", "The file has no rows under its header row."),
        ("list.csv", b"Vorname,Nachname\nA,B\n", "No header row found in the first 20 rows"),
        ("list.csv", b"name,email\n" + b"a,a@example.org\n" * 5001, "more than 5000 rows"),
        ("list.csv", b"\x00\x01\x02abc", "This does not look like a CSV file."),
        ("list.csv", b"\xff\xfe\xfd\x81", "The file's text encoding is not recognised."),
    ],
)
def test_bad_import_files_are_explained_and_nothing_is_kept(
    client, coordinator, make_workshop, db, filename, data, message
):
    workshop = make_workshop()
    response = upload(client, workshop, filename, data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 0


def test_oversized_upload_is_refused_with_a_page(client, coordinator, make_workshop, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    workshop = make_workshop()
    response = upload(client, workshop, "big.csv", b"name,email\n" + b"x" * 4096)
    assert response.status_code == 413
    assert "The file is too large" in response.get_data(as_text=True)


def test_coordinator_messages_confirmed_participants_in_their_language(
    client, coordinator, make_workshop, db
):
    from workshops.models import OutboxMessage

    workshop = make_workshop(onsite_capacity=2)
    for n, language in enumerate(["zh", "en", "zh"]):
        registrations.register(workshop.id, applicant(n, language=language))  # the third is waitlisted
    db.session.execute(db.delete(OutboxMessage))
    db.session.commit()
    response = client.post(
        f"/staff/workshops/{workshop.id}/message",
        data={
            "audience": "confirmed",
            "mode": "",
            "subject_en": "Venue changed",
            "body_en": "We meet in Hall B.",
            "subject_zh": "场地变更",
            "body_zh": "改在B厅。",
        },
    )
    assert response.status_code == 302
    messages = {m.recipient: m for m in db.session.scalars(db.select(OutboxMessage))}
    assert set(messages) == {"person0@example.org", "person1@example.org"}
    assert (
        messages["person0@example.org"].subject == "场地变更"
        and "改在B厅。" in messages["person0@example.org"].body_text
    )
    assert messages["person1@example.org"].subject == "Venue changed"
    job = db.session.scalars(db.select(Job)).one()
    assert (job.status, job.done, job.total) == ("done", 2, 2)
    assert "2 emails are on their way." in client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)


def test_message_needs_content_and_recipients(client, coordinator, make_workshop, db):
    workshop = make_workshop()
    empty = client.post(f"/staff/workshops/{workshop.id}/message", data={"audience": "confirmed", "mode": ""})
    assert empty.status_code == 422 and "Write the message in English, Chinese or both." in empty.get_data(
        as_text=True
    )
    nobody = client.post(
        f"/staff/workshops/{workshop.id}/message",
        data={"audience": "confirmed", "mode": "", "subject_en": "Hi", "body_en": "Hello"},
    )
    assert "Nobody matches: no message was sent." in nobody.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 0


def test_registration_posts_are_rate_limited_per_address(make_app, make_workshop):
    from tests.helpers import form_data

    workshop = make_workshop()
    client = make_app(RATELIMIT_ENABLED=True, REGISTRATION_RATE_LIMIT="2 per minute").test_client()
    codes = [
        client.post(f"/workshops/{workshop.id}/register", data=form_data(n)).status_code for n in range(3)
    ]
    assert codes == [302, 302, 429]
