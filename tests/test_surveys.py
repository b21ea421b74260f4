"""Post-event surveys: personal links, one answer each, summaries checked by hand."""

import io
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from tests.helpers import applicant
from workshops.models import OutboxMessage, Question, RegistrationSource, Response, Role, Survey
from workshops.services import checkin, exports, feedback, places, survey_links, surveys
from workshops.services import registration as registrations
from workshops.services.errors import InvalidInput, NotAllowed


@pytest.fixture
def ended(make_workshop):
    """A workshop that ended an hour ago."""
    now = datetime.now(UTC)
    return make_workshop(
        starts_at=now - timedelta(days=2), ends_at=now - timedelta(hours=1), onsite_capacity=50
    )


def registered(workshop, n, **overrides):
    """Registered by staff (the registration window of an ended workshop is closed)."""
    return registrations.register(
        workshop.id, applicant(n, **overrides), source=RegistrationSource.WALK_IN
    ).registration


def attendee(workshop, n, **overrides):
    registration = registered(workshop, n, **overrides)
    checkin.redeem(workshop.sessions[0], registration=registration, override=True)
    return registration


@pytest.fixture
def survey(ended, make_user):
    survey = surveys.survey_for(ended)
    surveys.apply_template(survey, make_user(Role.COORDINATOR))
    return survey


def q(survey, key):
    return next(question for question in survey.questions if question.key == key)


def answers(survey, **by_key):
    """Form values for the template questions (required ones get defaults)."""
    values = {
        "relevance": "4",
        "content": "4",
        "facilitators": "4",
        "organisation": "4",
        "knowledge_before": "2",
        "knowledge_after": "4",
        "apply": "0",
        "recommend": "9",
    }
    values.update(by_key)
    return {
        f"q{q(survey, key).id}": ([v] if isinstance(v, str) else v)
        for key, v in values.items()
        if v is not None
    }


def test_attendees_are_invited_when_the_workshop_ends_and_reminded_once(ended, survey, db, mailbox):
    mailbox.start()
    one, two = attendee(ended, 1, language="zh"), attendee(ended, 2, language="en")
    registered(ended, 3)  # registered, never came: not invited
    db.session.execute(db.delete(OutboxMessage))
    db.session.commit()
    assert surveys.send_due_invitations() == {"invited": 2, "reminded": 0}
    assert surveys.send_due_invitations() == {"invited": 0, "reminded": 0}  # once
    invitation = mailbox.to("person1@example.org")[-1]  # after the confirmation of the walk-in
    assert not invitation["Subject"].startswith("Tell us")  # in the person's language (Chinese)
    assert mailbox.to("person2@example.org")[-1]["Subject"].startswith("Tell us what you thought")
    link = survey_links.survey_token(one)
    assert f"/s/{link}" in invitation.get_body(("plain",)).get_content()
    surveys.submit(survey, two, answers(survey))
    later = datetime.now(UTC) + timedelta(days=4)
    assert surveys.send_due_invitations(now=later) == {"invited": 0, "reminded": 1}
    reminders = db.session.scalars(db.select(OutboxMessage).filter_by(kind="survey_reminder")).all()
    assert [m.recipient for m in reminders] == ["person1@example.org"]


def test_one_answer_per_person_editable_until_close(client, ended, survey, db):
    person = attendee(ended, 1)
    url = f"/s/{survey_links.survey_token(person)}"
    page = client.get(url).get_data(as_text=True)
    assert "How relevant was the workshop to your work?" in page
    response = client.post(url, data=answers(survey, relevance="2"))
    assert "Thank you for your feedback!" in response.get_data(as_text=True)
    client.post(url, data=answers(survey, relevance="5"))  # changes the answer, no second response
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 1
    assert "checked" in client.get(url).get_data(as_text=True)
    summary = feedback.summary(survey)
    assert next(i for i in summary["questions"] if i.question.key == "relevance").distribution[5] == 1
    survey.closes_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    closed = client.get(url)
    assert closed.status_code == 410 and "This survey is closed." in closed.get_data(as_text=True)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"relevance": "6"}, "Choose a number from 1 to 5."),
        ({"recommend": "-1"}, "Choose a number from 0 to 10."),
        ({"relevance": None}, "Please answer this question."),
        ({"apply": ["0", "1"]}, "Choose one answer."),
        ({"apply": "9"}, "Choose from the answers offered."),
        ({"suggestions": "x" * 5001}, "Please keep the answer under 5000 characters."),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_stored(client, ended, survey, db, change, message):
    person = attendee(ended, 1)
    response = client.post(f"/s/{survey_links.survey_token(person)}", data=answers(survey, **change))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 0


