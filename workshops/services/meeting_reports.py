"""Online attendance from a meeting platform's report (Zoom, Tencent Meeting: CSV or XLSX).

Rows are matched to confirmed registrations by email, then phone, then name;
minutes of one person's several joins are added up; people under the minimum
are not counted. A preview shows matches and unmatched rows before anything
is recorded.
"""

from __future__ import annotations

import re
from collections import defaultdict

from celery import shared_task
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    Attendance,
    CheckInMethod,
    Job,
    JobKind,
    JobStatus,
    Registration,
    RegistrationStatus,
    Session,
    Workshop,
)
from ..models.base import utcnow
from . import audit, checkin, jobs
from .errors import InvalidInput
from .spreadsheets import read_table

COLUMNS = {
    "name": [
        "name (original name)",
        "name",
        "participant",
        "display name",
        "用户昵称",
        "入会昵称",
        "参会者",
        "姓名",
        "昵称",
        "用户名",
    ],
    "email": ["user email", "email", "e-mail", "邮箱", "用户邮箱", "电子邮箱"],
    "phone": ["phone", "phone number", "mobile", "手机号", "手机", "电话"],
    "minutes": [
        "duration (minutes)",
        "total duration (minutes)",
        "duration",
        "参会时长（分钟）",
        "参会时长(分钟)",
        "参会时长",
        "时长（分钟）",
        "时长",
    ],
}


def _column(header: dict[str, str], field: str) -> str | None:
    return next((header[alias] for alias in COLUMNS[field] if alias in header), None)


def parse_minutes(value: str) -> int:
    """'83', '83.5', '01:23:45', '1:23' (h:mm; '45:30' is mm:ss), '83分钟', '1小时23分钟', '1.5 hours'
    -> whole minutes (0 if unreadable)."""
    value = (value or "").strip()
    if re.fullmatch(r"\d+:\d{1,2}:\d{1,2}", value):
        hours, minutes, _seconds = (int(part) for part in value.split(":"))
        return hours * 60 + minutes
    if re.fullmatch(r"\d+:\d{2}", value):
        first, second = (int(part) for part in value.split(":"))
        return first * 60 + second if first < 24 else first  # a spreadsheet's h:mm, else mm:ss
    in_hours = re.search(r"(\d+(?:\.\d+)?)\s*(小时|hours?|hrs?|h\b)", value, re.I)
    in_minutes = re.search(r"(\d+(?:\.\d+)?)\s*(分钟|分|minutes?|mins?)", value, re.I)
    if in_hours or in_minutes:
        return int(
            (float(in_hours.group(1)) * 60 if in_hours else 0)
            + (float(in_minutes.group(1)) if in_minutes else 0)
        )
    try:
        return int(float(value))
    except ValueError:
        return 0


def _digits(text: str) -> str:
    digits = re.sub(r"\D", "", text or "")
    return digits[-11:]  # mainland mobile numbers, with or without +86


def _name_key(text: str) -> str:
    return re.sub(r"\s+", "", re.sub(r"\(.*?\)|（.*?）", "", text or "")).lower()


