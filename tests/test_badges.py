"""Printable name badges for onsite participants."""

import re
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import applicant
from workshops.models import Job, JobKind, Role
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
