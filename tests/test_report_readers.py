"""Accounts for the people who read reports: a report reader (a ministry department, the donor)
sees programme reports and feedback as aggregates and nobody's personal data; coordinators and
report readers limited to programmes see those programmes' workshops only."""

import io
import re
import subprocess
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook

from tests.conftest import PASSWORD
from tests.test_scheduling import workshop_form
from tests.test_surveys import answers, attendee
from workshops.models import AuditEvent, Programme, Registration, Role, User, Workshop, WorkshopStatus
from workshops.models.base import utcnow
from workshops.services import feedback, surveys
from workshops.services import users as user_service

NAMES = [f"王小明{n}" for n in range(1, 7)]  # the people registered, who must never show
TEXT = "Zhang Wei from the bureau explained it best"  # a written answer naming someone


@pytest.fixture
def programmes(db):
    mine = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    other = Programme(code="OT", name_en="Another city's programme")
    db.session.add_all([mine, other])
    db.session.commit()
    return mine, other


@pytest.fixture
def ended(make_workshop, programmes):
    now = utcnow()
    return make_workshop(
        programme=programmes[0],
        title_en="Held workshop",
        starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(hours=1),
        onsite_capacity=80,
    )


def answered_by(workshop, count, make_user, text=TEXT):
    """``count`` attendees who answered the standard survey (named, not anonymous)."""
    survey = surveys.survey_for(workshop)
    surveys.apply_template(survey, make_user(Role.COORDINATOR))
    people = []
    for n in range(1, count + 1):
        person = attendee(workshop, n, full_name=NAMES[n - 1], gender="woman" if n <= 4 else "man")
        surveys.submit(survey, person, answers(survey, most_useful=f"{text} ({n})", recommend=str(4 + n)))
        people.append(person)
    return survey, people


def reader(make_user, db, *programmes, role=Role.REPORTER):
    user = make_user(role)
    user.programmes.extend(programmes)
    db.session.commit()
    return user


def personal_data(people) -> list[str]:
    values = []
    for person in people:
        values += [person.full_name, person.email, person.mobile, person.mobile[-8:], TEXT]
    return values


# ---- a report reader -------------------------------------------------------------------------


def test_no_page_a_report_reader_can_open_shows_anyone(client, auth, make_user, db, ended):
    """Everything reachable from the dashboard by following links (pages, the API summary, the
    programme report's XLSX) is opened; the people's names, contacts and written answers are in
    none of it, while the aggregates are."""
    survey, people = answered_by(ended, 6, make_user)
    auth.login(reader(make_user, db))
    seen, queue, opened = set(), ["/staff/", f"/api/v1/workshops/{ended.id}/survey/summary"], {}
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200:
            assert response.status_code in (302, 403, 404), url
            continue
        body = _text_of(response)
        opened[url] = body
        for href in re.findall(r'href="([^"#]+)"', body):
            path = urlsplit(href.replace("&amp;", "&"))
            if path.path.startswith(("/staff", "/api")) and not path.netloc:
                queue.append(path.path + (f"?{path.query}" if path.query else ""))
    summary_page = f"/staff/workshops/{ended.id}/survey/summary"
    assert {"/staff/", "/staff/programmes", summary_page} <= set(opened)
    assert any(u.startswith(f"/staff/programmes/{ended.programme_id}/report") for u in opened)
    assert any(".xlsx" in u for u in opened) and any(".pdf" in u for u in opened)
    leaks = [(url, value) for url, body in opened.items() for value in personal_data(people) if value in body]
    assert leaks == []
    # What it reads: the figures, and the written answers only counted.
    assert str(feedback.TOO_FEW) not in opened[summary_page]
    assert "Written answers are not shown to report readers." in opened[summary_page]
    api = client.get(f"/api/v1/workshops/{ended.id}/survey/summary").get_json()
    recommend = next(q for q in api["questions"] if q["key"] == "recommend")
    assert recommend["count"] == 6 and recommend["mean"] == 7.5
    assert all(q["texts"] == [] for q in api["questions"])
    # The coordinator, on the same page, reads the answers.
    auth.logout()
    auth.login(make_user(Role.COORDINATOR))
    assert TEXT in client.get(summary_page).get_data(as_text=True)