def preview_report(
    workshop: Workshop, session: Session, filename: str, data: bytes, min_minutes: int, actor
) -> Job:
    if session.workshop_id != workshop.id:
        raise InvalidInput({"session_id": _l("Choose a session of this workshop.")})
    if min_minutes < 0 or min_minutes > 24 * 60:
        raise InvalidInput({"min_minutes": _l("Between 0 and 1440 minutes.")})
    table = read_table(
        filename, data, known_headers={alias for aliases in COLUMNS.values() for alias in aliases}
    )
    header = {name.strip().lower(): name for name in table[0]}
    columns = {field: _column(header, field) for field in COLUMNS}
    if columns["minutes"] is None or not (columns["name"] or columns["email"] or columns["phone"]):
        raise InvalidInput(
            {
                "file": _l(
                    "This does not look like a meeting report: it needs a duration column"
                    " and a name, email or phone column."
                )
            }
        )
    people = db.session.scalars(
        select(Registration).where(
            Registration.workshop_id == workshop.id, Registration.status == RegistrationStatus.CONFIRMED
        )
    ).all()
    by_email = {p.email.lower(): p for p in people}
    by_phone = {_digits(p.mobile): p for p in people if len(_digits(p.mobile)) >= 7}
    names = defaultdict(list)
    for p in people:  # each person once under each way their name is written ("Li Hua" and "LI HUA" are one)
        for key in {_name_key(name) for name in (p.full_name, p.latin_name) if name}:
            names[key].append(p)
    minutes: defaultdict[int, int] = defaultdict(int)
    via: dict[int, str] = {}
    unmatched: list[dict] = []
    for line, row in enumerate(table, start=table.header_line + 1):
        value = {field: row.get(column, "") if column else "" for field, column in columns.items()}
        found, how = None, ""
        if value["email"] and value["email"].lower() in by_email:
            found, how = by_email[value["email"].lower()], "email"
        elif len(_digits(value["phone"])) >= 7 and _digits(value["phone"]) in by_phone:
            found, how = by_phone[_digits(value["phone"])], "phone"
        elif len(names.get(_name_key(value["name"]), [])) == 1:
            found, how = names[_name_key(value["name"])][0], "name"
        if found is None:
            unmatched.append(
                {
                    "line": line,
                    "name": value["name"],
                    "email": value["email"],
                    "minutes": parse_minutes(value["minutes"]),
                }
            )
            continue
        minutes[found.id] += parse_minutes(value["minutes"])
        via.setdefault(found.id, how)
    names_by_id = {p.id: p.full_name for p in people}
    matched = [
        {
            "registration_id": rid,
            "name": names_by_id[rid],
            "minutes": total,
            "via": via[rid],
            "counts": total >= min_minutes,
        }
        for rid, total in sorted(minutes.items())
    ]
    job = Job(
        kind=JobKind.MEETING_IMPORT,
        status=JobStatus.PREVIEW,
        workshop_id=workshop.id,
        created_by_id=getattr(actor, "id", None),
        total=sum(m["counts"] for m in matched),
        payload={
            "filename": filename,
            "session_id": session.id,
            "min_minutes": min_minutes,
            "matched": matched,
            "unmatched": unmatched,
        },
    )
    db.session.add(job)
    audit.record("attendance.meeting_report_preview", workshop, actor, filename=filename, rows=len(table))
    db.session.commit()
    return job


def confirm_report(job: Job, actor) -> Job:
    """Queue the previewed matches for recording in the background."""

    return jobs.confirm_preview(job, JobKind.MEETING_IMPORT, "attendance.meeting_report_confirm", actor)


def run_meeting_import(job_id: int) -> None:
    """Record attendance (method: meeting report) for everyone over the minimum; idempotent."""
    runner = jobs.claim(job_id)
    if runner is None:  # done, or another run holds it
        return
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None:  # deleted with its workshop since it was claimed
        return
    session = db.session.get(Session, job.payload["session_id"])
    if session is None:  # deleted since the preview: nothing to record into, and no point retrying
        job.status, job.finished_at = JobStatus.FAILED, utcnow()
        job.error = (
            "The session of this report was deleted. 此报告对应的场次已被删除。"  # read in either language
        )
        db.session.commit()
        return
    counted = [m for m in job.payload["matched"] if m["counts"]]
    for match in counted[job.done :]:
        if not jobs.still_mine(job_id, runner):
            db.session.rollback()
            return
        db.session.commit()
        registration = db.session.get(Registration, match["registration_id"])
        if registration is not None:
            checkin.redeem(
                session,
                registration=registration,
                method=CheckInMethod.MEETING_IMPORT,
                override=True,
                nonce=f"meeting-{job.id}-{registration.id}",
                scanner=checkin.Scanner(user_id=job.created_by_id, device="meeting report"),
            )
        db.session.execute(Job.__table__.update().where(Job.id == job_id).values(done=Job.done + 1))
        db.session.commit()
    job.status = JobStatus.DONE
    # Counted from the database, so that a run resumed after a crash still reports the whole job.
    recorded = db.session.scalar(
        select(func.count())
        .select_from(Attendance)
        .where(Attendance.session_id == session.id, Attendance.client_nonce.like(f"meeting-{job.id}-%"))
    )
    job.result = {"recorded": recorded}
    job.finished_at = utcnow()
    db.session.commit()


@jobs.carried_out_by(JobKind.MEETING_IMPORT)
@shared_task(name="attendance.meeting_import", ignore_result=True, acks_late=True)
def run_meeting_import_task(job_id: int) -> None:
    run_meeting_import(job_id)
