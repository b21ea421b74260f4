"""Long downloads made by a background job (services.downloads): a real worker makes the file,
only the person who asked takes it (checked again), old files go; and report readers' survey
summary downloads."""

from __future__ import annotations

import io
import subprocess
import time
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from tests.test_exports import answered, register_three
from tests.test_report_readers import answered_by
from workshops.models import Job, JobFile, JobKind, JobStatus, Programme, Registration, Role
from workshops.models.base import utcnow
from workshops.services import privacy, surveys
from workshops.services.exports import HEADER_ROW


@pytest.fixture
def programme(db):
    programme = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    db.session.add(programme)
    db.session.commit()
    return programme


@pytest.fixture
def ended(make_workshop, programme):
    now = utcnow()
    return make_workshop(
        programme=programme, starts_at=now - timedelta(days=2), ends_at=now - timedelta(hours=1)
    )


@pytest.fixture
def coordinator(auth, make_user):
    user = make_user(Role.COORDINATOR)
    auth.login(user)
    return user


@pytest.fixture
def small_threshold(app):
    """Downloads of more than two rows are made by a job (the limit is the app's configuration)."""
    app.config["EXPORT_INSTANT_ROWS"] = 2


def queued_job(response, db) -> Job:
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    return db.session.get_one(Job, job_id)


def finished(db, job_id: int, seconds: float = 30) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.expire_all()
        job = db.session.get_one(Job, job_id)
        if job.finished:
            return job
        time.sleep(0.1)
    raise AssertionError("the worker did not finish the export")


def download(client, job: Job):
    response = client.get(f"/staff/jobs/{job.id}/download")
    assert response.status_code == 200, response.headers.get("Location")
    return response


def rows_of(sheet) -> tuple[list, list[list]]:
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=HEADER_ROW)]
    return rows[0], rows[1:]


# ---- made by a real worker --------------------------------------------------------------------


