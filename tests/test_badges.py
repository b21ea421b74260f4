"""Printable name badges for onsite participants."""

import re
import subprocess
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import applicant
from workshops.extensions import db as _db
from workshops.models import Job, JobFile, JobKind, Role
from workshops.models.base import utcnow
from workshops.services import badges, jobs, pdf, privacy
from workshops.services import registration as registrations


def test_badge_sheet_has_names_organisations_and_scannable_tickets(
    client, auth, make_user, make_workshop, tmp_path
):
    workshop = make_workshop(onsite_capacity=10)
    people = [
        registrations.register(
            workshop.id, applicant(1, full_name="李华", organisation="重庆工程职业技术学院")
        ).registration,
        registrations.register(
            workshop.id,
            applicant(
                2,
                full_name="Maria Fernandes-Oliveira da Silva Pereira",
                organisation="Guangzhou Industry Polytechnic",
            ),
        ).registration,
        registrations.register(workshop.id, applicant(3, full_name="在线的人", mode="online")).registration,
    ]
    auth.login(make_user(Role.COORDINATOR))
    response = client.get(f"/staff/workshops/{workshop.id}/badges.pdf")
    assert response.mimetype == "application/pdf"
    path = tmp_path / "badges.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "李华" in text and "重庆工程职业技术学院" in text and "Maria Fernandes" in text
    assert "在线的人" not in text  # online participants need no badge
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "WenQuanYi" in line or "WQY" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # the bundled CJK font, embedded
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True)
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(tmp_path / "page-1.png")], capture_output=True, text=True
    ).stdout.split()
    assert sorted(decoded) == sorted([people[0].ticket_token, people[1].ticket_token])


def test_eight_badges_a_page_and_long_names_keep_the_qr_on_the_badge(
    client, auth, make_user, make_workshop, tmp_path
):
    workshop = make_workshop(onsite_capacity=20)
    names = ["Bartholomew Featherstonehaugh", "W" * 40, "欧阳" * 30] + [f"参加者{n}" for n in range(13)]
    people = [
        registrations.register(
            workshop.id, applicant(n, full_name=name, organisation="很长的单位名称" * 12)
        ).registration
        for n, name in enumerate(names)
    ]
    auth.login(make_user(Role.COORDINATOR))
    path = tmp_path / "badges.pdf"
    path.write_bytes(client.get(f"/staff/workshops/{workshop.id}/badges.pdf").data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+2$", info, re.M), info  # 16 people, 8 a page
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True)
    decoded = []
    for page in sorted(tmp_path.glob("page-*.png")):
        decoded += subprocess.run(
            ["zbarimg", "--quiet", "--raw", str(page)], capture_output=True, text=True
        ).stdout.split()
    assert sorted(decoded) == sorted(p.ticket_token for p in people)  # every QR whole and readable


def test_long_names_get_a_smaller_size():
    assert badges.name_size("李华") == "xl"
    assert badges.name_size("Maria Fernandes-Oliveira da Silva Pereira") == "s"


def test_pdfs_never_fetch_from_the_network(app):
    with pytest.raises(pdf.BlockedURL):
        pdf.local_fetcher("https://fonts.googleapis.com/css")
    with pytest.raises(pdf.BlockedURL):
        pdf.local_fetcher("file:///etc/passwd")
    rendered = pdf.render_pdf('<p>x<img src="https://example.org/logo.png"></p>')
    assert rendered.startswith(b"%PDF")


# ---- long titles, and large workshops' badges in the background ----------------------------


