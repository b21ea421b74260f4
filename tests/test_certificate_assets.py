"""Logos and signatories: the programme's then the workshop's on each certificate, scoped to their
programme, and a change re-renders only the certificates that show it, in the background."""

import io
import subprocess
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from tests.test_certificates import issued, person
from workshops.models import AuditEvent, Certificate, CertificateAsset, Job, Programme, Role, Workshop
from workshops.services import certificates

# What these tests check (images and the PDF they end up in) does not depend on the database.
pytestmark = pytest.mark.one_database

RED, GREEN = (200, 20, 20), (20, 160, 60)


def png(color) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 40), color).save(out, format="PNG")
    return out.getvalue()


def run(*args) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def images_in(pdf: bytes, tmp_path, name: str) -> list[tuple[int, int, int]]:
    """The colour of each image in the PDF, in drawing order (pdfimages, then read back)."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    run("pdfimages", "-png", str(path), str(tmp_path / name))
    files = sorted(tmp_path.glob(f"{name}-*.png"))
    return [Image.open(file).convert("RGB").getpixel((5, 5)) for file in files]


def text_of(pdf: bytes, tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return run("pdftotext", "-layout", str(path), "-")


@pytest.fixture
def programme(db):
    made = Programme(code="QA", name_en="Quality Apprenticeship", name_zh="高质量学徒制")
    db.session.add(made)
    db.session.commit()
    return made


START = datetime(2026, 3, 31, 1, 0, tzinfo=UTC)


@pytest.fixture
def ended_in(make_workshop):
    def make(programme=None, title="Capacity Building Workshop"):
        return make_workshop(
            programme=programme, title_en=title, starts_at=START, ends_at=START + timedelta(days=1, hours=8)
        )

    return make


def add(client, workshop, **data):
    if "image" in data:
        data["image"] = (io.BytesIO(data["image"]), "upload.png")
    return client.post(
        f"/staff/workshops/{workshop.id}/certificates/assets",
        data=data,
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_the_programmes_logos_and_signatories_come_first_then_the_workshops(
    client, auth, make_user, programme, ended_in, db, tmp_path
):
    workshop = ended_in(programme)
    auth.login(make_user(Role.COORDINATOR))
    # The workshop's own logo is added first: the order is by owner, not by when.
    add(client, workshop, kind="logo", image=png(GREEN))
    add(client, workshop, kind="logo", image=png(RED), for_programme="y")
    add(client, workshop, kind="signatory", name_zh="张校长", title_zh="校长", position="2")
    add(client, workshop, kind="signatory", name_zh="李老师", title_zh="教务主任", position="1")
    add(
        client,
        workshop,
        kind="signatory",
        name_zh="项目主任",
        title_zh="项目官员",
        for_programme="y",
        position="5",
    )
    refused = add(client, workshop, kind="signatory", name_zh="王", position="-1")
    assert "Between 0 and 99." in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(CertificateAsset)) == 5

    page = client.get(f"/staff/workshops/{workshop.id}/certificates").get_data(as_text=True)
    assert page.index("项目主任") < page.index("李老师") < page.index("张校长")

    registration = issued(person(workshop, 1))
    pdf = client.get(f"/r/{registration.manage_token}/certificate.pdf").data
    colours = images_in(pdf, tmp_path, "one")
    assert colours[:2] == [RED, GREEN] and len(colours) == 3  # the two logos, then the QR code
    text = text_of(pdf, tmp_path, "one")
    assert text.index("项目主任") < text.index("李老师") < text.index("张校长")


def test_a_workshop_without_a_programme_never_sees_or_removes_other_workshops_assets(
    client, auth, make_user, programme, ended_in, db, tmp_path
):
    alone, neighbour, in_programme = ended_in(None, "Alone"), ended_in(None, "Neighbour"), ended_in(programme)
    for owner, name in (
        ({"workshop_id": alone.id}, "张校长"),
        ({"workshop_id": neighbour.id}, "邻居主任"),
        ({"programme_id": programme.id}, "项目主任"),
    ):
        db.session.add(CertificateAsset(kind="signatory", name_zh=name, **owner))
    db.session.commit()
    own, theirs, programmes = db.session.scalars(
        db.select(CertificateAsset).order_by(CertificateAsset.id)
    ).all()
    auth.login(make_user(Role.COORDINATOR))
    page = client.get(f"/staff/workshops/{alone.id}/certificates").get_data(as_text=True)
    assert "张校长" in page and "邻居主任" not in page and "项目主任" not in page
    pdf = client.get(f"/r/{issued(person(alone, 1)).manage_token}/certificate.pdf").data
    text = text_of(pdf, tmp_path, "alone")
    assert "张校长" in text and "邻居主任" not in text and "项目主任" not in text

    # The neighbour's asset, and the programme's, through the lone workshop's page: not found.
    for asset in (theirs, programmes):
        url = f"/staff/workshops/{alone.id}/certificates/assets/{asset.id}/remove"
        assert client.post(url).status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(CertificateAsset)) == 3
    # An organiser may not remove even an asset of their own workshop.
    organiser = make_user(Role.ORGANISER)
    auth.logout()
    auth.login(organiser)
    assert client.post(f"/staff/workshops/{alone.id}/certificates/assets/{own.id}/remove").status_code == 403
    auth.logout()
    auth.login(make_user(Role.COORDINATOR))
    # Its own, and the programme's through a workshop of the programme: removed, audited.
    client.post(f"/staff/workshops/{alone.id}/certificates/assets/{own.id}/remove")
    client.post(f"/staff/workshops/{in_programme.id}/certificates/assets/{programmes.id}/remove")
    db.session.expire_all()
    assert db.session.scalars(db.select(CertificateAsset.name_zh)).all() == ["邻居主任"]
    removed = db.session.scalars(db.select(AuditEvent).filter_by(action="certificate.asset_remove")).all()
    assert sorted(event.target_id for event in removed) == sorted([own.id, programmes.id])


@contextmanager
def jobs_wait_for_a_worker(app):
    """Tasks go to the (in-memory) broker instead of running in the caller: the test is the worker."""
    celery = app.extensions["celery"]
    celery.conf.task_always_eager = False
    try:
        yield
    finally:
        celery.conf.task_always_eager = True


def test_adding_a_logo_marks_only_the_certificates_that_show_it_and_the_job_renders_them_again(
    app, client, auth, make_user, programme, ended_in, db, tmp_path
):
    first, second = ended_in(programme, "First"), ended_in(programme, "Second")
    other = ended_in(None, "Other")
    ids = {"first": first.id, "second": second.id, "other": other.id}

    def again():
        """The workshops, read again (the worker's run empties the session, as a worker would)."""
        return [db.session.get(Workshop, ids[name]) for name in ("first", "second", "other")]

    auth.login(make_user(Role.COORDINATOR))
    people = {w.id: [issued(person(w, n)) for n in range(2)] for w in (first, second, other)}
    client.post(f"/staff/workshops/{first.id}/certificates/generate")  # a batch: its merged PDF
    batch = certificates.last_batch(first, finished=True)
    assert batch is not None
    for rows in people.values():
        for registration in rows:
            certificates.pdf_of(certificates.certificate_of(registration))
    kept = {c.id: c.pdf for c in db.session.scalars(db.select(Certificate))}
    assert all(kept.values())

    with jobs_wait_for_a_worker(app):
        add(client, first, kind="logo", image=png(GREEN))  # the first workshop's own
    db.session.expire_all()
    now = {c.id: (c.registration.workshop_id, c.pdf) for c in db.session.scalars(db.select(Certificate))}
    assert all(pdf is None for workshop_id, pdf in now.values() if workshop_id == first.id)
    assert all(pdf == kept[cid] for cid, (workshop_id, pdf) in now.items() if workshop_id != first.id)
    [queued] = db.session.scalars(db.select(Job).where(Job.status == "queued")).all()
    assert (queued.workshop_id, queued.total) == (first.id, 2)
    # Downloaded before the job ran: rendered afresh, with the new logo.
    fresh = client.get(f"/r/{people[first.id][0].manage_token}/certificate.pdf").data
    assert images_in(fresh, tmp_path, "fresh")[0] == GREEN
    # The staff download still serves the finished batch until the new one is done.
    assert certificates.last_batch(first, finished=True).id == batch.id

    queued_id = queued.id
    certificates.run_batch(queued_id)  # the worker
    db.session.expire_all()
    first, second, other = again()
    queued = db.session.get(Job, queued_id)
    done = certificates.last_batch(first, finished=True)
    assert done.id == queued.id and done.result == {"issued": 2, "not_eligible": 0}
    for registration in people[first.id]:
        pdf = db.session.get(Certificate, certificates.certificate_of(registration).id).pdf
        assert pdf is not None and images_in(pdf, tmp_path, f"r{registration.id}")[0] == GREEN
    merged = client.get(f"/staff/workshops/{first.id}/certificates/all.pdf").data
    assert images_in(merged, tmp_path, "merged").count(GREEN) == 2
    serials = sorted(c.serial for c in db.session.scalars(db.select(Certificate)))
    assert len(serials) == len(set(serials)) == 6  # re-rendered, not re-issued

    # A programme logo: both of its workshops' certificates, never the other workshop's.
    with jobs_wait_for_a_worker(app):
        add(client, second, kind="logo", image=png(RED), for_programme="y")
    db.session.expire_all()
    stale = {c.registration.workshop_id for c in db.session.scalars(db.select(Certificate)) if c.pdf is None}
    assert stale == {first.id, second.id}
    untouched = [
        c for c in db.session.scalars(db.select(Certificate)) if c.registration.workshop_id == other.id
    ]
    assert all(c.pdf == kept[c.id] for c in untouched)
    queued = db.session.scalars(db.select(Job).where(Job.status == "queued").order_by(Job.id)).all()
    assert sorted(job.workshop_id for job in queued) == sorted([first.id, second.id])
    for job_id in [job.id for job in queued]:
        certificates.run_batch(job_id)
    db.session.expire_all()
    first, second, other = again()
    assert all(c.pdf is not None for c in db.session.scalars(db.select(Certificate)))
    pdf = certificates.pdf_of(certificates.certificate_of(people[first.id][1]))
    assert images_in(pdf, tmp_path, "both")[:2] == [RED, GREEN]  # the programme's first
