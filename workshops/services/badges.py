"""Name badges: an A4 sheet (8 a page) for onsite participants, QR ticket on each.

A small workshop's badges are made at once; beyond ``INSTANT_AT_MOST`` people they are made by
a background job in chunks of whole pages, shared out between the workers (the layout is
CPU-bound) and joined into one PDF by the part that finishes last.
"""

from __future__ import annotations

import io

import qrcode
from celery import shared_task
from flask import render_template
from flask_babel import gettext as _
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

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
from ..models.base import lock_for_update, utcnow
from . import audit, jobs, pdf

# Up to this many badges are laid out inside the request (about half a second).
INSTANT_AT_MOST = 50
# A chunk of the job: whole pages (8 badges a page), so no page in the middle is half empty.
# Eight pages: 500 people are 8 chunks, four for each of two workers, 256 and 244 badges (96
# made 6 chunks, 288 and 212: one worker idled for most of a chunk at the end). Each chunk
# embeds its own subset of the CJK font, so much smaller chunks would grow the merged PDF.
CHUNK = 64
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


def qr_png(text: str) -> bytes:
    """The ticket's QR code as a PNG of one grey pixel a module (about 150 bytes).

    WeasyPrint takes a grey PNG as it is; the 1-bit one, scaled up to 8 pixels a module, it
    converted to RGB and encoded again (with our own encoding, a fifth of a chunk's time,
    profiled). The template draws it with ``image-rendering: pixelated`` so viewers and
    printers keep the modules' edges sharp. A fixed mask pattern: any mask gives a valid code.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=2, mask_pattern=0)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    image = Image.frombytes(
        "L", (len(matrix), len(matrix)), bytes(0 if dark else 255 for row in matrix for dark in row)
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _render(workshop: Workshop, people) -> bytes:
    badges = [
        {
            "name": p.full_name,
            "latin": p.latin_name,
            "organisation": p.organisation,
            "size": name_size(p.full_name),
            "qr": pdf.png_data_uri(qr_png(p.ticket_token)),
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


def _chunks(job: Job) -> list[list[int]]:
    ids = list(job.payload["registrations"])
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def run_badges(job_id: int, part: int = 0, parts: int = 1) -> None:
    """Lay out this part's share of the chunks (index ≡ part mod parts); the part that finishes
    last joins all the chunks into one PDF.

    A chunk's file marks it done, so a part handed out again after a crash resumes where it
    stopped, and two runs of the same chunk cannot both keep it (the file's name is unique).
    Someone who left (cancelled, moved online) since the job was queued gets no badge.
    """
    job = db.session.get(Job, job_id)
    if job is None or job.finished:
        return
    workshop_id, chunks = job.workshop_id, _chunks(job)
    db.session.execute(
        Job.__table__.update()
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, heartbeat_at=utcnow())
    )
    db.session.commit()
    for index in range(part, len(chunks), parts):
        done = select(JobFile.id).where(JobFile.job_id == job_id, JobFile.name == _part_name(index))
        if db.session.scalar(done) is not None:
            continue
        chunk = chunks[index]
        workshop = db.session.get_one(Workshop, workshop_id)
        still_onsite = select(Registration).where(Registration.id.in_(chunk), *_onsite(workshop))
        found = {person.id: person for person in db.session.scalars(still_onsite)}
        people = [found[rid] for rid in chunk if rid in found]
        data = _render(workshop, people) if people else b""
        # The parts add to the same counts: one at a time (the job's row is locked).
        lock_for_update(db.session, Job.__table__, Job.id == job_id)
        job = db.session.scalars(
            select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
        ).one()
        if job.finished:
            # Joined meanwhile by the other copy of this part (its chunk files are gone, so this
            # one would make them again, never joined), or stopped by an erasure: keep nothing.
            db.session.rollback()
            return
        db.session.add(
            JobFile(job_id=job_id, name=_part_name(index), content_type="application/pdf", data=data)
        )
        try:
            db.session.flush()
        except IntegrityError:  # another run of this part finished the chunk first: keep theirs
            db.session.rollback()
            continue
        job.done += len(chunk)
        job.result = {"badges": int((job.result or {}).get("badges", 0)) + len(people)}
        job.heartbeat_at = utcnow()
        db.session.commit()
        db.session.expunge_all()  # keep memory to one chunk
    _finish(job_id, len(chunks))


def _finish(job_id: int, chunk_count: int) -> None:
    """If every chunk is done, join them into the one PDF to download and mark the job done.

    Each part calls this when its share is done; the job's row is locked while deciding and
    joining, so of two parts finishing together one joins and the other finds the job done.
    """
    from pypdf import PdfReader, PdfWriter  # only here, like WeasyPrint in services.pdf (memory)

    lock_for_update(db.session, Job.__table__, Job.id == job_id)
    job = db.session.scalars(
        select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    parts = db.session.scalars(
        select(JobFile.id).where(JobFile.job_id == job_id, JobFile.name.like("part-%")).order_by(JobFile.name)
    ).all()
    if job.finished or len(parts) < chunk_count:
        db.session.commit()
        return
    writer = PdfWriter()
    title = None
    for file_id in parts:
        data = db.session.scalar(select(JobFile.data).where(JobFile.id == file_id))  # one at a time
        if data:
            reader = PdfReader(io.BytesIO(data))
            title = title or (reader.metadata.title if reader.metadata else None)
            writer.append(reader)
    if title:  # the joined file keeps the chunks' title (the viewer's window shows it)
        writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    db.session.execute(delete(JobFile).where(JobFile.id.in_(parts)))
    db.session.add(JobFile(job_id=job_id, name=MERGED, content_type="application/pdf", data=out.getvalue()))
    job.status, job.finished_at = JobStatus.DONE, utcnow()
    db.session.commit()


def made_pdf(job: Job) -> bytes | None:
    """The PDF a finished badge job made (None: not finished, or its files were dropped)."""
    if job.kind != JobKind.BADGES or job.status != JobStatus.DONE:
        return None
    return db.session.scalar(select(JobFile.data).where(JobFile.job_id == job.id, JobFile.name == MERGED))


@jobs.carried_out_by(JobKind.BADGES, split=True)
@shared_task(name="badges.generate", ignore_result=True, acks_late=True)
def generate_badges_task(job_id: int, part: int = 0, parts: int = 1) -> None:
    run_badges(job_id, part, parts)