def _text_of(response) -> str:
    """What a reader of the answer sees: a page's HTML or JSON, a workbook's cells, a PDF's text."""
    if response.mimetype == "application/pdf":
        return subprocess.run(
            ["pdftotext", "-", "-"], input=response.data, capture_output=True, check=True
        ).stdout.decode()
    if "spreadsheetml" in response.mimetype:
        workbook = load_workbook(io.BytesIO(response.data))
        return "\n".join(
            str(cell)
            for sheet in workbook
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell
        )
    return response.get_data(as_text=True)


def test_a_report_readers_dashboard_links_only_what_it_opens(
    client, auth, make_user, db, ended, make_workshop
):
    answered_by(ended, 5, make_user)
    planned = make_workshop(programme=ended.programme, title_en="Planned workshop")
    auth.login(reader(make_user, db))
    dashboard = client.get("/staff/").get_data(as_text=True)
    links = set(re.findall(r'href="(/staff/[^"]+)"', dashboard))
    assert f"/staff/workshops/{ended.id}/survey/summary" in links
    assert "Planned workshop" in dashboard and not any(f"/workshops/{planned.id}" in link for link in links)
    assert "/staff/programmes" in links and "/staff/workshops/new" not in links
    assert not any(
        link.startswith(f"/staff/workshops/{ended.id}") and "summary" not in link for link in links
    )
    for link in links:
        assert client.get(link).status_code == 200, link


def test_a_report_reader_sees_small_groups_suppressed_even_in_a_named_survey(
    client, auth, make_user, db, ended
):
    survey, people = answered_by(ended, 3, make_user)
    assert not survey.anonymous
    auth.login(reader(make_user, db))
    page = client.get(f"/staff/workshops/{ended.id}/survey/summary").get_data(as_text=True)
    assert str(feedback.TOO_FEW) in page and "answered of" not in page
    api = client.get(f"/api/v1/workshops/{ended.id}/survey/summary").get_json()
    assert api["suppressed"] is True and api["questions"] == [] and api["responded"] is None
    # A coordinator sees the named survey's three answers (as before).
    auth.logout()
    auth.login(make_user(Role.COORDINATOR))
    page = client.get(f"/staff/workshops/{ended.id}/survey/summary").get_data(as_text=True)
    assert str(feedback.TOO_FEW) not in page and TEXT in page


def test_a_report_readers_programme_report_shows_no_figures_of_a_small_named_survey(
    client, auth, make_user, db, ended
):
    answered_by(ended, 3, make_user)  # recommend 5, 6, 7: NPS -67; each rating 4
    url = f"/staff/programmes/{ended.programme_id}/report"
    auth.login(make_user(Role.COORDINATOR))
    page = client.get(url).get_data(as_text=True)
    assert "-67" in page and "<td>4.0</td>" in page
    assert "-67" in _text_of(client.get(url + ".xlsx"))
    auth.logout()
    auth.login(reader(make_user, db))
    page = client.get(url).get_data(as_text=True)
    assert "-67" not in page and "<td>4.0</td>" not in page and ended.title_en in page
    workbook = _text_of(client.get(url + ".xlsx"))
    assert "-67" not in workbook and "4.0" not in workbook


def test_a_filter_that_leaves_a_few_out_is_suppressed_for_a_report_reader(client, auth, make_user, db, ended):
    answered_by(ended, 6, make_user)  # 4 women, 2 men
    auth.login(reader(make_user, db))
    url = f"/api/v1/workshops/{ended.id}/survey/summary"
    assert client.get(url).get_json()["suppressed"] is False
    # "Women" (4) is too few, and differs from everyone by the 2 men: both would point at people.
    assert client.get(url, query_string={"gender": "woman"}).get_json()["suppressed"] is True
    assert client.get(url, query_string={"gender": "man"}).get_json()["suppressed"] is True