def _pdftotext(path, *args) -> str:
    return subprocess.run(
        ["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _onsite(workshop, count: int, start: int = 0):
    return [
        registrations.register(workshop.id, applicant(n, full_name=f"参加者{n:03d}")).registration
        for n in range(start, start + count)
    ]


def test_a_long_title_ends_in_an_ellipsis_inside_the_badge(client, auth, make_user, make_workshop, tmp_path):
    title_en = "International Forum on Skills Development and Quality Apprenticeship " * 4
    title_zh = "高质量学徒制与技能发展国际论坛暨第二期项目启动会议" * 4
    auth.login(make_user(Role.COORDINATOR))
    for name, workshop in (
        ("both", make_workshop(title_en=title_en, title_zh=title_zh)),
        ("en", make_workshop(title_en=title_en, title_zh="")),
    ):
        _onsite(workshop, 3)
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(client.get(f"/staff/workshops/{workshop.id}/badges.pdf").data)
        text = _pdftotext(path)
        badge_lines = [line for line in text.splitlines() if "…" in line]
        assert len(badge_lines) == (6 if name == "both" else 3), text  # each title cut once a badge
        assert title_en.strip() not in " ".join(text.split())
        bbox = _pdftotext(path, "-bbox")
        width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
        assert all(
            float(x) <= width - 25 for x in re.findall(r'xMax="([\d.]+)"', bbox)
        )  # within the page's margins
    # Two lines, then the ellipsis, when the workshop has one title.
    lines = [
        line
        for line in _pdftotext(tmp_path / "en.pdf").splitlines()
        if "International" in line or "…" in line
    ]
    assert len(lines) == 6  # 3 badges x 2 lines


def test_a_small_workshops_badges_come_at_once_without_a_job(client, auth, make_user, make_workshop, db):
    workshop = make_workshop()
    _onsite(workshop, 3)
    auth.login(make_user(Role.ORGANISER))  # an organiser of another workshop
    assert client.post(f"/staff/workshops/{workshop.id}/badges.pdf").status_code == 403
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    auth.logout()
    auth.login(organiser)
    response = client.post(f"/staff/workshops/{workshop.id}/badges.pdf")
    assert response.mimetype == "application/pdf"
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_large_workshops_badges_are_made_by_a_job_with_a_download(
    client, auth, make_user, make_workshop, db, tmp_path, monkeypatch
):
    monkeypatch.setattr(badges, "CHUNK", 16)  # several chunks, joined into one PDF
    workshop = make_workshop(onsite_capacity=100)
    people = _onsite(workshop, badges.INSTANT_AT_MOST + 1)
    registrations.register(workshop.id, applicant(900, full_name="在线的人", mode="online"))
    organiser = make_user(Role.ORGANISER)
    organiser.workshops.append(workshop)
    db.session.commit()
    auth.login(organiser)
    # A plain link cannot start a job: it says what to do.
    response = client.get(f"/staff/workshops/{workshop.id}/badges.pdf", follow_redirects=True)
    assert "background" in response.get_data(as_text=True)
    response = client.post(f"/staff/workshops/{workshop.id}/badges.pdf")
    assert response.status_code == 302 and "/staff/jobs/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    job = db.session.scalars(select(Job).where(Job.kind == JobKind.BADGES)).one()
    assert job.status == "done" and job.done == job.total == len(people)
    assert f"Done: {len(people)} badges." in page
    assert client.get(f"/staff/jobs/{job.id}/progress").json["finished"] is True
    download = f"/staff/workshops/{workshop.id}/badges/{job.id}.pdf"
    assert download in page
    path = tmp_path / "badges.pdf"
    path.write_bytes(client.get(download).data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+7$", info, re.M), info  # 51 badges, 8 a page (16 a chunk)
    text = _pdftotext(path)
    assert all(text.count(p.full_name) == 1 for p in people) and "在线的人" not in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert all("WQY-Micro-Hei" in line for line in fonts.splitlines()[2:]), fonts
    # Another workshop's organiser sees neither the job nor its file.
    auth.logout()
    other = make_user(Role.ORGANISER)
    auth.login(other)
    assert client.get(f"/staff/jobs/{job.id}").status_code == 403
    assert client.get(download).status_code == 403
    # An import's job page stays the coordinators'.
    auth.logout()
    auth.login(organiser)
    imported = Job(kind="import", status="preview", workshop_id=workshop.id, payload={"filename": "x.csv"})
    db.session.add(imported)
    db.session.commit()
    assert client.get(f"/staff/jobs/{imported.id}").status_code == 403


def test_a_badge_job_whose_worker_was_lost_resumes_and_skips_who_left(app, make_workshop, db):
    workshop = make_workshop(onsite_capacity=100)
    people = _onsite(workshop, 60)
    ids = [p.id for p in sorted(people, key=lambda p: p.full_name)]
    # As if the broker had lost the task: the job is recorded but nobody runs it.
    job = Job(
        kind=JobKind.BADGES,
        status="queued",
        workshop_id=workshop.id,
        total=60,
        payload={"registrations": ids},
    )
    db.session.add(job)
    db.session.commit()
    registrations.cancel(people[0])
    later = utcnow() + timedelta(seconds=app.config["JOB_LEASE_SECONDS"] + 1)
    assert jobs.resume_stalled(now=later) == [job.id]
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "done" and job.result == {"badges": 59}
    body = badges.made_pdf(job)
    assert body is not None and body.startswith(b"%PDF")
    assert jobs.claim(job.id) is None  # finished: never run twice


def test_erasing_a_person_drops_the_badge_files_that_name_them(app, make_workshop, db):
    workshop = make_workshop(onsite_capacity=100)
    people = _onsite(workshop, badges.INSTANT_AT_MOST + 1)
    job = badges.queue_badges(workshop, None)
    assert badges.made_pdf(job) is not None
    privacy.erase(people[3], at_request=True)
    db.session.commit()
    assert badges.made_pdf(db.session.get(Job, job.id)) is None


# ---- the job split between the workers --------------------------------------------------------


def _badge_job(db, workshop, people) -> Job:
    """A queued badge job for ``people`` in name order, as queue_badges records it (not run)."""
    ids = [p.id for p in sorted(people, key=lambda p: p.full_name)]
    job = Job(kind=JobKind.BADGES, status="queued", workshop_id=workshop.id, total=len(ids))
    job.payload = {"registrations": ids}
    db.session.add(job)
    db.session.commit()
    return job


def _files(db, job) -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(JobFile.name).where(JobFile.job_id == job.id)))


def test_a_split_job_resumes_after_one_part_crashed_and_joins_once(
    app, make_workshop, db, tmp_path, monkeypatch
):
    monkeypatch.setattr(badges, "CHUNK", 8)  # 30 people: chunks 0-3, two for each of two parts
    workshop = make_workshop(onsite_capacity=100)
    people = _onsite(workshop, 30)
    job = _badge_job(db, workshop, people)
    left = sorted(people, key=lambda p: p.full_name)[-1]  # in part 1's last chunk (3)
    registrations.cancel(left)
    rendered, crashed = [], []
    real_render = badges._render

    def render(workshop, chunk):
        if len(rendered) == 3 and not crashed:  # part 1's second chunk: its worker dies in the layout
            crashed.append(True)
            raise MemoryError("killed")
        rendered.append([p.full_name for p in chunk])
        return real_render(workshop, chunk)

    monkeypatch.setattr(badges, "_render", render)
    badges.run_badges(job.id, 0, 2)  # chunks 0 and 2; the other part has not finished: no join
    assert _files(db, job) == ["part-000000.pdf", "part-000002.pdf"]
    with pytest.raises(MemoryError):
        badges.run_badges(job.id, 1, 2)  # chunk 1 kept, chunk 3 lost with the worker
    assert _files(db, job) == ["part-000000.pdf", "part-000001.pdf", "part-000002.pdf"]
    job = db.session.get(Job, job.id)
    assert job.status == "running" and job.done == 24
    # The sweep hands both parts out again: each chunk is laid out once in all, the last joins.
    later = utcnow() + timedelta(seconds=app.config["JOB_LEASE_SECONDS"] + 1)
    assert jobs.resume_stalled(now=later) == [job.id]
    assert len(rendered) == 4 and left.full_name not in rendered[3]
    assert _files(db, job) == [badges.MERGED]
    job = db.session.get(Job, job.id)
    assert job.status == "done" and job.done == 30 and job.result == {"badges": 29}
    finished = job.finished_at
    # A late copy of either part (a task delivered twice) neither lays out nor joins again.
    badges.run_badges(job.id, 1, 2)
    badges._finish(job.id, 4)
    assert _files(db, job) == [badges.MERGED] and len(rendered) == 4
    assert db.session.get(Job, job.id).finished_at == finished
    path = tmp_path / "badges.pdf"
    path.write_bytes(badges.made_pdf(job))
    text = _pdftotext(path)
    assert all(text.count(p.full_name) == (p.id != left.id) for p in people)
    assert re.search(r"^Pages:\s+4$", _pdfinfo(path), re.M)  # 8 a chunk: no half-empty page between
    assert re.search(r"^Title:\s+Name badges — ", _pdfinfo(path), re.M)  # kept by the join


def test_a_late_copy_of_a_part_keeps_nothing_once_the_other_copy_joined(app, make_workshop, db, monkeypatch):
    """A task delivered twice: the second copy of part 1 is laying out its chunk when the first
    copy (and part 0) finish and join. It must not store chunk files nobody will join again,
    nor count its chunk a second time."""
    monkeypatch.setattr(badges, "CHUNK", 8)
    workshop = make_workshop(onsite_capacity=100)
    job = _badge_job(db, workshop, _onsite(workshop, 20))
    real_render = badges._render
    joined = []

    def render(workshop, chunk):
        if not joined:  # the late copy's first layout: meanwhile the job is done and joined
            joined.append(True)
            badges.run_badges(job.id, 0, 2)
            badges.run_badges(job.id, 1, 2)
        return real_render(workshop, chunk)

    monkeypatch.setattr(badges, "_render", render)
    badges.run_badges(job.id, 1, 2)
    assert _files(db, job) == [badges.MERGED]
    job = db.session.get(Job, job.id)
    assert job.status == "done" and job.done == job.total == 20


def test_an_erasure_while_the_badges_are_made_stops_the_job_and_keeps_no_page_of_them(
    app, make_workshop, db, monkeypatch
):
    monkeypatch.setattr(badges, "CHUNK", 8)
    workshop = make_workshop(onsite_capacity=100)
    people = _onsite(workshop, 20)
    job = _badge_job(db, workshop, people)
    real_render = badges._render
    erased = []

    def render(workshop, chunk):
        page = real_render(workshop, chunk)  # this chunk already holds them
        if not erased:
            erased.append(chunk[0].id)
            privacy.erase(chunk[0], at_request=True)
            db.session.commit()
        return page

    monkeypatch.setattr(badges, "_render", render)
    badges.run_badges(job.id, 0, 1)
    assert _files(db, job) == []
    job = db.session.get(Job, job.id)
    assert job.status == "failed" and job.error == privacy.STOPPED and badges.made_pdf(job) is None


def _pdfinfo(path) -> str:
    return subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout


def test_two_parts_finishing_together_join_once(app, make_workshop, db, database_url, monkeypatch):
    """The job's row is locked to decide: of two joins at once, one writes the PDF."""
    if not database_url.startswith("postgresql"):
        pytest.skip("two connections at once: PostgreSQL's row lock (SQLite has one writer)")
    monkeypatch.setattr(badges, "CHUNK", 8)
    workshop = make_workshop(onsite_capacity=100)
    job = _badge_job(db, workshop, _onsite(workshop, 16))
    badges.run_badges(job.id, 0, 2)
    db.session.add(JobFile(job_id=job.id, name="part-000001.pdf", content_type="application/pdf", data=b""))
    db.session.commit()
    start, errors = threading.Barrier(2), []

    def finish():
        with app.app_context():
            start.wait()
            try:
                badges._finish(job.id, 2)
            except Exception as error:  # an IntegrityError: both tried to write the PDF
                errors.append(error)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=finish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and _files(db, job) == [badges.MERGED]
    assert db.session.get(Job, job.id).status == "done"


def test_a_real_worker_makes_the_badges_in_two_parts_and_resumes_after_it_is_killed(
    app, db, database_url, make_workshop, tmp_path, monkeypatch
):
    """Celery's worker with two pool processes on Redis, as production runs it (tests/stack.py).
    It is killed once the first chunk is kept; started again, the sweep hands the job out and
    the PDF has every badge once, with readable QR codes and the bundled font."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the production shape: PostgreSQL and redis-server")
    from tests import stack as production

    monkeypatch.setattr(production, "fresh_database", lambda _name: database_url)
    stack = production.Stack(tmp_path, "badges", app_servers=0)
    workshop = make_workshop(onsite_capacity=300, title_en="Core Skills", title_zh="核心技能培训")
    people = _onsite(workshop, 4 * badges.CHUNK)  # four chunks, two for each pool process
    stack.start_redis()
    try:
        stack.start_worker()
        coordinator = stack.app()
        with coordinator.test_request_context():
            job_id = badges.queue_badges(_db.session.get(type(workshop), workshop.id), None).id
            _db.session.remove()
        count = lambda: len(_files(db, db.session.get(Job, job_id)))  # noqa: E731
        production.wait_until(lambda: count() >= 1, 120, "the first chunk is kept")
        stack.kill_worker()
        kept = [name for name in _files(db, db.session.get(Job, job_id)) if name.startswith("part-")]
        stack.start_worker()
        with coordinator.app_context():
            later = utcnow() + timedelta(seconds=coordinator.config["JOB_LEASE_SECONDS"] + 1)
            jobs.resume_stalled(now=later)  # what beat's sweep does once the lease has run out
            _db.session.remove()

        def done() -> bool:
            db.session.expire_all()
            return db.session.get(Job, job_id).status == "done"

        production.wait_until(done, 180, "the job is done")
    finally:
        stack.stop()
    job = db.session.get(Job, job_id)
    assert job.done == job.total == len(people) and job.result == {"badges": len(people)}
    assert _files(db, job) == [badges.MERGED] and kept  # the kept chunks were not made again
    path = tmp_path / "badges.pdf"
    path.write_bytes(badges.made_pdf(job))
    text = _pdftotext(path)
    assert all(text.count(p.full_name) == 1 for p in people)
    assert re.search(r"^Title:\s+Name badges — ", _pdfinfo(path), re.M)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines()[2:] if "WQY-Micro-Hei" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # the bundled font, embedded
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-l", "1", str(path), str(tmp_path / "page")], check=True
    )
    [page] = tmp_path.glob("page-*.png")
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(page)], capture_output=True, text=True
    ).stdout
    first = sorted(people, key=lambda p: p.full_name)[:8]
    assert sorted(decoded.split()) == sorted(p.ticket_token for p in first)
