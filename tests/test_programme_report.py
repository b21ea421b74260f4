"""The programme report: unique participants across workshops, attendance, satisfaction."""

import io
import subprocess
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from tests.helpers import applicant
from tests.test_surveys import answers
from workshops.models import Programme, RegistrationSource, Role
from workshops.services import checkin, reports, surveys
from workshops.services import registration as registrations


def test_programme_report_counts_people_once_and_compares_workshops(
    client, auth, make_user, make_workshop, db, tmp_path
):
    coordinator = make_user(Role.COORDINATOR)
    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    db.session.add(programme)
    db.session.commit()
    now = datetime.now(UTC)
    first = make_workshop(
        programme=programme,
        title_en="First",
        starts_at=now - timedelta(days=40),
        ends_at=now - timedelta(days=39),
    )
    second = make_workshop(
        programme=programme,
        title_en="Second",
        starts_at=now - timedelta(days=10),
        ends_at=now - timedelta(days=9),
    )
    make_workshop(title_en="Not in the programme")

    def come(workshop, n, **extra):
        registration = registrations.register(
            workshop.id, applicant(n, **extra), source=RegistrationSource.WALK_IN
        ).registration
        checkin.redeem(workshop.sessions[0], registration=registration, override=True)
        return registration

    same_person = [
        come(first, 1, gender="woman"),
        come(second, 1, gender="woman"),
    ]  # one person, two workshops
    come(first, 2, gender="man", organisation_type="enterprise")
    registrations.register(second.id, applicant(3), source=RegistrationSource.WALK_IN)  # a no-show
    survey = surveys.survey_for(first)
    surveys.apply_template(survey, coordinator)
    assert surveys.send_due_invitations()["invited"] == 2  # the second workshop has no survey
    surveys.submit(
        survey,
        same_person[0],
        answers(survey, relevance="5", content="3", facilitators="4", organisation="4", recommend="10"),
    )

    from workshops.services import certificates

    certificates.issue(same_person[0])
    report = reports.programme_report(programme)
    assert report["certificates"] == 1
    assert report["workshops_held"] == 2 and report["unique_participants"] == 2
    assert report["attendances"] == 3 and report["confirmed"] == 4 and report["attendance_rate"] == 75.0
    genders = {share.code: (share.count, share.percent) for share in report["breakdown"]["gender"]}
    assert genders == {"woman": (1, 50.0), "man": (1, 50.0), "another": (0, 0.0), "undisclosed": (0, 0.0)}
    by_title = {w["workshop"].title_en: w for w in report["workshops"]}
    assert by_title["Second"]["no_show_rate"] == 50.0
    assert by_title["First"]["satisfaction"] == 4.0 and by_title["First"]["nps"] == 100
    assert by_title["First"]["means"]["relevance"] == 5.0
    first_rate = [by_title["First"][key] for key in ("invited", "answered", "response_rate")]
    assert first_rate == [2, 1, 50.0] and by_title["Second"]["response_rate"] is None
    assert [report[key] for key in ("invited", "answered", "response_rate")] == [2, 1, 50.0]

    only_recent = reports.programme_report(programme, start=now - timedelta(days=20))
    assert only_recent["workshops_held"] == 1 and only_recent["unique_participants"] == 1

    auth.login(coordinator)
    page = client.get(f"/staff/programmes/{programme.id}/report").get_data(as_text=True)
    assert "Unique participants: 2" in page and "1 answered of 2 invited (50.0%)" in page
    book = load_workbook(io.BytesIO(client.get(f"/staff/programmes/{programme.id}/report.xlsx").data))
    overview = {row[0].value: row[1].value for row in book["Overview"].iter_rows(min_row=4) if row[0].value}
    assert overview["Unique participants"] == 2
    assert overview["Invited to the survey"] == 2 and overview["Survey response rate"] == 0.5
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(client.get(f"/staff/programmes/{programme.id}/report.pdf").data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "项目报告" in text and "Unique participants" in text and "高质量学徒制" in text
    assert "受邀 2 人，已回复 1 人" in text and "1 answered of 2 invited" in text
    bad = client.get(f"/staff/programmes/{programme.id}/report?from=31/03/2026", follow_redirects=True)
    assert "Dates look like 2026-03-31." in bad.get_data(as_text=True)
