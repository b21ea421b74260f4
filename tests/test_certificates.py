"""Certificates: earned by attendance, bilingual PDF with an embedded CJK font, verifiable by QR."""

import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import applicant
from workshops.models import CheckInMethod, Programme, RegistrationSource, Role
from workshops.services import certificates, checkin
from workshops.services import registration as registrations


@pytest.fixture
def ended(make_workshop, db):
    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    db.session.add(programme)
    db.session.commit()
    start = datetime(2026, 3, 31, 1, 0, tzinfo=UTC)
    return make_workshop(programme=programme, starts_at=start, ends_at=start + timedelta(days=1, hours=8))


def person(workshop, n=1, sessions=2, **extra):
    registration = registrations.register(
        workshop.id, applicant(n, **extra), source=RegistrationSource.WALK_IN
    ).registration
    # Online people attend online (their join link), the others at the door (their ticket).
    method = CheckInMethod.JOIN_LINK if extra.get("mode") == "online" else CheckInMethod.QR
    for session in workshop.sessions[:sessions]:
        checkin.redeem(session, registration=registration, override=True, method=method)
    return registration


def issued(*people):
    """Issue as the background job does (a download never issues)."""
    for registration in people:
        assert certificates.issue_if_eligible(registration) is not None
    return people[0]


def run(*args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, check=True, **kwargs).stdout


def test_certificate_pdf_reads_back_and_its_qr_verifies(client, ended, db, tmp_path, make_user):
    registration = issued(person(ended, full_name="李华", latin_name="Li Hua"))
    response = client.get(f"/r/{registration.manage_token}/certificate.pdf")
    assert response.mimetype == "application/pdf"
    path = tmp_path / "certificate.pdf"
    path.write_bytes(response.data)
    text = run("pdftotext", str(path), "-")
    certificate = certificates.by_code(db.session.scalars(db.select(certificates.Certificate.code)).one())
    assert certificate.serial == "QA-2026-000001"
    for expected in (
        "李华",
        "Li Hua",
        "高质量学徒制能力建设研讨会",
        "Capacity Building Workshop",
        "2026-03-31",
        "2026-04-01",
        "QA-2026-000001",
        "结业证书",
        "Certificate of Attendance",
    ):
        assert expected in text, expected
    fonts = run("pdffonts", str(path))
    cjk = [line for line in fonts.splitlines() if "WenQuanYi" in line or "WQY" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts
    assert re.search(r"^Pages:\s+1$", run("pdfinfo", str(path)), re.M)
    run("pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page"))
    url = run("zbarimg", "--quiet", "--raw", str(tmp_path / "page-1.png")).strip()
    assert url == f"http://workshops.test/verify/{certificate.code}"
    page = client.get(url.replace("http://workshops.test", "")).get_data(as_text=True)
    assert "Valid certificate" in page and "李华" in page and "QA-2026-000001" in page
    certificates.revoke(certificate, "Issued by mistake", make_user(Role.COORDINATOR))
    assert "This certificate has been revoked." in client.get(f"/verify/{certificate.code}").get_data(
        as_text=True
    )


def test_the_same_serial_every_time_and_sequential_per_programme(client, ended, db):
    first, second = person(ended, 1), person(ended, 2)
    issued(first)
    issued(second)
    issued(first)
    for registration in (first, second, first):
        assert client.get(f"/r/{registration.manage_token}/certificate.pdf").mimetype == "application/pdf"
    serials = db.session.scalars(
        db.select(certificates.Certificate.serial).order_by(certificates.Certificate.id)
    ).all()
    assert serials == ["QA-2026-000001", "QA-2026-000002"]


def test_ineligible_people_get_a_page_that_says_why(client, ended, db):
    half = person(ended, 1, sessions=1)
    response = client.get(f"/r/{half.manage_token}/certificate.pdf")
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "Attendance: 1 of the 2 sessions required." in response.get_data(as_text=True)
    ended.certificate_requires_survey = True
    db.session.commit()
    from workshops.services import surveys

    surveys.apply_template(surveys.survey_for(ended), None)
    complete = person(ended, 2)
    page = client.get(f"/r/{complete.manage_token}").get_data(as_text=True)
    assert "The feedback survey is not answered yet." in page
    assert db.session.scalar(db.select(db.func.count()).select_from(certificates.Certificate)) == 0


