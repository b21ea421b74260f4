"""Name badges: an A4 sheet (8 a page) for onsite participants, QR ticket on each.

A small workshop's badges are made at once; beyond ``INSTANT_AT_MOST`` people they are made by
a background job (the layout costs about a second per hundred badges), in chunks of whole
pages that are joined into one PDF at the end.
"""

from __future__ import annotations

import io

from celery import shared_task
from flask import render_template
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import (
    AttendanceMode,
    Job,
    JobFile,
    JobKind,
    JobStatus,
    Registration,
    RegistrationStatus,
    Workshop,
)
from ..models.base import utcnow
from . import audit, jobs, pdf, tickets

# Up to this many badges are laid out inside the request (about half a second).
INSTANT_AT_MOST = 50
# A chunk of the job: whole pages (8 badges a page), so no page in the middle is half empty.
CHUNK = 96
MERGED = "badges.pdf"


def name_size(name: str) -> str:
    """A size class so long names fit the badge (at most two lines; longer ones are cut)."""
    width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in name)  # a CJK character is twice as wide
    return "xl" if width <= 12 else "l" if width <= 20 else "m" if width <= 30 else "s"


def _clipped(text: str, width: int) -> str:
    """At most ``width`` half-width places (a CJK character takes two), cut with an ellipsis."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0x2E80 else 1
        if used > width:
            return text[:index].rstrip() + "…"
    return text


# A line of the badge's title holds about 29 CJK characters at 8pt (84.5 mm); with a margin.
TITLE_LINE = 56


def badge_titles(workshop: Workshop) -> list[tuple[str, str]]:
    """The workshop's titles on its badges: Chinese then English, two lines each when alone, one
    each when both. The layout's line clamp puts the ellipsis on Latin text; Chinese, which it
    breaks between any two characters, is cut here."""
    both = bool(workshop.title_zh and workshop.title_en)
    lines = 1 if both else 2
    titles = []
    if workshop.title_zh:
        titles.append(("zh-CN", _clipped(workshop.title_zh, TITLE_LINE * lines)))
    if workshop.title_en:
        titles.append(("en", workshop.title_en))
    return titles


def _onsite(workshop: Workshop):
    return (
        Registration.workshop_id == workshop.id,
        Registration.status == RegistrationStatus.CONFIRMED,
        Registration.mode == AttendanceMode.ONSITE,
    )


def onsite_count(workshop: Workshop) -> int:
    return db.session.scalar(select(func.count()).select_from(Registration).where(*_onsite(workshop))) or 0


def made_in_background(workshop: Workshop) -> bool:
    """Whether the workshop's badges are too many to make inside the request."""
    return onsite_count(workshop) > INSTANT_AT_MOST


def _render(workshop: Workshop, people) -> bytes:
    badges = [
        {
            "name": p.full_name,
            "latin": p.latin_name,
            "organisation": p.organisation,
            "size": name_size(p.full_name),
            "qr": pdf.png_data_uri(tickets.qr_matrix_png(p.ticket_token)),
        }
        for p in people
    ]
    title = f"{_('Name badges')} — {workshop.title}"
    html = render_template("staff/badges.html", titles=badge_titles(workshop), badges=badges, title=title)
    return pdf.render_pdf(html)


def badge_sheet(workshop: Workshop, actor) -> bytes:
    """Badges of the confirmed onsite participants, in name order, as one PDF (made now)."""
    people = db.session.scalars(
        select(Registration).where(*_onsite(workshop)).order_by(Registration.full_name, Registration.id)
    ).all()
    audit.record("workshop.badges", workshop, actor, count=len(people))
    db.session.commit()
    return _render(workshop, people)