def test_a_report_reader_posting_to_staff_forms_is_refused_and_nothing_changes(
    client, auth, make_user, db, ended, programmes
):
    survey, people = answered_by(ended, 5, make_user)
    target = people[0]
    spectator = reader(make_user, db, programmes[0])
    auth.login(spectator)
    before = (
        db.session.scalar(db.select(db.func.count()).select_from(Workshop)),
        db.session.scalar(db.select(db.func.count()).select_from(User)),
        db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)),
    )
    attempts = [
        ("/staff/workshops/new", workshop_form(programme_id=str(programmes[0].id))),
        (f"/staff/workshops/{ended.id}/edit", workshop_form(title_en="Taken over")),
        (f"/staff/workshops/{ended.id}/cancel", {"reason_en": "no", "confirmed": "yes"}),
        (f"/staff/workshops/{ended.id}/registrations/{target.id}/cancel", {}),
        (f"/staff/workshops/{ended.id}/registrations/{target.id}", {"full_name": "Changed"}),
        (f"/staff/workshops/{ended.id}/walk-in", {"full_name": "Walk In", "mode": "onsite"}),
        (f"/staff/workshops/{ended.id}/survey/settings", {"anonymous": "y"}),
        (f"/staff/workshops/{ended.id}/certificates/generate", {}),
        ("/staff/programmes/new", {"code": "ZZ", "name_en": "Mine"}),
        (f"/staff/programmes/{programmes[1].id}", {"code": "OT", "name_en": "Renamed"}),
        ("/staff/users", {"email": "me@example.org", "role": "admin", "password": "x" * 12}),
        (f"/staff/users/{spectator.id}/programmes", {f"u{spectator.id}-programmes": []}),
    ]
    for url, data in attempts:
        assert client.post(url, data=data).status_code == 403, url
    for url in (
        f"/staff/workshops/{ended.id}/registrations",
        f"/staff/workshops/{ended.id}/registrations/export.xlsx",
        f"/staff/workshops/{ended.id}/survey/responses.xlsx",
        f"/staff/workshops/{ended.id}/badges.pdf",
        f"/api/v1/workshops/{ended.id}/registrations",
        f"/api/v1/registrations/{target.id}",
        "/checkin/",
        "/staff/audit",
    ):
        assert client.get(url).status_code == 403, url
    db.session.expire_all()
    after = (
        db.session.scalar(db.select(db.func.count()).select_from(Workshop)),
        db.session.scalar(db.select(db.func.count()).select_from(User)),
        db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)),
    )
    assert after == before
    assert db.session.get(Workshop, ended.id).status == WorkshopStatus.PUBLISHED
    assert db.session.get(Registration, target.id).full_name == NAMES[0]
    assert [p.code for p in db.session.get(User, spectator.id).programmes] == ["QA"]
    assert db.session.get(Programme, programmes[1].id).name_en == "Another city's programme"


def test_a_report_reader_limited_elsewhere_reads_nothing_of_this_programme(
    client, auth, make_user, db, ended, programmes
):
    answered_by(ended, 5, make_user)
    auth.login(reader(make_user, db, programmes[1]))
    assert client.get(f"/staff/programmes/{programmes[0].id}/report").status_code == 403
    assert client.get(f"/staff/programmes/{programmes[1].id}/report").status_code == 200
    assert client.get(f"/staff/workshops/{ended.id}/survey/summary").status_code == 403
    assert client.get(f"/api/v1/workshops/{ended.id}/survey/summary").status_code == 403
    page = client.get("/staff/programmes").get_data(as_text=True)
    assert "OT" in page and "Quality Apprenticeship" not in page
    assert "Held workshop" not in client.get("/staff/").get_data(as_text=True)


# ---- a coordinator limited to programmes -------------------------------------------------------


@pytest.fixture
def three_workshops(make_workshop, programmes):
    mine, other = programmes
    return (
        make_workshop(programme=mine, title_en="Chongqing apprenticeship day"),
        make_workshop(programme=other, title_en="Another bureau forum"),
        make_workshop(title_en="Workshop in no programme"),
    )