def test_online_participants_need_one_session(client, ended):
    online = issued(person(ended, 1, sessions=1, mode="online"))
    assert client.get(f"/r/{online.manage_token}/certificate.pdf").mimetype == "application/pdf"


def test_tampered_or_unknown_codes_are_not_found(client, ended):
    registration = issued(person(ended, 1))
    client.get(f"/r/{registration.manage_token}/certificate.pdf")
    for code in ("nope", "x" * 300, "QA-2026-000001"):
        response = client.get(f"/verify/{code}")
        assert response.status_code == 404 and "No certificate has this code." in response.get_data(
            as_text=True
        )


def test_long_names_and_titles_stay_on_one_page(client, ended, db, tmp_path):
    ended.title_en = (
        "Capacity Building Workshops on Quality Apprenticeship and Skills Development for Pilot Enterprises "
        * 2
    )
    ended.title_zh = (
        "高质量学徒制与技能发展能力建设研讨会（试点企业、职业院校、社会伙伴及地方人社部门专场）" * 2
    )
    db.session.commit()
    registration = issued(
        person(ended, 1, full_name="Maria Fernandes-Oliveira da Silva Pereira de Albuquerque e Castro")
    )
    path = tmp_path / "long.pdf"
    path.write_bytes(client.get(f"/r/{registration.manage_token}/certificate.pdf").data)
    assert re.search(r"^Pages:\s+1$", run("pdfinfo", str(path)), re.M)
    assert certificates.name_size(registration.full_name) == "s"


def png(color=(11, 92, 171)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 40), color).save(out, format="PNG")
    return out.getvalue()


def test_coordinator_batch_gives_one_pdf_and_a_zip_with_the_same_serials(
    client, auth, make_user, ended, db, tmp_path
):
    import io
    import zipfile

    from workshops.models import Job

    people = [person(ended, n, full_name=f"参加者{n}") for n in range(3)]
    person(ended, 9, sessions=1)  # not eligible
    auth.login(make_user(Role.COORDINATOR))
    base = f"/staff/workshops/{ended.id}/certificates"
    client.post(
        f"{base}/assets",
        data={
            "kind": "signatory",
            "name_zh": "王主任",
            "name_en": "Director Wang",
            "title_zh": "项目主任",
            "title_en": "Programme Director",
            "image": (io.BytesIO(png()), "signature.png"),
        },
        content_type="multipart/form-data",
    )
    client.post(
        f"{base}/assets",
        data={"kind": "logo", "image": (io.BytesIO(b"GIF89a not allowed"), "logo.gif")},
        content_type="multipart/form-data",
    )
    assert client.post(f"{base}/generate").status_code == 302  # runs eagerly in tests
    job = db.session.scalars(db.select(Job).filter_by(kind="certificates")).one()
    assert job.status == "done" and job.result == {"issued": 3, "not_eligible": 1}
    merged = tmp_path / "all.pdf"
    merged.write_bytes(client.get(f"{base}/all.pdf").data)
    assert re.search(r"^Pages:\s+3$", run("pdfinfo", str(merged)), re.M)
    text = run("pdftotext", str(merged), "-")
    assert "王主任" in text and "Programme Director" in text and "QA-2026-000003" in text
    with client.get(
        f"{base}/all.zip"
    ) as response:  # streamed from a temporary file, closed with the response
        archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == [
        "QA-2026-000001 参加者0.pdf",
        "QA-2026-000002 参加者1.pdf",
        "QA-2026-000003 参加者2.pdf",
    ]
    client.post(f"{base}/generate")  # again: the same serials, no new ones
    serials = db.session.scalars(db.select(certificates.Certificate.serial)).all()
    assert sorted(serials) == ["QA-2026-000001", "QA-2026-000002", "QA-2026-000003"]
    first_code = db.session.scalars(db.select(certificates.Certificate.code)).first()
    assert "Valid certificate" in client.get(f"/verify/{first_code}").get_data(as_text=True)
    assert len(people) == 3


