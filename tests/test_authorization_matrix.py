"""Who may do what: every staff, check-in and API endpoint x every role, written as data.

A new endpoint must be added to MATRIX, or test_every_endpoint_is_in_the_matrix fails.
Expectations: "ok" = got past authorisation (any answer but 401/403/a redirect to sign in),
"login" = sent to the sign-in page, "401", "403".
"""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import PASSWORD
from tests.helpers import applicant
from workshops.models import Job, JobFile, Programme, Role
from workshops.services import checkin, checkin_access, surveys
from workshops.services import registration as registrations

ROLES = [
    "anonymous",
    "volunteer",
    "organiser_of_b",
    "organiser",
    "coordinator",
    "admin",
    # Limited to programme P (workshop A's), and to another programme: a city's bureau.
    "coordinator_of_p",
    "coordinator_elsewhere",
    # Report readers (a ministry department, the donor): every programme, and another one only.
    "reporter",
    "reporter_elsewhere",
]

# Policies: what each role gets. Those of workshop A's pages: a coordinator limited to P as any
# coordinator, one limited elsewhere refused; report readers open no workshop.
OF_A = dict(coordinator_of_p="ok", coordinator_elsewhere="403", reporter="403", reporter_elsewhere="403")
SCHED = dict(
    anonymous="login",
    volunteer="login",
    organiser_of_b="403",
    organiser="403",
    coordinator="ok",
    admin="ok",
    **OF_A,
)
# Scheduling pages of no workshop: any coordinator, limited or not.
SCHED_ANY = dict(SCHED, coordinator_elsewhere="ok")
# Limited coordinators work within their programmes: they make no new one.
NEW_PROGRAMME = dict(SCHED, coordinator_of_p="403")
STAFF_WS = dict(SCHED, organiser="ok")
STAFF_ANY = dict.fromkeys(ROLES, "ok") | dict(anonymous="login", volunteer="login")
# Programme P's report and workshop A's feedback summary (aggregates): report readers of P too.
REPORT = dict(SCHED, reporter="ok")
REPORTS_ANY = dict(SCHED_ANY, reporter="ok", reporter_elsewhere="ok")
SCAN_PAGE = dict(STAFF_WS, volunteer="ok")
SCAN_LOG = dict(SCAN_PAGE, volunteer="403")  # it names who scanned: staff only
SCAN_API = dict(SCAN_PAGE, anonymous="403")
UNDO = dict(SCAN_API, volunteer="403")  # a link undoes only its own check-ins (see test_checkin_api)
API_STAFF = dict(STAFF_WS, anonymous="401", volunteer="401")
API_SCHED = dict(SCHED, anonymous="401", volunteer="401")
API_REPORT = dict(API_SCHED, reporter="ok")
PUBLIC = dict.fromkeys(ROLES, "ok")
ADMIN = dict(SCHED, coordinator="403", coordinator_of_p="403")
# A download made by a job: only the person who asked (here the coordinator, or the reporter for
# the programme report), while the instant download is still theirs; not even an admin.
ASKER = dict.fromkeys(ROLES, "403") | dict(anonymous="login", volunteer="login", coordinator="ok")
READER_ASKER = dict(ASKER, coordinator="403", reporter="ok")
# Report readers check nobody in.
CHECKIN_HOME = dict(STAFF_ANY, volunteer="ok", reporter="403", reporter_elsewhere="403")