def test_a_long_registrations_list_is_made_by_a_real_worker_and_reads_back_typed(
    client, coordinator, make_workshop, db, small_threshold, real_worker
):
    workshop = make_workshop()
    register_three(workshop)
    job = queued_job(client.post(f"/staff/workshops/{workshop.id}/registrations/export.xlsx?lang=zh"), db)
    assert (job.kind, job.workshop_id, job.created_by_id) == (JobKind.EXPORT, workshop.id, coordinator.id)
    job = finished(db, job.id)
    assert job.status == JobStatus.DONE and job.done == job.total == 3  # the bar reached the end
    page = client.get(f"/staff/jobs/{job.id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f"/staff/jobs/{job.id}/download" in page and "下载文件" in page
    response = download(client, job)
    assert response.headers["Content-Disposition"].endswith(f'registrations-workshop-{workshop.id}.xlsx"')
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.title == "报名" and sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    header, rows = rows_of(sheet)
    assert header[:3] == ["报名编号", "姓名", "拼音或英文姓名"]
    assert len(rows) == 3 and {row[1] for row in rows} == {"王芳", "Maria Fernandes", "张伟"}
    assert all(isinstance(row[0], int) for row in rows)  # typed: the registration number
    registered = header.index("报名时间 (Asia/Shanghai)")
    assert all(isinstance(row[registered], datetime) for row in rows)


def test_long_survey_responses_are_made_by_a_real_worker(
    client, coordinator, ended, db, make_user, small_threshold, real_worker
):
    survey = surveys.survey_for(ended)
    surveys.apply_template(survey, make_user(Role.COORDINATOR))
    for n in range(3):
        answered(ended, survey, n)
    job = queued_job(client.post(f"/staff/workshops/{ended.id}/survey/responses.xlsx?lang=en"), db)
    job = finished(db, job.id)
    assert job.status == JobStatus.DONE and job.done == job.total == 3
    sheet = load_workbook(io.BytesIO(download(client, job).data)).worksheets[0]
    header, rows = rows_of(sheet)
    assert header[:4] == ["Name", "Email", "Organisation", "Attendance mode"]
    relevance = next(
        i for i, h in enumerate(header) if h.endswith(surveys_question_text(survey, "relevance"))
    )
    assert sorted(row[relevance] for row in rows) == [3, 4, 5]  # numbers a spreadsheet averages
    assert len(rows) == 3


def surveys_question_text(survey, key: str) -> str:
    from tests.test_surveys import q

    return q(survey, key).text_en


def test_a_long_downloads_link_only_offers_it_and_its_button_makes_it(
    client, coordinator, make_workshop, db, small_threshold
):
    """Following the link (from another site too, or a browser's prefetch) queues no job and
    replaces no file: the page's button posts, CSRF-checked, with the filters of the link."""
    workshop = make_workshop()
    register_three(workshop)
    url = f"/staff/workshops/{workshop.id}/registrations/export.xlsx?lang=zh&status=confirmed"
    offer = client.get(url, headers={"Accept-Language": "zh-CN"})
    page = offer.get_data(as_text=True)
    assert offer.status_code == 200 and "生成文件" in page and "在后台生成" in page
    assert f'action="{url.replace("&", "&amp;")}"' in page and 'method="post"' in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 0
    job = queued_job(client.post(url), db)
    assert job.payload["language"] == "zh" and job.payload["filter"]["status"] == "confirmed"


def test_small_downloads_stay_instant(client, coordinator, make_workshop, db):
    workshop = make_workshop()
    register_three(workshop)
    response = client.get(f"/staff/workshops/{workshop.id}/registrations/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "王芳" in response.data.decode("utf-8-sig")
    assert db.session.scalar(db.select(db.func.count(Job.id)).where(Job.kind == JobKind.EXPORT)) == 0


# ---- who takes the file -----------------------------------------------------------------------


def test_only_the_asker_still_allowed_takes_an_export_file(
    app, client, auth, make_user, make_workshop, programme, db, small_threshold
):
    ended = make_workshop(programme=programme)  # open for registration
    asker = make_user(Role.COORDINATOR)
    asker.programmes.append(programme)
    db.session.commit()
    auth.login(asker)
    register_three(ended)
    job = queued_job(client.post(f"/staff/workshops/{ended.id}/registrations/export.csv"), db)  # run at once
    assert job.status == JobStatus.DONE
    assert "王芳" in download(client, job).data.decode("utf-8-sig")
    elsewhere = Programme(code="OT", name_en="Another programme")
    db.session.add(elsewhere)
    other = make_user(Role.COORDINATOR)
    other.programmes.append(elsewhere)
    reporter = make_user(Role.REPORTER)
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(ended)
    db.session.commit()
    for user in (other, reporter, organiser, make_user(Role.ADMIN)):
        auth.logout()
        auth.login(user)
        for url in (
            f"/staff/jobs/{job.id}",
            f"/staff/jobs/{job.id}/download",
            f"/staff/jobs/{job.id}/progress",
        ):
            assert client.get(url).status_code == 403, (user.role, url)
    auth.logout()  # a volunteer at the door has no account: sent to sign in
    assert "/login" in client.get(f"/staff/jobs/{job.id}/download").headers["Location"]
    # The asker's programmes change: the file is no longer theirs to take.
    auth.login(asker)
    asker.programmes.clear()
    asker.programmes.append(elsewhere)
    db.session.commit()
    assert client.get(f"/staff/jobs/{job.id}/download").status_code == 403


def test_a_report_reader_gets_the_programme_report_pdf_from_a_job(
    app, client, auth, make_user, ended, programme, db
):
    app.config["REPORT_PDF_INSTANT_REGISTRATIONS"] = 0
    answered_by(ended, 6, make_user)
    reporter = make_user(Role.REPORTER)
    auth.login(reporter)
    job = queued_job(client.post(f"/staff/programmes/{programme.id}/report.pdf"), db)
    assert job.status == JobStatus.DONE and job.payload["aggregates_only"] is True
    assert client.get(f"/staff/jobs/{job.id}").status_code == 200
    response = download(client, job)
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    auth.logout()
    auth.login(make_user(Role.REPORTER))  # another reader: not theirs
    assert client.get(f"/staff/jobs/{job.id}/download").status_code == 403


def test_a_programme_of_many_workshops_gets_its_report_pdf_from_a_job_in_the_language_asked(
    app, client, coordinator, ended, programme, make_workshop, db, tmp_path
):
    app.config["REPORT_PDF_INSTANT_WORKSHOPS"] = 2
    for n in range(2):
        make_workshop(programme=programme, title_en=f"Later {n}", title_zh=f"后续研讨会{n}")
    job = queued_job(client.post(f"/staff/programmes/{programme.id}/report.pdf?lang=zh"), db)
    assert job.status == JobStatus.DONE and job.payload["language"] == "zh"
    text = pdf_text(download(client, job).data, tmp_path)
    assert "项目报告" in text and "Programme report" not in text
    # A small programme's PDF is made at once.
    app.config["REPORT_PDF_INSTANT_WORKSHOPS"] = 10
    instant = client.get(f"/staff/programmes/{programme.id}/report.pdf")
    assert instant.status_code == 200 and instant.data.startswith(b"%PDF")


# ---- files do not pile up ---------------------------------------------------------------------


def export_files(db) -> int:
    query = db.select(db.func.count(JobFile.id)).join(Job).where(Job.kind == JobKind.EXPORT)
    return db.session.scalar(query)


def test_a_newer_export_drops_the_older_file_and_old_files_are_purged(
    client, coordinator, make_workshop, db, small_threshold
):
    workshop = make_workshop()
    register_three(workshop)
    first = queued_job(client.post(f"/staff/workshops/{workshop.id}/registrations/export.xlsx"), db)
    second = queued_job(client.post(f"/staff/workshops/{workshop.id}/registrations/export.xlsx"), db)
    assert export_files(db) == 1
    response = client.get(f"/staff/jobs/{first.id}/download")  # dropped: asked for again, in words
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/jobs/{first.id}")
    download(client, second)
    db.session.execute(
        db.update(Job).where(Job.id == second.id).values(finished_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    assert client.get(f"/staff/jobs/{second.id}/download").status_code == 302  # past its time: not served
    privacy.purge_expired()
    assert export_files(db) == 0


def test_erasing_a_person_drops_the_export_files_that_hold_them(app, client, coordinator, make_workshop, db):
    app.config["EXPORT_INSTANT_ROWS"] = 0  # even her one row
    workshop = make_workshop()
    register_three(workshop)
    job = queued_job(client.post(f"/staff/workshops/{workshop.id}/registrations/export.csv?q=王芳"), db)
    assert export_files(db) == 1
    person = db.session.scalar(db.select(Registration).filter_by(full_name="王芳"))
    privacy.erase(person, at_request=True)
    db.session.commit()
    assert export_files(db) == 0
    db.session.expire_all()
    assert "王芳" not in str(db.session.get_one(Job, job.id).payload)  # the search named her


def test_an_erasure_while_a_list_is_made_keeps_no_file_of_it(
    app, client, coordinator, make_workshop, db, monkeypatch
):
    """The worker read the rows, then the person was erased before it stored the file."""
    from workshops.services import downloads, roster

    app.config["EXPORT_INSTANT_ROWS"] = 0
    workshop = make_workshop()
    register_three(workshop)
    real_export = roster.export

    def export_then_erasure(*args, **kwargs):
        body = real_export(*args, **kwargs)  # holds her
        person = db.session.scalar(db.select(Registration).filter_by(full_name="王芳"))
        privacy.erase(person, at_request=True)
        db.session.commit()
        return body

    monkeypatch.setattr(downloads.roster, "export", export_then_erasure)
    job = queued_job(client.post(f"/staff/workshops/{workshop.id}/registrations/export.csv"), db)
    assert export_files(db) == 0
    db.session.expire_all()
    job = db.session.get_one(Job, job.id)
    assert job.status == JobStatus.FAILED and job.error == privacy.STOPPED


# ---- survey summaries for report readers ------------------------------------------------------


def pdf_text(body: bytes, tmp_path) -> str:
    path = tmp_path / "summary.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_a_report_reader_downloads_the_summary_but_not_the_responses(
    client, auth, make_user, ended, db, tmp_path
):
    _survey, people = answered_by(ended, 6, make_user)
    auth.login(make_user(Role.REPORTER))
    base = f"/staff/workshops/{ended.id}/survey"
    book = client.get(f"{base}/summary.xlsx?lang=en")
    assert book.status_code == 200
    cells = [str(c.value) for s in load_workbook(io.BytesIO(book.data)) for r in s.iter_rows() for c in r]
    assert "Answered (of those invited)" in cells
    pdf = client.get(f"{base}/summary.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data, tmp_path)
    assert "文字回答不向报告查阅人显示" in text and "Written answers are not shown" in text
    everything = " ".join(cells) + text
    for person in people:
        assert person.full_name not in everything and person.email not in everything
    assert "Zhang Wei from the bureau" not in everything  # a written answer naming someone
    for kind in ("responses.xlsx", "responses.csv"):
        assert client.get(f"{base}/{kind}").status_code == 403


def test_a_stray_language_is_refused_in_words(client, coordinator, ended, db):
    surveys.survey_for(ended)
    for url in (
        f"/staff/workshops/{ended.id}/survey/summary.pdf?lang=xx",
        f"/staff/workshops/{ended.id}/survey/summary.xlsx?lang=fr",
        f"/staff/workshops/{ended.id}/survey/responses.xlsx?lang=xx",
        f"/staff/workshops/{ended.id}/registrations/export.csv?lang=de",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "zh, en or both" in response.get_data(as_text=True)
    chinese = client.get(
        f"/staff/workshops/{ended.id}/survey/summary.xlsx?lang=xx", headers={"Accept-Language": "zh-CN"}
    )
    assert chinese.status_code == 400 and "zh" in chinese.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Job.id)).where(Job.kind == JobKind.EXPORT)) == 0


def test_the_summary_pdf_dates_and_time_made_read_in_both_languages(client, coordinator, ended, db, tmp_path):
    survey = surveys.survey_for(ended)
    surveys.apply_template(survey, coordinator)
    for n in range(3):
        answered(ended, survey, n)
    for accept in ("en", "zh-CN"):  # whichever language asks, the PDF reads in both
        text = pdf_text(
            client.get(
                f"/staff/workshops/{ended.id}/survey/summary.pdf", headers={"Accept-Language": accept}
            ).data,
            tmp_path,
        )
        start = ended.local(ended.starts_at)
        assert f"{start.year}年{start.month}月{start.day}日" in text
        assert (
            f"{start.day} {start:%b} {start.year}" in text or f"{start:%b} {start.day}, {start.year}" in text
        )
        assert "生成时间：" in text and "Generated " in text
