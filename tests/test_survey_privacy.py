"""Surveys keep people's answers theirs: the poster's lookup sends a link and shows nothing;
an anonymous survey shows no group small enough to point at someone."""

import io
import re
import subprocess
import time
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from tests.test_surveys import answers, attendee, registered
from workshops.models import Channel, OutboxMessage, Programme, Role
from workshops.models.base import utcnow
from workshops.services import exports, feedback, reports, survey_links, surveys
from workshops.surveys.views import LOOKUP_ANSWER_SECONDS

SENT = "If you attended, we have sent your personal link to the address or phone you registered with."


@pytest.fixture
def ended(make_workshop):
    now = utcnow()
    return make_workshop(
        starts_at=now - timedelta(days=2), ends_at=now - timedelta(hours=1), onsite_capacity=80
    )


@pytest.fixture
def survey(ended, make_user):
    survey = surveys.survey_for(ended)
    surveys.apply_template(survey, make_user(Role.COORDINATOR))
    return survey


def forget_outbox(db):
    """The walk-ins' confirmations are not what these tests count."""
    db.session.execute(db.delete(OutboxMessage))
    db.session.commit()


# ---- the room poster's lookup -------------------------------------------------------------


def test_a_stranger_gets_the_same_answer_for_anyone_and_never_a_link(client, ended, survey, db):
    colleague = attendee(ended, 1, mobile="+86 139 1234 5678")
    registered(ended, 2)  # registered, never came
    token = survey_links.survey_token(colleague)
    bodies, durations = [], []
    for typed in (
        "person1@example.org",  # the colleague's email
        "PERSON1@example.org ",
        "139 1234 5678",  # her full mobile
        "+8613912345678",
        "2345678",  # the last 7 digits of it, which used to be enough
        "person2@example.org",  # registered but absent
        "nobody@example.org",  # unknown
        "139 1234 56",  # a number cut short
    ):
        started = time.monotonic()
        response = client.post(f"/survey/{ended.id}", data={"contact": typed})
        durations.append(time.monotonic() - started)
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and "Location" not in response.headers, typed
        assert token not in body and "/s/" not in body and "person1" not in body.lower(), typed
        bodies.append(body)
    assert all(body == bodies[0] for body in bodies) and SENT in bodies[0]
    # Found or not, every answer takes the same floor of time (finding writes and commits).
    assert min(durations) >= LOOKUP_ANSWER_SECONDS
    # The personal link page itself was never opened: the colleague's answers stay unread.
    assert not surveys.has_answered(survey, colleague)


def test_the_attendee_gets_one_link_an_hour_however_often_anyone_asks(client, ended, survey, db, mailbox):
    colleague = attendee(ended, 1, mobile="+86 139 1234 5678", language="en")
    forget_outbox(db)
    mailbox.start()
    for typed in ("person1@example.org", "Person1@Example.org", "13912345678", "139-1234-5678", "2345678"):
        assert client.post(f"/survey/{ended.id}", data={"contact": typed}).status_code == 200
    received = mailbox.to("person1@example.org")
    assert len(received) == 1
    message = received[0]
    assert message["Subject"].startswith("Your personal survey link")
    text = message.get_body(("plain",)).get_content()
    assert f"/s/{survey_links.survey_token(colleague)}" in text
    assert text.startswith("Someone asked for your personal survey link")  # the system speaks first
    # An hour later, one more may go.
    surveys.send_link(ended, "person1@example.org", now=utcnow() + timedelta(minutes=61))
    rows = db.session.scalars(db.select(OutboxMessage).filter_by(registration_id=colleague.id)).all()
    assert [row.kind for row in rows] == ["survey_link", "survey_link"]


def test_an_invitation_sent_in_the_last_hour_is_the_link(ended, survey, db):
    person = attendee(ended, 1)
    forget_outbox(db)
    surveys.send_due_invitations()
    surveys.send_link(ended, "person1@example.org")
    kinds = db.session.scalars(db.select(OutboxMessage.kind).filter_by(registration_id=person.id)).all()
    assert kinds == ["survey_invitation"]