# (endpoint, method, url, policy). {a} = workshop A, {r} = a registration in A, and so on.
# Destructive requests come last.
MATRIX = [
    ("staff.dashboard", "GET", "/staff/", STAFF_ANY),
    ("auth.change_password", "GET", "/account/password", STAFF_ANY),
    ("auth.login", "GET", "/login", PUBLIC),
    ("staff.new_workshop", "GET", "/staff/workshops/new", SCHED_ANY),
    ("staff.programmes", "GET", "/staff/programmes", REPORTS_ANY),
    ("staff.audit_log", "GET", "/staff/audit", ADMIN),
    ("staff.staff_users", "GET", "/staff/users", ADMIN),
    ("staff.programme_form", "GET", "/staff/programmes/new", NEW_PROGRAMME),
    ("staff.programme_form", "GET", "/staff/programmes/{p}", SCHED),
    ("staff.programme_report", "GET", "/staff/programmes/{p}/report", REPORT),
    ("staff.programme_report", "GET", "/staff/programmes/{p}/report.xlsx", REPORT),
    ("staff.programme_report", "GET", "/staff/programmes/{p}/report.pdf", REPORT),
    ("staff.workshop", "GET", "/staff/workshops/{a}", STAFF_WS),
    ("staff.edit_workshop", "GET", "/staff/workshops/{a}/edit", SCHED),
    ("staff.edit_session", "GET", "/staff/workshops/{a}/sessions/{s}", SCHED),
    ("staff.add_session", "POST", "/staff/workshops/{a}/sessions", SCHED),
    ("staff.move_workshop", "POST", "/staff/workshops/{a}/move", SCHED),
    ("staff.assign_organisers", "POST", "/staff/workshops/{a}/organisers", SCHED),
    ("staff.registrations_list", "GET", "/staff/workshops/{a}/registrations", STAFF_WS),
    ("staff.edit_registration", "GET", "/staff/workshops/{a}/registrations/{r}", SCHED),
    ("staff.approve_registration", "POST", "/staff/workshops/{a}/registrations/{r}/approve", SCHED),
    ("staff.move_up_registration", "POST", "/staff/workshops/{a}/registrations/{r}/move-up", SCHED),
    ("staff.resend_registration", "POST", "/staff/workshops/{a}/registrations/{r}/resend", SCHED),
    ("staff.reject_registration", "POST", "/staff/workshops/{a}/registrations/{r}/reject", SCHED),
    ("staff.walk_in", "GET", "/staff/workshops/{a}/walk-in", STAFF_WS),
    ("staff.badges", "GET", "/staff/workshops/{a}/badges.pdf", STAFF_WS),
    ("staff.badges", "POST", "/staff/workshops/{a}/badges.pdf", STAFF_WS),
    ("staff.badges_download", "GET", "/staff/workshops/{a}/badges/{bj}.pdf", STAFF_WS),
    ("staff.sign_in_sheet", "GET", "/staff/workshops/{a}/sessions/{s}/sign-in-sheet.pdf", STAFF_WS),
    (
        "staff.sign_in_sheet",
        "GET",
        "/staff/workshops/{a}/sessions/{s}/sign-in-sheet.pdf?check_ins=1",
        STAFF_WS,
    ),
    ("staff.export_registrations", "GET", "/staff/workshops/{a}/registrations/export.csv", SCHED),
    ("staff.workshop_places", "GET", "/staff/workshops/{a}/places", SCHED),
    ("staff.workshop_places", "POST", "/staff/workshops/{a}/places", SCHED),
    ("staff.programme_places", "GET", "/staff/programmes/{p}/places", SCHED),
    ("staff.programme_places", "POST", "/staff/programmes/{p}/places", SCHED),
    ("staff.import_nominations", "GET", "/staff/workshops/{a}/import", SCHED),
    ("staff.meeting_report", "GET", "/staff/workshops/{a}/meeting-report", SCHED),
    ("staff.announce", "GET", "/staff/workshops/{a}/message", SCHED),
    ("staff.job", "GET", "/staff/jobs/{j}", SCHED),
    ("staff.job_progress", "GET", "/staff/jobs/{j}/progress", SCHED),
    # A badge job's page is for the workshop's organisers too (badges are for the door).
    ("staff.job", "GET", "/staff/jobs/{bj}", STAFF_WS),
    ("staff.job_progress", "GET", "/staff/jobs/{bj}/progress", STAFF_WS),
    ("staff.job", "GET", "/staff/jobs/{ej}", ASKER),
    ("staff.job_progress", "GET", "/staff/jobs/{ej}/progress", ASKER),
    ("staff.job_download", "GET", "/staff/jobs/{ej}/download", ASKER),
    ("staff.job", "GET", "/staff/jobs/{rj}", READER_ASKER),
    ("staff.job_download", "GET", "/staff/jobs/{rj}/download", READER_ASKER),
    ("staff.create_checkin_link", "POST", "/staff/workshops/{a}/checkin-links", SCHED),
    ("staff.survey", "GET", "/staff/workshops/{a}/survey", SCHED),
    ("staff.survey_settings", "POST", "/staff/workshops/{a}/survey/settings", SCHED),
    ("staff.add_question", "POST", "/staff/workshops/{a}/survey/questions", SCHED),
    ("staff.edit_question", "GET", "/staff/workshops/{a}/survey/questions/{q}", SCHED),
    ("staff.survey_template", "POST", "/staff/workshops/{a}/survey/template", SCHED),
    ("staff.survey_copy", "POST", "/staff/workshops/{a}/survey/copy", SCHED),
    ("staff.survey_summary", "GET", "/staff/workshops/{a}/survey/summary", REPORT),
    ("staff.survey_download", "GET", "/staff/workshops/{a}/survey/responses.csv", SCHED),
    ("staff.survey_download", "GET", "/staff/workshops/{a}/survey/responses.xlsx", SCHED),
    # The summary is aggregates: report readers of P download it as they read it.
    ("staff.survey_download", "GET", "/staff/workshops/{a}/survey/summary.xlsx", REPORT),
    ("staff.survey_download", "GET", "/staff/workshops/{a}/survey/summary.pdf", REPORT),
    ("staff.survey_poster", "GET", "/staff/workshops/{a}/survey/poster", STAFF_WS),
    ("staff.certificates_page", "GET", "/staff/workshops/{a}/certificates", SCHED),
    ("staff.certificate_decision", "POST", "/staff/workshops/{a}/certificates/{r}/grant", SCHED),
    ("staff.add_certificate_asset", "POST", "/staff/workshops/{a}/certificates/assets", SCHED),
    ("staff.download_certificates", "GET", "/staff/workshops/{a}/certificates/all.zip", SCHED),
    # No such asset: a 404 past authorisation (tests/test_certificate_assets.py removes real ones).
    (
        "staff.remove_certificate_asset",
        "POST",
        "/staff/workshops/{a}/certificates/assets/999999/remove",
        SCHED,
    ),
    ("checkin.choose_workshop", "GET", "/checkin/", CHECKIN_HOME),
    ("checkin.choose_session", "GET", "/checkin/{a}", SCAN_PAGE),
    ("checkin.scanner", "GET", "/checkin/{a}/sessions/{s}", SCAN_PAGE),
    ("checkin.scan_log", "GET", "/checkin/{a}/sessions/{s}/log", SCAN_LOG),
    ("checkin.service_worker", "GET", "/checkin/sw.js", PUBLIC),
    ("api_workshops.list_workshops", "GET", "/api/v1/workshops/", PUBLIC),
    ("api_workshops.get_workshop", "GET", "/api/v1/workshops/{a}", PUBLIC),
    ("api_registrations.register", "POST", "/api/v1/workshops/{a}/registrations", PUBLIC),
    ("api_registrations.list_registrations", "GET", "/api/v1/workshops/{a}/registrations", API_STAFF),
    ("api_registrations.get_registration", "GET", "/api/v1/registrations/{r}", API_STAFF),
    ("api_certificates.certificate_status", "GET", "/api/v1/registrations/{r}/certificate", API_STAFF),
    ("api_certificates.verify", "GET", "/api/v1/certificates/{code}", PUBLIC),
    ("api_surveys.survey_summary", "GET", "/api/v1/workshops/{a}/survey/summary", API_REPORT),
    ("api_checkin.get_roster", "GET", "/api/v1/workshops/{a}/roster?session_id={s}", SCAN_API),
    ("api_checkin.search", "GET", "/api/v1/workshops/{a}/search?session_id={s}&q=x", SCAN_API),
    ("api_checkin.counters", "GET", "/api/v1/sessions/{s}/counters", SCAN_API),
    ("api_checkin.redeem", "POST", "/api/v1/checkin", SCAN_API),
    ("api_checkin.sync", "POST", "/api/v1/checkin/sync", SCAN_API),
    ("api_checkin.undo", "DELETE", "/api/v1/attendances/{att}", UNDO),
    ("staff.remap_job", "POST", "/staff/jobs/{j}/mapping", SCHED),
    ("staff.confirm_job", "POST", "/staff/jobs/{j}/confirm", SCHED),
    ("staff.meeting_report_decision", "POST", "/staff/jobs/{j}/meeting-report", SCHED),
    ("staff.rotate_ticket", "POST", "/staff/workshops/{a}/registrations/{r}/rotate-ticket", SCHED),
    ("staff.switch_registration_mode", "POST", "/staff/workshops/{a}/registrations/{r}/mode", SCHED),
    # No selection sent: refused with a message, nothing cancelled (tests/test_holds.py cancels).
    ("staff.cancel_as_spam", "POST", "/staff/workshops/{a}/registrations/spam", SCHED),
    ("staff.cancel_registration", "POST", "/staff/workshops/{a}/registrations/{r}/cancel", SCHED),
    ("staff.change_question", "POST", "/staff/workshops/{a}/survey/questions/{q}/delete", SCHED),
    ("staff.revoke_checkin_link", "POST", "/staff/workshops/{a}/checkin-links/{spare_link_id}/revoke", SCHED),
    ("staff.generate_certificates", "POST", "/staff/workshops/{a}/certificates/generate", SCHED),
    ("staff.duplicate_workshop", "POST", "/staff/workshops/{a}/duplicate", SCHED),
    ("staff.publish_workshop", "POST", "/staff/workshops/{a}/publish", SCHED),
    ("staff.delete_session", "POST", "/staff/workshops/{a}/sessions/{s2}/delete", SCHED),
    ("staff.cancel_workshop", "POST", "/staff/workshops/{a}/cancel", SCHED),
    ("staff.create_user", "POST", "/staff/users", ADMIN),
    ("staff.set_user_programmes", "POST", "/staff/users/{spare_user}/programmes", ADMIN),
    ("staff.enable_user", "POST", "/staff/users/{spare_user}/enable", ADMIN),
    ("staff.disable_user", "POST", "/staff/users/{spare_user}/disable", ADMIN),
    ("auth.sign_out_everywhere", "POST", "/account/sign-out-everywhere", STAFF_ANY),
    ("auth.logout", "POST", "/logout", PUBLIC),
    # Last: opening a volunteer link makes anyone a volunteer of workshop A.
    ("checkin.volunteer", "GET", "/checkin/v/{link}", PUBLIC),
]