def test_grant_and_revoke_need_a_reason_and_are_audited(client, auth, make_user, ended, db):
    from workshops.models import AuditEvent

    half = person(ended, 1, sessions=1)
    auth.login(make_user(Role.COORDINATOR))
    base = f"/staff/workshops/{ended.id}/certificates/{half.id}"
    refused = client.post(f"{base}/grant", data={"reason": ""}, follow_redirects=True)
    assert "Give a reason" in refused.get_data(as_text=True)
    client.post(f"{base}/grant", data={"reason": "Missed day 2 for a ministry meeting"})
    assert client.get(f"/r/{half.manage_token}/certificate.pdf").mimetype == "application/pdf"
    client.post(f"{base}/revoke", data={"reason": "Granted in error"})
    assert client.get(f"/r/{half.manage_token}/certificate.pdf").status_code == 403
    actions = db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.action.like("certificate.%"))
    ).all()
    assert actions == ["certificate.grant", "certificate.revoke"]


def test_certificate_api(client, auth, make_user, ended, db):
    registration = issued(person(ended, 1))
    client.get(f"/r/{registration.manage_token}/certificate.pdf")
    code = db.session.scalars(db.select(certificates.Certificate.code)).one()
    public = client.get(f"/api/v1/certificates/{code}").json
    assert public["valid"] is True and public["serial"] == "QA-2026-000001" and public["name"] == "参加者1"
    assert client.get("/api/v1/certificates/forged").status_code == 404
    assert client.get(f"/api/v1/registrations/{registration.id}/certificate").status_code == 401
    auth.login(make_user(Role.COORDINATOR))
    status = client.get(f"/api/v1/registrations/{registration.id}/certificate").json
    assert status["eligible"] is True and status["serial"] == "QA-2026-000001" and status["missing"] == []


def test_earned_certificates_are_issued_and_announced_after_the_workshop(ended, db):
    from workshops.models import OutboxMessage

    done, half = person(ended, 1), person(ended, 2, sessions=1)
    db.session.execute(db.delete(OutboxMessage))
    db.session.commit()
    later = ended.ends_at + timedelta(hours=2)
    assert certificates.issue_due(now=later) == 1
    assert certificates.issue_due(now=later) == 0  # once
    announced = db.session.scalars(db.select(OutboxMessage).filter_by(kind="certificate_ready")).all()
    assert [m.recipient for m in announced] == [done.email]
    assert certificates.eligibility(half).certificate is None


def crowd(workshop, db, size: int) -> None:
    """Confirmed people in every state the certificates page shows: none, some or all sessions
    attended, online or onsite, the survey answered or not, a certificate issued, granted by hand,
    revoked; and people who are not confirmed (not listed)."""
    from workshops.models import Response
    from workshops.services import surveys

    survey = surveys.survey_for(workshop)
    if not survey.questions:
        surveys.apply_template(survey, None)
    for n in range(size):
        mode = "online" if n % 4 == 3 else "onsite"
        registration = person(workshop, n, sessions=n % 3, mode=mode)
        if n % 2 == 0:
            db.session.add(Response(survey_id=survey.id, registration_id=registration.id))
            db.session.commit()
        if n % 6 == 0:
            certificates.issue(registration)
        elif n % 10 == 1:
            certificates.grant(registration, "Attended the site visit instead", None)
        if n % 12 == 6:
            certificates.revoke(certificates.eligibility(registration).certificate, "Error", None)
    registrations.cancel(person(workshop, size + 1), None, "Could not come")


def test_the_certificates_page_asks_the_database_the_same_few_times_for_5_or_50_people(
    client, auth, make_user, ended, make_workshop, db
):
    from tests.helpers import QueryCounter

    ended.certificate_requires_survey = True
    db.session.commit()
    bigger = make_workshop(
        programme=ended.programme,
        starts_at=ended.starts_at,
        ends_at=ended.ends_at,
        onsite_capacity=100,
        certificate_requires_survey=True,
    )
    crowd(ended, db, 5)
    crowd(bigger, db, 50)
    auth.login(make_user(Role.COORDINATOR))
    counts = {}
    for workshop, size in ((ended, 5), (bigger, 50)):
        db.session.expire_all()  # as in a fresh request: nothing already loaded
        with QueryCounter(db.engine) as queries:
            page = client.get(f"/staff/workshops/{workshop.id}/certificates")
        assert page.status_code == 200 and page.get_data(as_text=True).count("reason-") == 2 * size
        counts[size] = queries.count
    assert counts[5] == counts[50] <= 12, counts