def test_an_answer_to_another_surveys_question_is_refused(
    client, ended, survey, make_workshop, make_user, db
):
    other = surveys.survey_for(make_workshop(title_en="Other"))
    stray = surveys.add_question(
        other, surveys.QuestionDetails(kind="short_text", text_en="Elsewhere?"), make_user(Role.COORDINATOR)
    )
    person = attendee(ended, 1)
    data = {**answers(survey), f"q{stray.id}": ["sneaky"]}
    response = client.post(f"/s/{survey_links.survey_token(person)}", data=data)
    assert "not in this survey" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 0


def test_tampered_links_get_a_clear_page(client, ended, survey):
    person = attendee(ended, 1)
    token = survey_links.survey_token(person)
    for bad in (token[:-2] + "xx", f"{person.id + 1}.{token.split('.')[1]}", "nonsense", "1." + "a" * 100):
        response = client.get(f"/s/{bad}")
        assert response.status_code == 404 and "This survey link is not valid." in response.get_data(
            as_text=True
        )


def test_summary_figures_match_hand_computed_values(ended, survey, db):
    # Five attendees, four respond; one more registered but absent.
    people = [
        attendee(ended, n, mode="onsite" if n < 3 else "online", gender="woman" if n % 2 else "man")
        for n in range(5)
    ]
    registered(ended, 9)
    assert surveys.send_due_invitations()["invited"] == 5  # the rate counts the people invited
    given = [  # relevance, recommend, apply (index), suggestions
        ("5", "10", ["0"], "More case studies"),
        ("4", "9", ["1"], ""),
        ("3", "6", ["0"], "Longer breaks"),
        ("4", "8", ["3"], None),
    ]
    for person, (relevance, recommend, apply, suggestion) in zip(
        people, given, strict=False
    ):  # the others do not answer
        surveys.submit(
            survey,
            person,
            answers(survey, relevance=relevance, recommend=recommend, apply=apply, suggestions=suggestion),
        )
    result = feedback.summary(survey)
    assert (result["invited"], result["responded"], result["response_rate"]) == (5, 4, 80.0)
    items = {i.question.key: i for i in result["questions"]}
    relevance = items["relevance"]
    assert relevance.count == 4 and relevance.mean == 4.0 and relevance.median == 4.0
    assert relevance.distribution == {1: 0, 2: 0, 3: 1, 4: 2, 5: 1}
    recommend = items["recommend"]
    # promoters 10, 9 = 2; detractors 6 = 1; passive 8 = 1 -> (2 - 1) / 4 = 25
    assert recommend.nps == 25 and recommend.mean == 8.25 and recommend.median == 8.5
    assert items["apply"].distribution == {0: 2, 1: 1, 2: 0, 3: 1}
    assert sorted(items["suggestions"].texts) == ["Longer breaks", "More case studies"]
    online = feedback.summary(survey, feedback.Segment(mode="online"))
    assert (online["invited"], online["responded"]) == (2, 1)
    assert {i.question.key: i for i in online["questions"]}["relevance"].distribution[4] == 1