def test_unknown_and_absent_people_are_sent_nothing(client, ended, survey, db, mailbox):
    registered(ended, 2)
    forget_outbox(db)
    mailbox.start()
    for typed in ("person2@example.org", "+86 138 0000 0002", "stranger@example.org", "13800000099"):
        assert SENT in client.post(f"/survey/{ended.id}", data={"contact": typed}).get_data(as_text=True)
    assert db.session.scalars(db.select(OutboxMessage)).all() == [] and mailbox.messages == []


def test_a_poster_that_outlived_its_survey_says_so_and_sends_nothing(client, ended, survey, db, mailbox):
    person = attendee(ended, 4)
    forget_outbox(db)
    mailbox.start()
    survey.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    answer = client.post(f"/survey/{ended.id}", data={"contact": person.email}).get_data(as_text=True)
    assert "The feedback survey of this workshop is closed." in answer and SENT not in answer
    page = client.get(f"/survey/{ended.id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "本次活动的反馈问卷已关闭" in page and 'name="contact"' not in page
    # Before it opens (a poster put up in the morning of the last day), the same: nothing sent.
    survey.closes_at, survey.opens_at = None, utcnow() + timedelta(hours=2)
    db.session.commit()
    early = client.post(f"/survey/{ended.id}", data={"contact": person.email}).get_data(as_text=True)
    assert "The feedback survey is not open yet." in early
    assert db.session.scalars(db.select(OutboxMessage)).all() == [] and mailbox.messages == []
    # A cancelled workshop (one day held) invites nobody, and its poster sends nothing.
    survey.opens_at, ended.status = None, "cancelled"
    db.session.commit()
    cancelled = client.post(f"/survey/{ended.id}", data={"contact": person.email}).get_data(as_text=True)
    assert "The feedback survey of this workshop is closed." in cancelled
    assert db.session.scalars(db.select(OutboxMessage)).all() == [] and mailbox.messages == []
    # Open again: the lookup works as before.
    ended.status = "published"
    db.session.commit()
    assert SENT in client.post(f"/survey/{ended.id}", data={"contact": person.email}).get_data(as_text=True)
    assert [row.kind for row in db.session.scalars(db.select(OutboxMessage))] == ["survey_link"]


def test_a_mobile_typed_gets_the_link_by_text(app, client, ended, survey, db, tmp_path):
    log = tmp_path / "sms.log"
    app.config.update(SMS_PROVIDER="log", SMS_LOG_FILE=str(log), SMS_SIGN_NAME="")
    person = attendee(ended, 3, mobile="+86 139 1234 5678")
    forget_outbox(db)
    client.post(f"/survey/{ended.id}", data={"contact": "139 1234 5678"})
    rows = db.session.scalars(db.select(OutboxMessage).filter_by(registration_id=person.id)).all()
    assert [(row.channel, row.recipient) for row in rows] == [(Channel.SMS, "+8613912345678")]
    assert survey_links.survey_token(person) in log.read_text()


def test_lookups_are_rate_limited_per_person_asked_for_and_per_client(make_app, ended, survey):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    spellings = ["person1@example.org", "PERSON1@example.org", " person1@example.org"] * 2
    codes = [
        client.post(
            f"/survey/{ended.id}", data={"contact": typed}, environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}
        ).status_code
        for n, typed in enumerate(spellings)
    ]
    assert codes == [200] * 5 + [429]  # from six addresses: the limit is on the person asked for
    refused = client.post(
        f"/survey/{ended.id}", data={"contact": "person1@example.org"}, headers={"Accept-Language": "zh"}
    )
    assert refused.status_code == 429 and "请稍候一分钟再试" in refused.get_data(as_text=True)
    one_client = make_app(RATELIMIT_ENABLED=True).test_client()
    codes = [
        one_client.post(f"/survey/{ended.id}", data={"contact": f"someone{n}@example.org"}).status_code
        for n in range(11)
    ]
    assert codes == [200] * 10 + [429]
    assert "Too many attempts" in one_client.post(f"/survey/{ended.id}", data={"contact": "x@y.z"}).get_data(
        as_text=True
    )


# ---- anonymous surveys ---------------------------------------------------------------------


def respond(survey, workshop, people, start=0, **profile):
    """``people`` attendees with this profile answer; their suggestion is their number."""
    made = []
    for n in range(start, start + people):
        person = attendee(workshop, n, **profile)
        surveys.submit(survey, person, answers(survey, suggestions=f"Suggestion {n:02d}", relevance="5"))
        made.append(person)
    return made