@pytest.mark.parametrize("anonymous", [False, True])
def test_the_page_judges_everyone_as_each_persons_own_page_does(ended, db, anonymous):
    from workshops.models import SurveyParticipation
    from workshops.services import surveys

    survey = surveys.survey_for(ended)
    survey.anonymous = anonymous
    ended.certificate_requires_survey = True
    db.session.commit()
    crowd(ended, db, 12)
    listed = certificates.eligibility_of_confirmed(ended)
    for registration, _state in listed[::3]:  # an anonymous survey knows who answered, not what
        db.session.add(SurveyParticipation(survey_id=survey.id, registration_id=registration.id))
    db.session.commit()
    listed = certificates.eligibility_of_confirmed(ended)
    assert [r.full_name for r, _state in listed] == sorted(f"参加者{n}" for n in range(12))
    assert [state for _r, state in listed] == [certificates.eligibility(r) for r, _state in listed]
    assert {state.eligible for _r, state in listed} == {True, False}
    assert {state.survey_done for _r, state in listed} == {True, False}


def test_logos_and_signatories_are_checked_before_they_are_added(client, auth, make_user, ended, db):
    import html
    import io

    from workshops.models import CertificateAsset

    auth.login(make_user(Role.COORDINATOR))
    url = f"/staff/workshops/{ended.id}/certificates/assets"

    def add(**data):
        if "image" in data:
            data["image"] = (io.BytesIO(data["image"]), "upload")
        page = client.post(url, data=data, content_type="multipart/form-data", follow_redirects=True)
        return html.unescape(page.get_data(as_text=True))

    assert "Upload a PNG or JPEG image under 1 MB." in add(kind="logo", image=b"GIF89a not allowed")
    assert "Upload a PNG or JPEG image under 1 MB." in add(kind="logo", image=png() + b"\0" * 1024 * 1024)
    assert "A logo needs an image." in add(kind="logo")
    assert "Give the signatory's name." in add(kind="signatory", title_en="Director")
    assert db.session.scalars(db.select(CertificateAsset)).all() == []
    assert "Added to the certificates." in add(
        kind="logo", image=b"\xff\xd8\xff\xe0 a JPEG", for_programme="y"
    )
    assert "Added to the certificates." in add(kind="signatory", name_zh="王主任")
    logo, signatory = db.session.scalars(db.select(CertificateAsset).order_by(CertificateAsset.id)).all()
    assert (logo.programme_id, logo.workshop_id, logo.content_type) == (
        ended.programme_id,
        None,
        "image/jpeg",
    )
    assert (signatory.programme_id, signatory.workshop_id, signatory.image) == (None, ended.id, None)


def test_a_workshop_without_a_programme_shows_only_its_own_logos_and_signatories(
    client, auth, make_user, make_workshop, ended, db, tmp_path
):
    from workshops.models import CertificateAsset

    start = ended.starts_at
    alone, neighbour = (
        make_workshop(title_en=title, starts_at=start, ends_at=ended.ends_at)
        for title in ("Alone", "Neighbour")
    )
    for owner, name in (
        ({"workshop_id": alone.id}, "张校长"),
        ({"workshop_id": neighbour.id}, "邻居主任"),
        ({"programme_id": ended.programme_id}, "项目主任"),
    ):
        db.session.add(CertificateAsset(kind="signatory", name_zh=name, **owner))
    db.session.commit()
    auth.login(make_user(Role.COORDINATOR))
    page = client.get(f"/staff/workshops/{alone.id}/certificates").get_data(as_text=True)
    assert "张校长" in page and "邻居主任" not in page and "项目主任" not in page
    page = client.get(f"/staff/workshops/{ended.id}/certificates").get_data(as_text=True)
    assert "项目主任" in page and "张校长" not in page and "邻居主任" not in page
    for workshop, shown in (
        (alone, "张校长"),
        (ended, "项目主任"),
    ):  # the programme's, having none of its own
        registration = issued(person(workshop, 1))
        path = tmp_path / f"{workshop.id}.pdf"
        path.write_bytes(client.get(f"/r/{registration.manage_token}/certificate.pdf").data)
        text = run("pdftotext", str(path), "-")
        assert [name for name in ("张校长", "邻居主任", "项目主任") if name in text] == [shown]