def queue_badges(workshop: Workshop, actor) -> Job:
    """Make the workshop's badges in the background (its job page shows the progress).

    The people are those confirmed onsite now, in name order; the files of the workshop's
    earlier badge jobs are dropped (their tickets may since have been rotated).
    """
    people = db.session.scalars(
        select(Registration.id).where(*_onsite(workshop)).order_by(Registration.full_name, Registration.id)
    ).all()
    earlier = select(Job.id).where(Job.workshop_id == workshop.id, Job.kind == JobKind.BADGES)
    db.session.execute(delete(JobFile).where(JobFile.job_id.in_(earlier)))
    job = Job(
        kind=JobKind.BADGES,
        status=JobStatus.QUEUED,
        workshop_id=workshop.id,
        created_by_id=getattr(actor, "id", None),
        total=len(people),
        payload={"registrations": list(people)},
    )
    db.session.add(job)
    db.session.flush()
    job_id = job.id
    audit.record("workshop.badges", workshop, actor, count=len(people), job=job_id)
    jobs.dispatch(job)  # commits; a task run at once (tests) runs in a session of its own
    db.session.commit()  # so this one's next read sees what that task wrote
    return db.session.get_one(Job, job_id, populate_existing=True)


def _part_name(index: int) -> str:
    return f"part-{index:06d}.pdf"


def run_badges(job_id: int) -> None:
    """Lay out the job's badges chunk by chunk, then join the chunks into one PDF.

    A chunk's file marks it done, so a worker restarted after a crash resumes where it stopped.
    Someone who left (cancelled, moved online) since the job was queued gets no badge.
    """
    runner = jobs.claim(job_id)
    if runner is None:
        return  # done, or taken by another run
    job = db.session.get_one(Job, job_id)
    workshop_id, ids = job.workshop_id, list(job.payload["registrations"])
    chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    for index, chunk in enumerate(chunks):
        done = select(JobFile.id).where(JobFile.job_id == job_id, JobFile.name == _part_name(index))
        if db.session.scalar(done) is not None:
            continue
        workshop = db.session.get_one(Workshop, workshop_id)
        still_onsite = select(Registration).where(Registration.id.in_(chunk), *_onsite(workshop))
        found = {person.id: person for person in db.session.scalars(still_onsite)}
        people = [found[rid] for rid in chunk if rid in found]
        data = _render(workshop, people) if people else b""
        if not jobs.still_mine(job_id, runner):
            db.session.rollback()
            return  # handed to another run meanwhile (this one stalled): that run carries on
        db.session.add(
            JobFile(job_id=job_id, name=_part_name(index), content_type="application/pdf", data=data)
        )
        job = db.session.get_one(Job, job_id)
        job.done += len(chunk)
        job.result = {"badges": int((job.result or {}).get("badges", 0)) + len(people)}
        db.session.commit()
        db.session.expunge_all()  # keep memory to one chunk
    _finish(job_id)


def _finish(job_id: int) -> None:
    """Join the chunks into the one PDF to download, and mark the job done."""
    from pypdf import PdfWriter  # only here, like WeasyPrint in services.pdf (memory)

    writer = PdfWriter()
    parts = db.session.scalars(
        select(JobFile).where(JobFile.job_id == job_id, JobFile.name.like("part-%")).order_by(JobFile.name)
    ).all()
    for part in parts:
        if part.data:
            writer.append(io.BytesIO(part.data))
    out = io.BytesIO()
    writer.write(out)
    for part in parts:
        db.session.delete(part)
    db.session.add(JobFile(job_id=job_id, name=MERGED, content_type="application/pdf", data=out.getvalue()))
    job = db.session.get_one(Job, job_id)
    job.status, job.finished_at = JobStatus.DONE, utcnow()
    db.session.commit()


def made_pdf(job: Job) -> bytes | None:
    """The PDF a finished badge job made (None: not finished, or its files were dropped)."""
    if job.kind != JobKind.BADGES or job.status != JobStatus.DONE:
        return None
    return db.session.scalar(select(JobFile.data).where(JobFile.job_id == job.id, JobFile.name == MERGED))


@jobs.carried_out_by(JobKind.BADGES)
@shared_task(name="badges.generate", ignore_result=True, acks_late=True)
def generate_badges_task(job_id: int) -> None:
    run_badges(job_id)
