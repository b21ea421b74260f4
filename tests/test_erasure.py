"""Deleted means deleted: a person put in through every path, erased, and looked for in every table.

The tables are read from ``db.metadata``: a table added later is searched too, without
touching this file. Each value is read as the database gives it back and also as text
(JSON both as written and with its \\u escapes, binary data as bytes), so a name hidden in an
import's payload, a rendered email or an uploaded file is found.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests import meeting_exports as export
from tests.helpers import applicant, follow_confirmation_link, form_data
from tests.test_surveys import answers
from workshops.extensions import db as _db
from workshops.models import (
    AuditEvent,
    Certificate,
    EmailKind,
    Job,
    JobFile,
    JobStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Role,
    ScanLog,
    SignInThrottle,
)
from workshops.services import (
    certificates,
    checkin,
    meeting_reports,
    nominations,
    outbox,
    privacy,
    surveys,
    users,
)
from workshops.services import registration as registrations

NAME, LATIN = "周晓云", "Zhou Xiaoyun"
EMAIL = "zhou.xiaoyun@example.org"
MOBILE, NATIONAL = "+8613912345678", "13912345678"
IP = "203.0.113.77"
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.23"}
NEVER_REGISTERED = ("欧阳明远", "ouyang.mingyuan@example.org", "13700001111")
DEVICE, NONCE = "Door phone 7", "nonce-zhou-7f3a"


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


# As enterprises send them (../shared/REAL_FILES.md): a title row, 序号, the list, the filler's line.
TITLE = ["重庆市高质量学徒制能力建设研讨会报名表"]
HEADER = ["序号", "姓名", "手机", "邮箱", "单位", "参会方式"]
ME_ROW = ["1", NAME, "139-1234-5678", EMAIL, "重庆工程职业技术学院", "线下"]
FILLER = ["填表人：周敏", "", "联系电话：13900001111", "", "", ""]
NOMINATIONS = csv_bytes(
    [
        TITLE,
        HEADER,
        ME_ROW,
        ["2", NEVER_REGISTERED[0], NEVER_REGISTERED[2], NEVER_REGISTERED[1], "重庆工程职业技术学院", "线下"],
        FILLER,
    ]
)


def every_value(table: sa.Table) -> list[tuple[str, str]]:
    """(column, text) for every value of every row of ``table``."""
    found = []
    for row in _db.session.execute(sa.select(table)).mappings():
        for column, value in row.items():
            if value is None:
                continue
            if isinstance(value, bytes | memoryview):
                texts = [bytes(value).decode("utf-8", "ignore"), bytes(value).decode("latin-1")]
            elif isinstance(value, dict | list):
                texts = [json.dumps(value, ensure_ascii=False), json.dumps(value)]
            else:
                texts = [str(value)]
            found += [(column, text) for text in texts]
    # The database's own text too (PostgreSQL writes JSON with escapes, SQLite as it came).
    textual = [c for c in table.columns if not isinstance(c.type, sa.LargeBinary)]
    for row in _db.session.execute(sa.select(*(sa.cast(c, sa.Text) for c in textual))):
        found += [(c.name, value) for c, value in zip(textual, row, strict=True) if value is not None]
    return found


def traces(needles: list[str]) -> list[str]:
    """Where in the database any of ``needles`` (or its JSON-escaped form) is still found."""
    forms = {form.casefold() for needle in needles for form in (needle, json.dumps(needle)[1:-1])}
    hits = []
    for table in _db.metadata.sorted_tables:
        for column, text in every_value(table):
            hits += [f"{table.name}.{column}: {form}" for form in forms if form in text.casefold()]
    return sorted(set(hits))


@pytest.fixture
def everywhere(app, client, make_workshop, make_user, mailbox, tmp_path, db):
    """A person registered in public (email, mobile, free fields) from their own address, their
    seat held until they followed the email's link, then nominated in an import, found in a
    meeting report, scanned at the door, mailed and texted, asking the room poster for their
    survey link, answering the survey in free text, holding a certificate, their address typed
    at the staff sign-in, and downloading their data."""
    app.config.update(SMS_PROVIDER="log", SMS_LOG_FILE=str(tmp_path / "sms.log"), SMS_SIGN_NAME="")
    mailbox.start()
    coordinator = make_user(Role.COORDINATOR)
    workshop = make_workshop(confirm_contact=True)  # as every new workshop: the email link first
    me = {"REMOTE_ADDR": IP}
    response = client.post(
        f"/workshops/{workshop.id}/register",
        data=form_data(
            full_name=NAME,
            latin_name=LATIN,
            email=EMAIL,
            mobile="+86 139 1234 5678",
            needs=f"Wheelchair access please, {NAME}",
            job_title="Dean of Apprenticeships",
        ),
        environ_base=me,
    )
    assert response.status_code in (200, 302), response.get_data(as_text=True)
    person = db.session.scalars(sa.select(Registration).filter_by(email=EMAIL)).one()
    assert person.mobile == MOBILE and person.latin_name == LATIN
    assert person.status == RegistrationStatus.UNVERIFIED
    assert follow_confirmation_link(client, mailbox, EMAIL).status_code in (200, 302)
    db.session.refresh(person)
    assert person.status == RegistrationStatus.CONFIRMED

    # The workshop is on now: the door, the meeting and the survey.
    now = datetime.now(UTC)
    workshop.starts_at, workshop.ends_at = now - timedelta(hours=2), now + timedelta(hours=6)
    first, second = workshop.sessions
    first.starts_at, first.ends_at = now - timedelta(hours=2), now + timedelta(hours=1)
    second.starts_at, second.ends_at = now + timedelta(hours=2), now + timedelta(hours=6)
    db.session.commit()

    # Nominations imports listing them: one done (they were registered already), and one left in
    # preview that also lists someone never registered.
    done = nominations.preview_import(
        workshop, "nominations.csv", csv_bytes([TITLE, HEADER, ME_ROW, FILLER]), coordinator
    )
    nominations.confirm_import(done, coordinator)
    nominations.preview_import(workshop, f"{NAME}-list.csv", NOMINATIONS, coordinator)

    # A meeting report: their row matches by email; a rejoin under their Latin name does not.
    t = first.starts_at
    report = export.zoom_current(
        [
            (NAME, EMAIL, t, t + timedelta(minutes=90), 90, "No"),
            (f"{LATIN} (iPad)", "", t, t + timedelta(minutes=20), 20, "No"),
        ],
        t,
        first.ends_at,
    )
    meeting = meeting_reports.preview_report(workshop, first, "zoom.csv", report, 30, coordinator)
    meeting_reports.import_now(meeting, coordinator)
    # And a second report left in preview, with its file.
    meeting_reports.preview_report(workshop, first, "zoom-again.csv", report, 30, coordinator)

    # The door: a scan from a named device with a nonce, then the same ticket again (refused).
    scanner = checkin.Scanner(user_id=coordinator.id, device=DEVICE)
    checkin.redeem(second, token=person.ticket_token, scanner=scanner, nonce=NONCE, override=True)
    checkin.redeem(second, token=person.ticket_token, scanner=scanner, nonce=NONCE + "-2")

    # A named survey answered with free text.
    survey = surveys.survey_for(workshop)
    surveys.apply_template(survey, None)
    survey.opens_at = now - timedelta(hours=1)
    db.session.commit()
    # The room poster: they ask for their link, which is mailed to them.
    assert client.post(f"/survey/{workshop.id}", data={"contact": EMAIL}, environ_base=me).status_code == 200
    surveys.submit(survey, person, answers(survey, suggestions=f"{NAME} here: call me on {NATIONAL}"))
    colleague = registrations.register(workshop.id, applicant(5)).registration
    surveys.submit(survey, colleague, answers(survey, suggestions=f"Thanks to {LATIN} for the notes"))

    # A certificate, its PDF rendered and kept, and its email.
    certificate = certificates.issue(
        person, by_hand=True, reason=f"{LATIN} attended online", actor=coordinator
    )
    certificates.pdf_of(certificate)
    outbox.deliver_due()
    assert mailbox.to(EMAIL), "the emails reached the SMTP server"
    assert db.session.scalars(sa.select(OutboxMessage).filter_by(channel="sms", status="sent")).first()
    mailed = db.session.scalars(sa.select(OutboxMessage.kind).filter_by(recipient=EMAIL, status="sent"))
    assert {EmailKind.CONTACT_CHECK, EmailKind.SURVEY_LINK} <= set(mailed)

    # Someone types their address at the staff sign-in (they have no account).
    client.post("/login", data={"email": EMAIL, "password": "Not-a-password-1"}, environ_base=ELSEWHERE)
    assert db.session.get(SignInThrottle, users.sign_in_key(EMAIL)).failures == 1

    # The person looks at their data, from their own address.
    assert client.get(f"/r/{person.manage_token}/my-data.json", environ_base=me).status_code == 200
    return workshop, person, certificate


def test_a_person_deleted_at_their_request_is_found_in_no_table(client, everywhere, db):
    workshop, person, certificate = everywhere
    needles = [NAME, LATIN, EMAIL, MOBILE, NATIONAL, IP, DEVICE, NONCE]
    before = traces(needles)
    # The set-up reached every place the erasure has to clean (else the test proves nothing).
    for place in (
        "registration.full_name",
        "outbox_message.recipient",
        "outbox_message.body_text",
        "job.payload",
        "job_file.data",
        "scan_log.device",
        "scan_log.client_nonce",
        "attendance.device",
        "answer.text",
        "audit_event.ip",
        "certificate.grant_reason",
    ):
        assert any(hit.startswith(place) for hit in before), place

    response = client.post(f"/r/{person.manage_token}/delete", environ_base={"REMOTE_ADDR": IP})
    assert response.status_code == 200

    assert traces(needles) == []
    # What the programme counts, and the trail of what was done, stay.
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScanLog)) >= 2
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"privacy.export", "privacy.delete", "certificate.grant", "registration.import_preview"} <= actions
    assert db.session.get(Certificate, certificate.id).withdrawn_at is not None
    # The failed sign-in with their address is a security record and stays, only as a keyed hash
    # (the grep above finds no address in clear); so does the throttle's count: erasing must not
    # reset a lockout.
    [failed] = db.session.scalars(sa.select(AuditEvent).filter_by(action="user.sign_in_failed")).all()
    assert failed.details == {"email_key": users.sign_in_key(EMAIL), "reason": "unknown account"}
    assert failed.ip == ELSEWHERE["REMOTE_ADDR"]
    assert db.session.get(SignInThrottle, users.sign_in_key(EMAIL)).failures == 1


def test_the_retention_purge_erases_the_same_way(app, everywhere, db):
    workshop, person, certificate = everywhere
    app.config["DATA_RETENTION_DAYS"] = 30
    privacy.purge_expired(datetime.now(UTC) + timedelta(days=31))
    assert traces([NAME, LATIN, EMAIL, MOBILE, NATIONAL, IP, DEVICE, NONCE]) == []
    # Not asked by the holder: the certificate still verifies its serial, with no name on it.
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).valid


def test_import_previews_and_finished_imports_lose_their_people(app, client, auth, make_user, everywhere, db):
    """Someone only nominated, never registered, is gone once imports are confirmed or abandoned."""
    stranger = list(NEVER_REGISTERED)
    assert traces(stranger)
    privacy.purge_expired()  # within a day: the open previews stay as they are
    previews = db.session.scalars(sa.select(Job).filter_by(status=JobStatus.PREVIEW)).all()
    assert len(previews) == 2 and all(p.payload.get("people") or p.payload.get("rows") for p in previews)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobFile)) == 2
    assert [hit for hit in traces(stranger) if not hit.startswith("job")] == []

    privacy.purge_expired(datetime.now(UTC) + timedelta(hours=app.config["IMPORT_PREVIEW_HOURS"] + 1))
    assert traces(stranger) == []
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobFile)) == 0
    closed = db.session.scalars(sa.select(Job).where(Job.kind.in_(["import", "meeting_import"]))).all()
    assert {job.status for job in closed} == {JobStatus.DONE, JobStatus.FAILED}
    assert all("upload the file again" in job.error for job in closed if job.status == JobStatus.FAILED)
    auth.login(make_user(Role.ADMIN, email="admin@example.org"))
    for job in closed:  # their pages still open, with what is left
        assert client.get(f"/staff/jobs/{job.id}").status_code == 200


def test_the_download_lists_everything_held_about_the_person(client, everywhere, db):
    workshop, person, certificate = everywhere
    data = client.get(f"/r/{person.manage_token}/my-data.json").json
    assert data["registration"]["full_name"] == NAME and data["registration"]["mobile"] == MOBILE
    assert data["registration"]["needs"].startswith("Wheelchair")
    sent = [m for m in data["messages"] if m["status"] == "sent"]
    kinds = {(m["kind"], m["channel"]) for m in sent}
    assert {("confirmation", "email"), ("confirmation", "sms"), ("certificate_ready", "email")} <= kinds
    # The email link that kept their seat, and the survey link the room poster sent, are emails too.
    assert {("contact_check", "email"), ("survey_link", "email")} <= kinds
    link = next(m for m in sent if m["kind"] == "survey_link")
    assert link["to"] == EMAIL and link["subject"].startswith("Your personal survey link") and link["body"]
    email = next(m for m in sent if m["channel"] == "email" and m["kind"] == "confirmation")
    assert email["to"] == EMAIL and email["subject"] and NAME in email["body"] and email["sent_at"]
    [door] = data["attendance"]
    assert (door["session"], door["method"]) == ("Day 2", "qr") and door["checked_in_at"]
    [online] = data["online_attendance"]
    assert (online["session"], online["method"], online["minutes"]) == ("Day 1", "meeting_import", 90)
    results = sorted(scan["result"] for scan in data["scans"] if scan["method"] == "qr")
    assert results == ["already_checked_in", "ok"], results
    texts = [a["text"] for a in data["survey_answers"] if a["text"]]
    assert any(NATIONAL in text for text in texts)
    assert all(a["question"] for a in data["survey_answers"])
    cert = data["certificate"]
    assert (cert["serial"], cert["status"]) == (certificate.serial, "valid")
    assert cert["verify_url"] == f"http://workshops.test/verify/{certificate.code}"


def test_a_withdrawn_certificate_verifies_as_withdrawn_and_names_no_one(client, everywhere, db):
    workshop, person, certificate = everywhere
    code = certificate.code
    page = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "Valid certificate" in page and NAME in page
    client.post(f"/r/{person.manage_token}/delete")

    page = client.get(f"/verify/{code}").get_data(as_text=True)
    assert "This certificate was withdrawn at the holder's request." in page
    assert "Valid certificate" not in page and NAME not in page and "—" not in page
    assert certificate.serial in page  # the paper's number still leads to its workshop
    chinese = client.get(f"/verify/{code}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "应持有人要求已撤销" in chinese
    answer = client.get(f"/api/v1/certificates/{code}").json
    assert answer["valid"] is False and answer["withdrawn"] is True and answer["name"] == ""
    assert answer["status"] == "This certificate was withdrawn at the holder's request."
    assert client.get(f"/api/v1/certificates/{code}", headers={"Accept-Language": "zh-CN"}).json[
        "status"
    ] == ("此证书应持有人要求已撤销。")


def test_erasing_one_person_leaves_the_others_rows_whole(app, make_workshop, db):
    """参加者1 is not found inside 参加者10, nor person1@ inside person10@; a Chinese name is
    found inside a Chinese sentence, and a phone however it is spaced."""
    workshop = make_workshop()
    one = registrations.register(workshop.id, applicant(1)).registration
    marks = privacy.Marks.of(one)
    ten = {"values": {"full_name": "参加者10", "email": "person10@example.org", "mobile": "+8613800000010"}}
    assert marks.scrub({"rows": [ten], "samples": [["参加者10"]]}) == {
        "rows": [ten],
        "samples": [["参加者10"]],
    }
    assert marks.in_text("请联系参加者1，谢谢") and marks.in_text("Call 138-0000-0001 please")
    assert marks.in_text("PERSON1@example.org") and not marks.in_text("13800000010")
    mine = {"registration_id": one.id, "minutes": 40}
    assert marks.scrub({"people": [mine, {"registration_id": 99}], "note": "参加者1 left"}) == {
        "people": [{"registration_id": 99}],
        "note": "—",
    }


def test_erasing_a_person_leaves_other_events_from_their_address_alone(client, make_workshop, make_user, db):
    """The venue's network is one address for everyone behind it, and whoever tried passwords from
    an address could register from it and press "Delete my data": only the person's own events
    lose the address, never another participant's, never a sign-in's or a lockout's."""
    staff = make_user(Role.COORDINATOR)
    workshop = make_workshop()
    venue = {"REMOTE_ADDR": IP}
    for _ in range(5):
        client.post("/login", data={"email": staff.email, "password": "guess-guess"}, environ_base=venue)
    for n in (1, 2):
        response = client.post(f"/workshops/{workshop.id}/register", data=form_data(n), environ_base=venue)
        assert response.status_code in (200, 302)
    leaving, staying = (
        db.session.scalars(sa.select(Registration).filter_by(email=f"person{n}@example.org")).one()
        for n in (1, 2)
    )

    for someone in (leaving, staying):  # each downloads their data: an event from the venue
        assert client.get(f"/r/{someone.manage_token}/my-data.json", environ_base=venue).status_code == 200

    def ips(**where) -> list[str]:
        db.session.expire_all()
        return list(db.session.scalars(sa.select(AuditEvent.ip).filter_by(**where)))

    assert ips(target_type="registration", target_id=leaving.id) and ips(action="user.sign_in_locked")
    response = client.post(f"/r/{leaving.manage_token}/delete", environ_base=venue)
    assert response.status_code == 200

    assert set(ips(target_type="registration", target_id=leaving.id)) == {""}
    assert set(ips(target_type="registration", target_id=staying.id)) == {IP}
    assert ips(action="user.sign_in_failed") == [IP] * 5
    assert ips(action="user.sign_in_locked") == [IP]