def test_every_endpoint_is_in_the_matrix(app):
    listed = {endpoint for endpoint, *_ in MATRIX}
    guarded = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("staff", "checkin", "auth") or rule.endpoint.startswith("api_")
    }
    assert guarded - listed == set(), "add these endpoints to MATRIX"


@pytest.fixture
def world(make_workshop, make_user, db):
    now = datetime.now(UTC)
    programme = Programme(code="QA", name_en="Quality Apprenticeship")
    db.session.add(programme)
    db.session.commit()
    a = make_workshop(
        programme=programme, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1, hours=7)
    )
    b = make_workshop(title_en="Workshop B")
    users = {
        role: make_user(role_enum)
        for role, role_enum in [
            ("organiser", Role.ORGANISER),
            ("organiser_of_b", Role.ORGANISER),
            ("coordinator", Role.COORDINATOR),
            ("admin", Role.ADMIN),
            ("spare_user", Role.ORGANISER),
        ]
    }
    elsewhere = Programme(code="OT", name_en="Another programme")
    db.session.add(elsewhere)
    for role, role_enum in [
        ("coordinator_of_p", Role.COORDINATOR),
        ("coordinator_elsewhere", Role.COORDINATOR),
        ("reporter", Role.REPORTER),
        ("reporter_elsewhere", Role.REPORTER),
    ]:
        users[role] = make_user(role_enum)
    users["coordinator_of_p"].programmes.append(programme)
    users["coordinator_elsewhere"].programmes.append(elsewhere)
    users["reporter_elsewhere"].programmes.append(elsewhere)
    users["organiser"].workshops.append(a)
    users["organiser_of_b"].workshops.append(b)
    db.session.commit()
    registration = registrations.register(a.id, applicant(1)).registration
    attendance = checkin.redeem(a.sessions[0], registration=registration).attendance
    survey = surveys.survey_for(a)
    question = surveys.add_question(survey, surveys.QuestionDetails(kind="short_text", text_en="Why?"), None)
    job = Job(
        kind="import", status="preview", workshop_id=a.id, total=0, payload={"filename": "x.csv", "rows": []}
    )
    badge_job = Job(kind="badges", status="done", workshop_id=a.id, total=0, payload={"registrations": []})
    export_job = Job(
        kind="export",
        status="done",
        workshop_id=a.id,
        created_by_id=users["coordinator"].id,
        total=1,
        done=1,
        finished_at=now,
        payload={"what": "registrations", "fmt": "csv", "filter": {}, "language": "en"},
    )
    report_job = Job(
        kind="export",
        status="done",
        created_by_id=users["reporter"].id,
        total=1,
        done=1,
        finished_at=now,
        payload={
            "what": "programme_report",
            "fmt": "pdf",
            "programme_id": programme.id,
            "aggregates_only": True,
        },
    )
    db.session.add_all([job, badge_job, export_job, report_job])
    db.session.flush()
    db.session.add_all(
        [
            JobFile(job_id=export_job.id, name="registrations.csv", content_type="text/csv", data=b"x"),
            JobFile(job_id=report_job.id, name="report.pdf", content_type="application/pdf", data=b"%PDF"),
        ]
    )
    db.session.commit()
    link = checkin_access.create_link(a, "Door", now + timedelta(hours=3), users["coordinator"])
    spare = checkin_access.create_link(a, "Spare", now + timedelta(hours=3), users["coordinator"])
    from workshops.services import certificates

    certificate = certificates.issue(registration)
    ids = {
        "a": a.id,
        "b": b.id,
        "s": a.sessions[0].id,
        "s2": a.sessions[1].id,
        "r": registration.id,
        "p": programme.id,
        "j": job.id,
        "bj": badge_job.id,
        "ej": export_job.id,
        "rj": report_job.id,
        "q": question.id,
        "att": attendance.id,
        "link": link.token,
        "spare_link_id": spare.id,
        "code": certificate.code,
        "spare_user": users["spare_user"].id,
    }
    return users, ids


def outcome(response) -> str:
    location = response.headers.get("Location", "")
    if response.status_code == 302 and "/login" in location:
        return "login"
    if response.status_code in (401, 403):
        return str(response.status_code)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    return "ok"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_it_should(client, world, role):
    users, ids = world
    if role == "volunteer":
        client.get(f"/checkin/v/{ids['link']}")
    elif role != "anonymous":
        client.post("/login", data={"email": users[role].email, "password": PASSWORD})
    wrong = []
    for endpoint, method, url, policy in MATRIX:
        if endpoint == "auth.login" and role not in ("anonymous", "volunteer"):
            continue  # signed-in people are sent on to their dashboard
        body = (
            {"session_id": ids["s"], "token": "x"}
            if endpoint == "api_checkin.redeem"
            else (
                {"scans": [{"session_id": ids["s"], "token": "x"}]}
                if endpoint == "api_checkin.sync"
                else None
            )
        )
        options = {"json": body} if body is not None else {"data": {}}
        with client.open(url.format(**ids), method=method, **options) as response:
            got = outcome(response)
        if got != policy[role]:
            wrong.append(f"{method} {url}: expected {policy[role]}, got {got} ({response.status_code})")
    assert wrong == []