def anonymous(survey, db):
    survey.anonymous = True
    db.session.commit()
    return survey


def pdf_text(client, url, tmp_path) -> str:
    path = tmp_path / "summary.pdf"
    path.write_bytes(client.get(url).data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_an_anonymous_group_of_four_shows_only_that_there_are_too_few(
    client, auth, make_user, ended, survey, db, tmp_path
):
    anonymous(survey, db)
    respond(survey, ended, 4, gender="woman")
    respond(survey, ended, 6, start=10, gender="man")
    auth.login(make_user(Role.COORDINATOR))
    base = f"/staff/workshops/{ended.id}/survey"
    page = client.get(f"{base}/summary?gender=woman").get_data(as_text=True)
    assert "Too few answers to show" in page
    assert "Suggestion" not in page and "How relevant" not in page and "Responded" not in page
    sheets = load_workbook(io.BytesIO(client.get(f"{base}/summary.xlsx?gender=woman").data))
    assert sheets.sheetnames == ["Overview"]
    cells = [c.value for row in sheets["Overview"].iter_rows() for c in row if c.value is not None]
    assert "Too few answers to show" in cells and "Responded" not in cells
    text = pdf_text(client, f"{base}/summary.pdf?gender=woman", tmp_path)
    assert "回答太少，不予显示" in text and "Suggestion" not in text and "相关程度" not in text
    raw = client.get(f"{base}/responses.csv?gender=woman").data.decode("utf-8-sig")
    assert "Suggestion" not in raw and "Too few answers to show" in raw
    api = client.get(f"/api/v1/workshops/{ended.id}/survey/summary?gender=woman").json
    assert api["suppressed"] is True and api["questions"] == [] and api["responded"] is None
    # Nor the six men: everyone's answers less theirs would be the four women's.
    men = client.get(f"{base}/summary?gender=man").get_data(as_text=True)
    assert "Too few answers to show" in men and "Suggestion 10" not in men
    everyone = client.get(f"{base}/summary").get_data(as_text=True)
    assert "Too few answers to show" not in everyone and "Suggestion 00" in everyone


def test_an_anonymous_group_of_five_shows_and_a_near_whole_one_does_not(
    client, auth, make_user, ended, survey, db, tmp_path
):
    anonymous(survey, db)
    respond(survey, ended, 5, gender="woman", mode="onsite")
    respond(survey, ended, 5, start=10, gender="man", mode="onsite")
    respond(survey, ended, 2, start=20, gender="man", mode="online")
    surveys.send_due_invitations()  # the response rate counts the people invited
    auth.login(make_user(Role.COORDINATOR))
    base = f"/staff/workshops/{ended.id}/survey"
    women = feedback.summary(survey, feedback.Segment(gender="woman"))
    assert not women["suppressed"] and (women["responded"], women["invited"]) == (5, 5)
    assert "Suggestion 04" in pdf_text(client, f"{base}/summary.pdf?gender=woman", tmp_path)
    # Ten of the twelve were onsite: all minus them would be the two online people's answers.
    assert feedback.summary(survey, feedback.Segment(mode="onsite"))["suppressed"]
    assert feedback.summary(survey, feedback.Segment(mode="online"))["suppressed"]
    # Men onsite (5) against men (7): the difference is two people.
    assert feedback.summary(survey, feedback.Segment(gender="man", mode="onsite"))["suppressed"]
    assert feedback.too_few(4) and not feedback.too_few(5) and feedback.too_few(5, [9])


def test_anonymous_texts_come_in_the_order_of_their_words(client, auth, make_user, ended, survey, db):
    anonymous(survey, db)
    for n, words in enumerate(["Cherry", "Apple", "Banana", "Elderberry", "Date"]):
        surveys.submit(survey, attendee(ended, n), answers(survey, suggestions=words))
    texts = next(i for i in feedback.summary(survey)["questions"] if i.question.key == "suggestions").texts
    assert texts == ["Apple", "Banana", "Cherry", "Date", "Elderberry"]


def test_the_anonymous_raw_export_carries_answers_and_only_counts_of_groups(
    client, auth, make_user, ended, survey, db
):
    anonymous(survey, db)
    respond(survey, ended, 5, gender="woman", city="北京")
    respond(survey, ended, 2, start=10, gender="man", city="重庆")
    auth.login(make_user(Role.COORDINATOR))
    base = f"/staff/workshops/{ended.id}/survey"
    book = load_workbook(io.BytesIO(client.get(f"{base}/responses.xlsx").data))
    assert book.sheetnames == ["Survey responses", "Groups"]
    rows = [[c.value for c in row] for row in book["Survey responses"].iter_rows(min_row=exports.HEADER_ROW)]
    header = rows[0]
    assert all(re.match(r"Q\d+\. ", column) for column in header)
    flat = {str(value) for row in rows for value in row}
    assert (
        not {"woman", "man", "Woman", "Man", "北京", "重庆", "北京市", "重庆市", "onsite", "Onsite", "tvet"}
        & flat
    )
    suggestions = [row[header.index(next(h for h in header if "improve" in h))] for row in rows[1:]]
    assert suggestions == sorted(suggestions) and len(suggestions) == 7
    groups = [[c.value for c in row] for row in book["Groups"].iter_rows(min_row=exports.HEADER_ROW)]
    assert ["Gender", "Woman", 5] in groups and ["Gender", "Man", "Too few answers to show"] in groups
    # A response keeps the place by the division's official name (services.places.snapshot),
    # read in the download's language.
    assert ["City", "Chongqing", "Too few answers to show"] in groups
    csv_header = client.get(f"{base}/responses.csv").data.decode("utf-8-sig").splitlines()[0]
    assert "Gender" not in csv_header and "City" not in csv_header and "Attendance mode" not in csv_header
    assert "Type of organisation" not in csv_header and "Submitted" not in csv_header


def test_a_named_survey_still_shows_small_groups_and_who_said_what(
    client, auth, make_user, ended, survey, db
):
    respond(survey, ended, 1, gender="woman", city="北京")
    respond(survey, ended, 3, start=10, gender="man")
    auth.login(make_user(Role.COORDINATOR))
    base = f"/staff/workshops/{ended.id}/survey"
    page = client.get(f"{base}/summary", query_string={"gender": "woman", "city": "北京市"}).get_data(
        as_text=True
    )
    assert "Suggestion 00" in page and "Too few answers to show" not in page
    raw = client.get(f"{base}/responses.csv").data.decode("utf-8-sig")
    assert raw.splitlines()[0].startswith(
        "Name,Email,Organisation,Attendance mode,Type of organisation,Gender,City"
    )
    assert "Beijing" in raw and "person0@example.org" in raw


@pytest.mark.parametrize(
    "query", ["gender=x", "mode=nope", "organisation_type=club", "gender=woman&mode=both"]
)
def test_unknown_filter_values_are_a_400_with_a_message(client, auth, make_user, ended, survey, query):
    auth.login(make_user(Role.COORDINATOR))
    base = f"/staff/workshops/{ended.id}/survey"
    for url in (f"{base}/summary", f"{base}/summary.pdf", f"{base}/summary.xlsx", f"{base}/responses.csv"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, url
        assert "is not one of the choices for this filter" in response.get_data(as_text=True)
    api = client.get(f"/api/v1/workshops/{ended.id}/survey/summary?{query}")
    assert api.status_code == 400 and "This filter has no such value" in api.json["message"]


def test_the_programme_report_hides_an_anonymous_survey_with_too_few_answers(make_workshop, make_user, db):
    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    db.session.add(programme)
    db.session.commit()
    now = utcnow()
    held = dict(programme=programme, starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=2))
    few, many, named = (make_workshop(title_en=title, **held) for title in ("Few", "Many", "Named"))
    coordinator = make_user(Role.COORDINATOR)
    for workshop, people, secret in ((few, 4, True), (many, 5, True), (named, 1, False)):
        survey = surveys.survey_for(workshop)
        surveys.apply_template(survey, coordinator)
        survey.anonymous = secret
        db.session.commit()
        respond(survey, workshop, people, start=100 * workshop.id)
    rows = {w["workshop"].title_en: w for w in reports.programme_report(programme)["workshops"]}
    assert rows["Few"]["means"]["relevance"] is None and rows["Few"]["satisfaction"] is None
    assert rows["Few"]["nps"] is None and rows["Few"]["responses"] == 4
    assert rows["Many"]["means"]["relevance"] == 5.0 and rows["Named"]["means"]["relevance"] == 5.0