def test_a_limited_coordinators_dashboard_lists_only_their_programmes_workshops(
    client, auth, make_user, db, programmes, three_workshops
):
    mine, theirs, loose = three_workshops
    auth.login(reader(make_user, db, programmes[0], role=Role.COORDINATOR))
    dashboard = client.get("/staff/").get_data(as_text=True)
    assert mine.title_en in dashboard
    assert theirs.title_en not in dashboard and loose.title_en not in dashboard
    checkin_home = client.get("/checkin/").get_data(as_text=True)
    assert mine.title_en in checkin_home and theirs.title_en not in checkin_home
    programmes_page = client.get("/staff/programmes").get_data(as_text=True)
    assert "Quality Apprenticeship" in programmes_page and "Another city" not in programmes_page
    assert "New programme" not in programmes_page
    for workshop in (theirs, loose):
        for url in (
            f"/staff/workshops/{workshop.id}",
            f"/staff/workshops/{workshop.id}/registrations",
            f"/staff/workshops/{workshop.id}/survey/summary",
            f"/api/v1/workshops/{workshop.id}/registrations",
            f"/checkin/{workshop.id}",
        ):
            assert client.get(url).status_code == 403, url
    assert client.get(f"/staff/programmes/{programmes[1].id}/report").status_code == 403
    assert client.get(f"/staff/workshops/{mine.id}").status_code == 200
    # An unrestricted coordinator still sees all three.
    auth.logout()
    auth.login(make_user(Role.COORDINATOR))
    dashboard = client.get("/staff/").get_data(as_text=True)
    assert all(w.title_en in dashboard for w in three_workshops)


def test_a_limited_coordinator_schedules_only_in_their_programmes(
    client, auth, make_user, db, programmes, three_workshops
):
    mine, other = programmes
    auth.login(reader(make_user, db, mine, role=Role.COORDINATOR))
    form = client.get("/staff/workshops/new").get_data(as_text=True)
    offered = re.findall(
        r'<option[^>]*value="(\d+)"', form.split('id="programme_id"')[1].split("</select>")[0]
    )
    assert offered == [str(mine.id)]  # no "none", no other programme
    count = db.session.scalar(db.select(db.func.count()).select_from(Workshop))
    for chosen in (str(other.id), "0"):
        response = client.post("/staff/workshops/new", data=workshop_form(programme_id=chosen))
        assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Workshop)) == count
    response = client.post("/staff/workshops/new", data=workshop_form(programme_id=str(mine.id)))
    assert response.status_code == 302
    created = db.session.scalar(db.select(Workshop).order_by(Workshop.id.desc()))
    assert created.programme_id == mine.id


def test_the_service_refuses_a_workshop_outside_the_coordinators_programmes(
    make_user, db, programmes, three_workshops
):
    """The rule holds below the form too (the API or a script calling the service)."""
    from workshops.services import scheduling
    from workshops.services.errors import InvalidInput

    mine, other = programmes
    coordinator = reader(make_user, db, mine, role=Role.COORDINATOR)
    details = scheduling._details_of(three_workshops[0])
    for programme_id in (other.id, None):
        details.programme_id = programme_id
        with pytest.raises(InvalidInput) as refused:
            scheduling.update_workshop(three_workshops[0], details, coordinator, notify=False)
        assert "programme_id" in refused.value.errors
        db.session.rollback()
    assert db.session.get(Workshop, three_workshops[0].id).programme_id == mine.id


def test_a_limited_coordinator_copies_survey_questions_only_from_their_workshops(
    client, auth, make_user, db, programmes, three_workshops
):
    mine, theirs, _loose = three_workshops
    source = surveys.survey_for(theirs)
    surveys.apply_template(source, make_user(Role.COORDINATOR))
    auth.login(reader(make_user, db, programmes[0], role=Role.COORDINATOR))
    builder = client.get(f"/staff/workshops/{mine.id}/survey").get_data(as_text=True)
    assert theirs.title_en not in builder
    response = client.post(f"/staff/workshops/{mine.id}/survey/copy", data={"source": source.id})
    assert response.status_code == 403
    assert surveys.survey_for(mine).questions == []


# ---- the admins' page and the command line ---------------------------------------------------