def test_downloads_xlsx_csv_and_pdf(client, auth, make_user, ended, survey, db, tmp_path):
    for n in range(3):
        person = attendee(ended, n, full_name=["李华", "=cmd|' /C calc'!A0", "Maria"][n])
        surveys.submit(survey, person, answers(survey, suggestions=["好", "=1+1", "ok"][n]))
    surveys.send_due_invitations()  # they answered already (the poster's link): invited, not emailed
    auth.login(make_user(Role.COORDINATOR))
    base = f"/staff/workshops/{ended.id}/survey"
    raw = load_workbook(io.BytesIO(client.get(f"{base}/responses.xlsx").data)).active
    rows = [[c.value for c in row] for row in raw.iter_rows(min_row=exports.HEADER_ROW)]
    # Text as it was (an XLSX string cell is never a formula), ratings as numbers.
    assert rows[0][:3] == ["Name", "Email", "Organisation"] and rows[1][0] == "李华"
    assert rows[2][0] == "=cmd|' /C calc'!A0" and "=1+1" in rows[2]
    assert all(c.data_type != "f" for row in raw.iter_rows() for c in row)
    relevance = next(i for i, h in enumerate(rows[0]) if h.startswith("Q1. "))
    assert [row[relevance] for row in rows[1:]] == [4, 4, 4]
    summary = load_workbook(io.BytesIO(client.get(f"{base}/summary.xlsx").data))
    assert summary.sheetnames[:2] == ["Overview", "Questions"]
    assert len(summary.sheetnames) == 2 + len(survey.questions)
    figures = [
        [c.value for c in row][:2] for row in summary["Overview"].iter_rows(min_row=exports.HEADER_ROW)
    ]
    assert ["Invited", 3] in figures and ["Answered (of those invited)", 3] in figures
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(client.get(f"{base}/summary.pdf").data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "反馈汇总" in text and "Feedback summary" in text and "本次研讨会与您的工作相关程度如何" in text
    assert "回复率" in text and "100.0%" in text and "3 answered of 3 invited" in text
    csv_text = client.get(f"{base}/responses.csv").data.decode("utf-8-sig")
    assert "李华" in csv_text


def test_anonymous_surveys_link_no_answer_to_a_person(client, auth, make_user, ended, survey, db):
    survey.anonymous = True
    db.session.commit()
    person = attendee(ended, 1, full_name="李华")
    url = f"/s/{survey_links.survey_token(person)}"
    client.post(url, data=answers(survey, suggestions="Honest words"))
    again = client.get(url).get_data(as_text=True)
    assert "Your answers are anonymous" in again
    with pytest.raises(NotAllowed):
        surveys.submit(survey, person, answers(survey))
    response = db.session.scalars(db.select(Response)).one()
    assert response.registration_id is None
    assert response.submitted_at.hour == 0 and response.submitted_at.minute == 0
    for n in range(2, 6):  # fewer than five answers would not be shown (tests/test_survey_privacy.py)
        surveys.submit(survey, attendee(ended, n), answers(survey))
    auth.login(make_user(Role.COORDINATOR))
    raw = client.get(f"/staff/workshops/{ended.id}/survey/responses.csv").data.decode("utf-8-sig")
    assert "李华" not in raw and "person1@example.org" not in raw and "Name" not in raw.splitlines()[0]
    assert "Honest words" in raw
    page = client.get(f"/staff/workshops/{ended.id}/survey/summary").get_data(as_text=True)
    assert "李华" not in page and "Honest words" in page
    with pytest.raises(InvalidInput):  # cannot switch to named once answers exist
        surveys.update_settings(
            survey,
            anonymous=False,
            opens_at=None,
            closes_at=None,
            reminder_after_days=3,
            intro_en="",
            intro_zh="",
            actor=None,
        )


def test_room_poster_knows_attendees_by_their_whole_email_or_mobile(client, auth, make_user, ended, survey):
    person = attendee(ended, 1, mobile="+86 139 1234 5678")
    registered(ended, 2)  # absent people get no link
    for typed in ("13912345678", "+86 139-1234-5678", "PERSON1@example.org"):
        assert surveys.find_attendee(ended, typed) == person
    for typed in ("2345678", "1234 5678", "person2@example.org", "", "@"):
        assert surveys.find_attendee(ended, typed) is None
    # What the page answers, and what it sends: tests/test_survey_privacy.py.
    auth.login(make_user(Role.COORDINATOR))
    poster = client.get(f"/staff/workshops/{ended.id}/survey/poster").get_data(as_text=True)
    assert f"http://workshops.test/survey/{ended.id}" in poster and "data:image/png;base64," in poster


def test_builder_adds_reorders_and_copies_questions(client, auth, make_user, ended, make_workshop, db):
    auth.login(make_user(Role.COORDINATOR))
    base = f"/staff/workshops/{ended.id}/survey"
    assert client.get(base).status_code == 200
    client.post(
        f"{base}/questions",
        data={
            "kind": "single",
            "text_en": "Which day?",
            "text_zh": "哪一天？",
            "options_en": "Day 1\nDay 2",
            "options_zh": "第一天\n第二天",
            "required": "y",
        },
    )
    client.post(f"{base}/questions", data={"kind": "short_text", "text_en": "Your role?"})
    bad = client.post(
        f"{base}/questions", data={"kind": "multiple", "text_en": "Pick", "options_en": "Only one"}
    )
    assert bad.status_code == 422 and "at least two choices" in bad.get_data(as_text=True)
    survey = db.session.scalars(db.select(Survey)).one()
    first, second = survey.questions
    client.post(f"{base}/questions/{second.id}/up")
    db.session.expire_all()
    assert [q.text_en for q in db.session.get(Survey, survey.id).questions] == ["Your role?", "Which day?"]
    target = make_workshop(title_en="Next edition")
    client.post(f"/staff/workshops/{target.id}/survey", data={})
    client.get(f"/staff/workshops/{target.id}/survey")
    client.post(f"/staff/workshops/{target.id}/survey/copy", data={"source": str(survey.id)})
    copied = db.session.scalars(db.select(Question).join(Survey).where(Survey.workshop_id == target.id)).all()
    assert sorted(q.text_en for q in copied) == ["Which day?", "Your role?"]


def test_survey_summary_api(client, auth, make_user, ended, survey):
    person, _absent = attendee(ended, 1), attendee(ended, 2)
    surveys.send_due_invitations()
    surveys.submit(survey, person, answers(survey, relevance="5"))
    assert client.get(f"/api/v1/workshops/{ended.id}/survey/summary").status_code == 401
    auth.login(make_user(Role.COORDINATOR))
    data = client.get(f"/api/v1/workshops/{ended.id}/survey/summary").json
    assert (data["invited"], data["responded"], data["response_rate"]) == (2, 1, 50.0)
    relevance = next(item for item in data["questions"] if item["key"] == "relevance")
    assert relevance["distribution"]["5"] == 1 and relevance["mean"] == 5.0


def test_a_city_groups_rate_counts_the_people_of_that_division_and_mapping_joins_earlier_answers(
    ended, survey, db, make_user
):
    """Answers keep the place by its division's name, registrations by its code: the group's
    "answered of invited" counts the same people, and a text mapped later joins its earlier
    answers to the division's group instead of leaving the city split in two."""
    chosen = [attendee(ended, n, city="常州") for n in range(3)]  # matched: 3204
    typed = attendee(ended, 7, city="常州新北")  # nobody's division yet
    assert [p.place_code for p in chosen] == ["3204"] * 3 and typed.place_code == ""
    assert surveys.send_due_invitations()["invited"] == 4
    for person in [*chosen[:2], typed]:
        surveys.submit(survey, person, answers(survey))
    group = feedback.Segment(city="江苏省常州市")
    assert feedback.response_rate(survey, group) == surveys.ResponseRate(invited=3, answered=2)
    assert feedback.summary(survey, group)["responded"] == 2

    places.map_text("常州新北", "3204", [ended.id], make_user(Role.COORDINATOR))
    db.session.expire_all()
    assert feedback.response_rate(survey, group) == surveys.ResponseRate(invited=4, answered=3)
    assert feedback.summary(survey, group)["responded"] == 3
    assert feedback.summary(survey, feedback.Segment(city="常州新北"))["responded"] == 0


def test_an_english_reader_reads_the_places_of_the_groups_in_english(
    client, auth, make_user, ended, survey, db
):
    """Answers keep a division by its Chinese name; the summary's filter, its groups and the
    filter line of its downloads name it in the reader's language. Free text stays as typed."""
    for n, city in enumerate(["常州", "常州", "Geneva"]):
        surveys.submit(survey, attendee(ended, n, city=city), answers(survey))
    auth.login(make_user(Role.COORDINATOR))
    url = f"/staff/workshops/{ended.id}/survey/summary"
    page = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<option value="江苏省常州市" >Changzhou, Jiangsu</option>' in page
    assert '<option value="Geneva" >Geneva</option>' in page
    with force_locale("en"):
        groups = feedback.group_counts(survey)
        assert ["City", "Changzhou, Jiangsu", 2] in groups.rows
        assert feedback.Segment(city="江苏省常州市").labelled()[0][1] == "Changzhou, Jiangsu"
    with force_locale("zh_Hans_CN"):
        assert ["城市", "江苏省常州市", 2] in [
            [str(c) for c in row[:2]] + row[2:] for row in feedback.group_counts(survey).rows
        ]