def test_the_admin_creates_a_report_reader_and_sets_its_programmes_audited(
    app, client, auth, make_user, db, ended, programmes
):
    mine, other = programmes
    admin = make_user(Role.ADMIN)
    auth.login(admin)
    page = client.get("/staff/users").get_data(as_text=True)
    assert "Report reader" in page
    response = client.post(
        "/staff/users",
        data={
            "email": "Donor@Example.org",
            "name": "Donor office",
            "role": "reporter",
            "password": "a long password",
            "programmes": [str(mine.id)],
        },
    )
    assert response.status_code == 302
    account = user_service.find_user("donor@example.org")
    assert account.role == Role.REPORTER and [p.code for p in account.programmes] == ["QA"]
    created = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert created.actor_id == admin.id and created.details["programmes"] == ["QA"]

    # The reader signs in elsewhere and reads QA's report; then the admin moves it to OT.
    other_browser = app.test_client()
    other_browser.post("/login", data={"email": "donor@example.org", "password": "a long password"})
    assert other_browser.get(f"/staff/programmes/{mine.id}/report").status_code == 200
    field = f"u{account.id}-programmes"
    assert (
        client.post(f"/staff/users/{account.id}/programmes", data={field: [str(other.id)]}).status_code == 302
    )
    limited = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "user.programmes"))
    assert limited.details == {"before": ["QA"], "after": ["OT"]} and limited.actor_id == admin.id
    # The open session sees the new limits at its next request.
    assert other_browser.get(f"/staff/programmes/{mine.id}/report").status_code == 403
    assert other_browser.get(f"/staff/programmes/{other.id}/report").status_code == 200
    # None chosen: every programme.
    client.post(f"/staff/users/{account.id}/programmes", data={})
    assert other_browser.get(f"/staff/programmes/{mine.id}/report").status_code == 200


def test_the_admins_page_refuses_what_makes_no_sense(client, auth, make_user, db, programmes):
    auth.login(make_user(Role.ADMIN))
    organiser = make_user(Role.ORGANISER)
    response = client.post(
        f"/staff/users/{organiser.id}/programmes",
        data={f"u{organiser.id}-programmes": [str(programmes[0].id)]},
    )
    assert response.status_code == 302
    page = client.get("/staff/users").get_data(as_text=True)
    assert "Only coordinators and report readers can be limited to programmes." in page
    assert db.session.get(User, organiser.id).programmes == []
    count = db.session.scalar(db.select(db.func.count()).select_from(User))
    for data in (
        {"email": "x@example.org", "role": "superuser", "password": "a long password"},
        {"email": "not an address", "role": "reporter", "password": "a long password"},
        {"email": "y@example.org", "role": "reporter", "password": "short"},
        {
            "email": "z@example.org",
            "role": "organiser",
            "password": "a long password",
            "programmes": [str(programmes[0].id)],
        },
    ):
        response = client.post("/staff/users", data=data)
        assert response.status_code == 422, data
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == count


def test_the_command_line_creates_limits_and_lists_report_readers(runner, db, programmes):
    result = runner.invoke(
        args=[
            "users", "create", "--email", "ministry@example.org", "--role", "reporter",
            "--programme", "qa", "--password", PASSWORD,
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    account = user_service.find_user("ministry@example.org")
    assert account.role == Role.REPORTER and [p.code for p in account.programmes] == ["QA"]
    assert "ministry@example.org\treporter\tactive\tQA" in runner.invoke(args=["users", "list"]).output
    result = runner.invoke(
        args=["users", "limit", "ministry@example.org", "--programme", "OT", "--programme", "QA"]
    )
    assert result.exit_code == 0 and "OT, QA" in result.output
    result = runner.invoke(args=["users", "limit", "ministry@example.org", "--programme", "NOPE"])
    assert result.exit_code != 0 and "NOPE" in result.output
    db.session.expire_all()
    assert sorted(p.code for p in user_service.find_user("ministry@example.org").programmes) == ["OT", "QA"]


def test_a_report_reader_sees_no_draft_workshop(
    client, auth, make_user, make_workshop, programmes, ended, db
):
    draft = make_workshop(
        programme=programmes[0], title_en="Next year's plan (draft)", status=WorkshopStatus.DRAFT
    )
    surveys.survey_for(draft)
    auth.login(reader(make_user, db))
    dashboard = client.get("/staff/").get_data(as_text=True)
    assert "Held workshop" in dashboard and "Next year's plan" not in dashboard
    assert client.get(f"/staff/workshops/{draft.id}/survey/summary").status_code == 403
