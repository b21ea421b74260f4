"""Online attendance from a meeting platform's report (Zoom, Zoom webinars, Tencent Meeting,
Feishu, or any table whose columns the coordinator names).

``services.meeting_files`` reads the file; this module decides, for one session:

- **who**: each row's people are matched to the workshop's confirmed registrations by email
  (any case), then by a mobile written anywhere in the row (a masked ``138****5678`` never
  matches), then by name. A name matches only when one confirmed registration has it and
  no email or phone in the row says it is someone else. Hosts, co-hosts, bots and devices
  are listed, never counted.
- **how long**: a person's minutes are the union of their join-leave intervals (rejoins and
  a second device counted once), never more than the platform's own total for those rows
  (a per-participant row's first-join-to-last-leave span covers the gaps the total leaves
  out), plus the totals of rows without times; rounded to the nearest minute and capped at
  the session's length. A leave time of ``--`` means still inside: until the session's end.
- **what to record**: everyone over the minimum, once: someone already checked in to the
  session is reported as already recorded.

The coordinator sees the preview (a Job in ``preview``), may choose the columns of a layout
that was not recognised, assign an unmatched row to a registered person or leave a match out,
then confirms; a worker records the attendances at the session's time with the minutes and
the file's name. The command line (``flask attendance import``) calls the same functions.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from celery import shared_task
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only

from ..extensions import db
from ..models import (
    Attendance,
    AttendanceMode,
    CheckInMethod,
    Job,
    JobFile,
    JobKind,
    JobStatus,
    Registration,
    RegistrationStatus,
    ScanLog,
    Session,
    Workshop,
)
from ..models.base import lock_for_update, utcnow
from . import audit, checkin, jobs
from .contacts import InvalidMobile, nfkc, normalise_mobile
from .errors import InvalidInput, NotAllowed
from .meeting_files import FIELDS, Entry, Platform, Report, Someone, label, name_key, read_report

DEFAULT_MIN_MINUTES = 30
REPORT_FILE = "meeting-report"  # the uploaded file, kept with its preview until it is recorded
# Matched-by, strongest first: a person found by email in one row and by name in another is
# reported as found by email.
MATCHED_BY = ("email", "phone", "name", "assigned")

PLATFORM_NAMES = {
    Platform.ZOOM: _l("Zoom meeting participants"),
    Platform.ZOOM_UNIQUE: _l("Zoom meeting participants (unique users, no times)"),
    Platform.ZOOM_WEBINAR: _l("Zoom webinar attendee report"),
    Platform.TENCENT_DETAIL: _l("Tencent Meeting, each join (成员参会明细)"),
    Platform.TENCENT_OVERVIEW: _l("Tencent Meeting, one row per member (成员参会概况)"),
    Platform.FEISHU: _l("Feishu meeting participants"),
    Platform.COLUMNS: _l("A table recognised by its column names"),
    Platform.MAPPED: _l("A table read with the columns you chose"),
    Platform.UNKNOWN: _l("A layout this app does not recognise"),
}
FIELD_NAMES = {
    "name": _l("Name"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "join": _l("Join time"),
    "leave": _l("Leave time"),
    "duration": _l("Duration"),
}
REASONS = {
    "host": _l("Host"),
    "cohost": _l("Co-host"),
    "bot": _l("A bot (note-taker)"),
    "device": _l("A device, not a person"),
    "namesakes": _l("Several registered people have this name"),
    "contradicted": _l("The name is registered, but with another email or phone"),
    "unknown": _l("Not registered (or not confirmed)"),
}
STATUSES = {
    "counted": _l("Will be recorded"),
    "already": _l("Already recorded"),
    "too_short": _l("No: too short"),
    "excluded": _l("Left out by you"),
}


def message(item: dict) -> str:
    """A warning or a note of a preview in the reader's language (they are stored as codes)."""
    code = item["code"]
    texts = {
        "date_mismatch": _l(
            "The report's meeting was on %(file)s, but this session is on %(session)s: check that you"
            " chose the right session and file.",
            file=item.get("file", ""),
            session=item.get("session", ""),
        ),
        "day_first": _l(
            "Dates like 01/06 were read as day/month (nothing in the file says which comes first)."
        ),
        "month_first": _l(
            "Dates like 01/06 were read as month/day (nothing in the file says which comes first)."
        ),
        "zone": _l("Times without a time zone were read in %(zone)s.", zone=item.get("zone", "")),
        "time_only": _l("Times without a date were read on %(day)s.", day=item.get("day", "")),
        "overview_only": _l(
            "This is Tencent Meeting's overview sheet only: minutes are the platform's totals, and a"
            " person's rejoins cannot be told apart."
        ),
        "by_column_names": _l("The columns were recognised by their names: check the columns below."),
    }
    if code in texts:
        return str(texts[code])
    n = int(item.get("n", 0))
    plural = {
        "already": ngettext("%(num)d person already recorded.", "%(num)d people already recorded.", n),
        "waiting_room": ngettext(
            "%(num)d row in the waiting room was not counted.",
            "%(num)d rows in the waiting room were not counted.",
            n,
        ),
        "never_joined": ngettext(
            "%(num)d registrant never joined (Attended = No).",
            "%(num)d registrants never joined (Attended = No).",
            n,
        ),
    }
    return plural.get(code, code)


# ---- whom a row stands for ---------------------------------------------------------------


@dataclass
class Registered:
    id: int
    full_name: str
    email: str
    mobile: str  # E.164, "" if none (or not a mobile)


def e164(raw: str) -> str:
    try:
        return normalise_mobile(raw)
    except InvalidMobile:
        return ""


class Directory:
    """The workshop's confirmed registrations, found by email, mobile and name."""

    def __init__(self, people: list[Registered]):
        self.people = {person.id: person for person in people}
        self.by_email = {p.email: p.id for p in people if p.email}
        self.by_phone: defaultdict[str, set[int]] = defaultdict(set)
        self.by_name: defaultdict[str, set[int]] = defaultdict(set)
        for person in people:
            if person.mobile:
                self.by_phone[person.mobile].add(person.id)

    def add_names(self, person_id: int, *names: str) -> None:
        for name in names:
            key = name_key(name)
            if key:
                self.by_name[key].add(person_id)

    @classmethod
    def of(cls, workshop_id: int) -> Directory:
        rows = db.session.execute(
            select(
                Registration.id,
                Registration.full_name,
                Registration.latin_name,
                Registration.email,
                Registration.mobile,
            ).where(
                Registration.workshop_id == workshop_id, Registration.status == RegistrationStatus.CONFIRMED
            )
        ).all()
        directory = cls(
            [Registered(r.id, r.full_name, (r.email or "").lower(), e164(r.mobile)) for r in rows]
        )
        for row in rows:
            directory.add_names(row.id, row.full_name, row.latin_name or "")
        return directory

    def find(self, someone: Someone) -> tuple[int | None, str, str]:
        """(registration id or None, matched by, why not): email, then phone, then name."""
        if someone.kind in ("host", "cohost", "bot"):
            return None, "", someone.kind
        if someone.email and someone.email in self.by_email:
            return self.by_email[someone.email], "email", ""
        owners = [self.by_phone.get(phone, set()) for phone in someone.phones]
        unique = {next(iter(found)) for found in owners if len(found) == 1}
        if len(unique) == 1:
            return unique.pop(), "phone", ""
        if someone.kind == "device":
            return None, "", "device"
        for key in someone.keys:
            found = self.by_name.get(key)
            if not found:
                continue
            if len(found) > 1:
                return None, "", "namesakes"
            person = self.people[next(iter(found))]
            if someone.email and person.email and someone.email != person.email:
                return None, "", "contradicted"
            if someone.phones and person.mobile and person.mobile not in someone.phones:
                return None, "", "contradicted"
            return person.id, "name", ""
        return None, "", "unknown"


# ---- how long ----------------------------------------------------------------------------


@dataclass
class _Stays:
    entries: list[Entry] = field(default_factory=list)
    matched_by: str = ""

    def add(self, entry: Entry, how: str) -> None:
        self.entries.append(entry)
        if not self.matched_by or MATCHED_BY.index(how) < MATCHED_BY.index(self.matched_by):
            self.matched_by = how

    @property
    def lines(self) -> list[int]:
        return sorted({entry.line for entry in self.entries})


def minutes_of(entries: list[Entry], session: Session) -> int:
    """A person's minutes in the session from their rows (see the module's docstring)."""
    intervals: list[tuple[datetime, datetime]] = []
    totals, without_times, totals_complete = 0, 0, True
    for entry in entries:
        left = max(session.ends_at, entry.joined) if entry.inside and entry.joined else entry.left
        if entry.joined is not None and left is not None and left >= entry.joined:
            intervals.append((entry.joined, left))
            if entry.seconds is None or entry.inside:
                totals_complete = False
            else:
                totals += entry.seconds
        else:
            without_times += entry.seconds or 0
    union = 0
    reach: datetime | None = None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            union += int((end - start).total_seconds())
            reach = end
        elif end > reach:
            union += int((end - reach).total_seconds())
            reach = end
    timed = min(union, totals) if intervals and totals_complete else union
    seconds = timed + without_times
    length = int((session.ends_at - session.starts_at).total_seconds()) // 60
    return min((seconds + 30) // 60, length)


def _recorded_at(entries: list[Entry], session: Session) -> datetime:
    """When the person is recorded: their first join, within the session."""
    joins = [entry.joined for entry in entries if entry.joined is not None]
    first = min(joins) if joins else session.starts_at
    return min(max(first, session.starts_at), session.ends_at).astimezone(UTC)


# ---- the preview -------------------------------------------------------------------------


def _session_days(session: Session) -> set[date]:
    zone = session.workshop.zone
    day, last = session.starts_at.astimezone(zone).date(), session.ends_at.astimezone(zone).date()
    days: set[date] = set()
    while day <= last and len(days) < 31:
        days.add(day)
        day += timedelta(days=1)
    return days


def _checked_mapping(mapping: dict | None, columns: list[str]) -> dict[str, int] | None:
    """The coordinator's columns: field -> column index (given as an index or a header's text)."""
    if mapping is None:
        return None
    labels = [label(column) for column in columns]
    chosen: dict[str, int] = {}
    for name, value in mapping.items():
        if name not in FIELDS or value in (None, ""):
            continue
        text = str(value).strip()[:200]
        # A column's number is a few ASCII digits ("²" is a digit to isdigit(), not to int()).
        if text.isascii() and text.isdigit() and len(text) <= 4 and int(text) < len(columns):
            chosen[name] = int(text)
        elif label(text) in labels:
            chosen[name] = labels.index(label(text))
        else:
            raise InvalidInput({name: _l("Choose one of the file's columns.")})
    if not {"name", "email", "phone"} & set(chosen):
        raise InvalidInput({"name": _l("Choose the column with the name, the email or the phone.")})
    if "duration" not in chosen and not {"join", "leave"} <= set(chosen):
        raise InvalidInput({"duration": _l("Choose the duration column, or both the join and leave times.")})
    return chosen


def analyse(
    session: Session,
    filename: str,
    data: bytes,
    min_minutes: int,
    mapping: dict | None = None,
    decisions: dict | None = None,
) -> dict:
    """Everything the preview shows and the import records, decided; nothing is saved.

    Raises InvalidInput with a message for the file when it cannot be read."""
    if min_minutes < 0 or min_minutes > 24 * 60:
        raise InvalidInput({"min_minutes": _l("Between 0 and 1440 minutes.")})
    workshop = session.workshop
    zone = workshop.zone
    session_day = session.starts_at.astimezone(zone).date()
    report = read_report(data, zone, session_day)
    chosen = _checked_mapping(mapping, report.columns)
    if chosen is not None:
        report = read_report(data, zone, session_day, chosen)
    decisions = {
        "assign": dict((decisions or {}).get("assign", {})),
        "exclude": list((decisions or {}).get("exclude", [])),
    }
    payload: dict = {
        "filename": filename,
        "session_id": session.id,
        "min_minutes": min_minutes,
        "platform": report.platform,
        "sheet": report.sheet,
        "header_line": report.header_line,
        "columns": report.columns,
        "fields": {name: column for name, column in report.fields.items() if name in FIELDS},
        "mapping": chosen,
        "decisions": decisions,
        "needs_mapping": report.platform == Platform.UNKNOWN,
        "meeting_day": None,
        "people": [],
        "unmatched": [],
        "warnings": [],
        "notes": [],
    }
    if report.platform == Platform.UNKNOWN:
        return payload
    directory = Directory.of(workshop.id)
    _decide(payload, report, directory, session, decisions)
    return payload


def _decide(payload: dict, report: Report, directory: Directory, session: Session, decisions: dict) -> None:
    stays: defaultdict[int, _Stays] = defaultdict(_Stays)
    assigned_keys: defaultdict[int, list[str]] = defaultdict(list)
    groups: dict[tuple[str, str, str], dict] = {}
    group_entries: dict[str, list[Entry]] = {}
    assign = {str(key): int(rid) for key, rid in decisions["assign"].items() if int(rid) in directory.people}
    for entry in report.entries:
        for part, someone in enumerate(entry.people):
            rid, how, reason = directory.find(someone)
            if rid is not None:
                stays[rid].add(entry, how)
                continue
            # A name written the same way is one person's rejoins (or one kind of bot).
            identity = (reason, " ".join(nfkc(someone.label).casefold().split()), someone.email)
            group = groups.get(identity)
            if group is None:
                key = f"{entry.line}" + (f".{part}" if part else "")
                group = groups[identity] = {
                    "key": key,
                    "name": someone.label,
                    "email": someone.email,
                    "reason": reason,
                    "lines": [],
                }
                group_entries[key] = []
            group["lines"].append(entry.line)
            group_entries[group["key"]].append(entry)
    unmatched = []
    for group in groups.values():
        rid = assign.get(group["key"])
        if rid is not None:
            for entry in group_entries[group["key"]]:
                stays[rid].add(entry, "assigned")
            assigned_keys[rid].append(group["key"])
            continue
        group["lines"] = sorted(set(group["lines"]))
        group["minutes"] = minutes_of(group_entries[group["key"]], session)
        unmatched.append(group)
    recorded = _already_recorded(session, list(stays))
    excluded = {int(rid) for rid in decisions["exclude"]}
    people = []
    for rid in sorted(stays):
        person = directory.people[rid]
        minutes = minutes_of(stays[rid].entries, session)
        if rid in excluded:
            status = "excluded"
        elif minutes < payload["min_minutes"]:
            status = "too_short"
        elif rid in recorded:
            status = "already"
        else:
            status = "counted"
        people.append(
            {
                "registration_id": rid,
                "full_name": person.full_name,
                "email": person.email,
                "mobile": person.mobile,
                "minutes": minutes,
                "matched_by": stays[rid].matched_by,
                "lines": stays[rid].lines,
                "status": status,
                "at": _recorded_at(stays[rid].entries, session).isoformat(),
                "assigned": assigned_keys.get(rid, []),
            }
        )
    payload["people"] = people
    payload["unmatched"] = sorted(unmatched, key=lambda group: min(group["lines"]))
    warnings: list[dict] = []
    zone = session.workshop.zone
    if report.meeting_start is not None:
        meeting_day = report.meeting_start.astimezone(zone).date()
        payload["meeting_day"] = meeting_day.isoformat()
        days = _session_days(session)
        if meeting_day not in days:
            warnings.append(
                {"code": "date_mismatch", "file": meeting_day.isoformat(), "session": min(days).isoformat()}
            )
    warnings.extend(note for note in report.notes if note["code"] in ("day_first", "month_first"))
    already = sum(1 for person in people if person["status"] == "already")
    if already:
        warnings.append({"code": "already", "n": already})
    payload["warnings"] = warnings
    payload["notes"] = [note for note in report.notes if note["code"] not in ("day_first", "month_first")]


def _already_recorded(session: Session, registration_ids: list[int]) -> set[int]:
    if not registration_ids:
        return set()
    return set(
        db.session.scalars(
            select(Attendance.registration_id).where(
                Attendance.session_id == session.id, Attendance.registration_id.in_(registration_ids)
            )
        )
    )


def to_record(payload: dict) -> int:
    return sum(1 for person in payload.get("people", []) if person["status"] == "counted")


def preview_report(
    workshop: Workshop,
    session: Session | None,
    filename: str,
    data: bytes,
    min_minutes: int,
    actor,
    mapping: dict | None = None,
) -> Job:
    """Read the report and keep the preview (and the file, for choosing columns) as a Job."""
    if session is None or session.workshop_id != workshop.id:
        raise InvalidInput({"session_id": _l("Choose a session of this workshop.")})
    payload = analyse(session, filename, data, min_minutes, mapping)
    job = Job(
        kind=JobKind.MEETING_IMPORT,
        status=JobStatus.PREVIEW,
        workshop_id=workshop.id,
        created_by_id=getattr(actor, "id", None),
        total=to_record(payload),
        payload=payload,
    )
    db.session.add(job)
    db.session.flush()
    db.session.add(
        JobFile(job_id=job.id, name=REPORT_FILE, content_type="application/octet-stream", data=data)
    )
    audit.record(
        "attendance.meeting_report_preview",
        workshop,
        actor,
        filename=filename,
        platform=payload["platform"],
        rows=sum(len(p["lines"]) for p in payload["people"])
        + sum(len(u["lines"]) for u in payload["unmatched"]),
    )
    db.session.commit()
    return job


def _preview_job(job: Job) -> tuple[Job, Session, bytes]:
    """The preview, locked against a second coordinator's change, with its session and file."""
    locked = db.session.get(Job, job.id, with_for_update=True, populate_existing=True)
    if locked is None or locked.kind != JobKind.MEETING_IMPORT or locked.status != JobStatus.PREVIEW:
        db.session.rollback()
        raise NotAllowed(_l("This import has already been confirmed."))
    session = db.session.get(Session, locked.payload["session_id"])
    data = db.session.scalar(
        select(JobFile.data).where(JobFile.job_id == locked.id, JobFile.name == REPORT_FILE)
    )
    if session is None or data is None:
        db.session.rollback()
        raise NotAllowed(_l("The session or the file of this preview is gone: upload the report again."))
    return locked, session, data


def _update(job: Job, session: Session, data: bytes, actor, action: str, mapping, decisions: dict) -> Job:
    try:
        payload = analyse(
            session, job.payload["filename"], data, job.payload["min_minutes"], mapping, decisions
        )
    except InvalidInput:
        db.session.rollback()
        raise
    job.payload = payload
    job.total = to_record(payload)
    audit.record(action, job, actor)
    db.session.commit()
    return job


def choose_columns(job: Job, mapping: dict, actor) -> Job:
    """Read the file again with the columns the coordinator chose; earlier assignments and
    exclusions go (the rows may mean something else now)."""
    job, session, data = _preview_job(job)
    return _update(job, session, data, actor, "attendance.meeting_report_columns", mapping, {})


def assign(job: Job, key: str, who: str, actor) -> Job:
    """Give an unmatched row (and the rows grouped with it) to a confirmed registration: ``who``
    is ``#<id> …`` (from the page's list), an email, a mobile or a name only one person has."""
    job, session, data = _preview_job(job)
    if key not in {group["key"] for group in job.payload.get("unmatched", [])}:
        db.session.rollback()
        raise InvalidInput({"key": _l("This row is no longer unmatched: reload the page.")})
    rid = _find_registration(session, who)
    decisions = job.payload.get("decisions") or {}
    assigned = {**decisions.get("assign", {}), key: rid}
    exclude = [r for r in decisions.get("exclude", []) if r != rid]
    return _update(
        job,
        session,
        data,
        actor,
        "attendance.meeting_report_assign",
        job.payload.get("mapping"),
        {"assign": assigned, "exclude": exclude},
    )


def exclude(job: Job, registration_id: int, actor, left_out: bool = True) -> Job:
    """Leave a matched person out of the import (or take them in again)."""
    job, session, data = _preview_job(job)
    decisions = job.payload.get("decisions") or {}
    excluded = [r for r in decisions.get("exclude", []) if r != registration_id]
    assigned = dict(decisions.get("assign", {}))
    if left_out:
        excluded.append(registration_id)
    action = "attendance.meeting_report_exclude" if left_out else "attendance.meeting_report_include"
    return _update(
        job,
        session,
        data,
        actor,
        action,
        job.payload.get("mapping"),
        {"assign": assigned, "exclude": excluded},
    )


def unassign(job: Job, registration_id: int, actor) -> Job:
    """Take back the rows given to a person by hand."""
    job, session, data = _preview_job(job)
    decisions = job.payload.get("decisions") or {}
    assigned = {k: r for k, r in decisions.get("assign", {}).items() if r != registration_id}
    return _update(
        job,
        session,
        data,
        actor,
        "attendance.meeting_report_unassign",
        job.payload.get("mapping"),
        {"assign": assigned, "exclude": list(decisions.get("exclude", []))},
    )


def _find_registration(session: Session, who: str) -> int:
    text = nfkc(who)
    directory = Directory.of(session.workshop_id)
    found: set[int] = set()
    if match := re.match(r"#(\d{1,12})\b", text):
        found = {int(match[1])} & set(directory.people)
    elif "@" in text:
        found = {directory.by_email[text.lower()]} if text.lower() in directory.by_email else set()
    elif e164(text):
        found = set(directory.by_phone.get(e164(text), set()))
    elif text:
        found = set(directory.by_name.get(name_key(text), set()))
    if len(found) != 1:
        raise InvalidInput(
            {
                "who": _l(
                    "Choose a confirmed participant of this workshop from the list (or type their email)."
                )
            }
        )
    return found.pop()


def assignable(job: Job) -> list[tuple[str, str]]:
    """The confirmed participants a row may be given to: (value to send, label)."""
    rows = db.session.execute(
        select(Registration)
        .options(load_only(Registration.id, Registration.full_name, Registration.email, Registration.mobile))
        .where(
            Registration.workshop_id == job.workshop_id, Registration.status == RegistrationStatus.CONFIRMED
        )
        .order_by(Registration.full_name, Registration.id)
    ).scalars()
    return [
        (f"#{r.id} {r.full_name}", " · ".join(part for part in (r.email, e164(r.mobile) or r.mobile) if part))
        for r in rows
    ]


@dataclass
class PreviewPage:
    """What the preview page shows besides the payload, in the reader's language."""

    platform: str
    warnings: list[str]
    notes: list[str]
    choices: list[tuple[str, str]]
    counts: dict[str, int]
    fields: dict[str, str]
    reasons: dict[str, str]
    statuses: dict[str, str]
    matched_by: dict[str, str]


def preview_page(job: Job) -> PreviewPage:
    payload = job.payload or {}
    counts: dict[str, int] = defaultdict(int)
    for person in payload.get("people", []):
        counts[person["status"]] += 1
    preview = job.status == JobStatus.PREVIEW
    return PreviewPage(
        platform=str(PLATFORM_NAMES.get(payload.get("platform", ""), payload.get("platform", ""))),
        warnings=[message(w) for w in payload.get("warnings", [])],
        notes=[message(n) for n in payload.get("notes", [])],
        choices=assignable(job) if preview and payload.get("unmatched") else [],
        counts=dict(counts),
        fields={name: str(text) for name, text in FIELD_NAMES.items()},
        reasons={code: str(text) for code, text in REASONS.items()},
        statuses={code: str(text) for code, text in STATUSES.items()},
        matched_by={
            "email": str(_l("Email")),
            "phone": str(_l("Phone")),
            "name": str(_l("Name")),
            "assigned": str(_l("Assigned by you")),
        },
    )


# ---- recording ---------------------------------------------------------------------------


def confirm_report(job: Job, actor) -> Job:
    """Queue the previewed people for recording in the background."""
    if job.status == JobStatus.PREVIEW and job.payload.get("needs_mapping"):
        raise NotAllowed(_l("Choose the columns first."))
    return jobs.confirm_preview(job, JobKind.MEETING_IMPORT, "attendance.meeting_report_confirm", actor)


def import_now(job: Job, actor) -> Job:
    """Record a preview at once, in this process (the command line), as a worker would."""
    if job.kind != JobKind.MEETING_IMPORT or job.status != JobStatus.PREVIEW:
        raise NotAllowed(_l("This import has already been confirmed."))
    job.status = JobStatus.QUEUED
    job.heartbeat_at = utcnow()
    audit.record("attendance.meeting_report_confirm", job, actor, rows=job.total)
    db.session.commit()
    run_meeting_import(job.id)
    refreshed = db.session.get(Job, job.id, populate_existing=True)
    return refreshed if refreshed is not None else job


def _people_to_record(payload: dict) -> list[dict]:
    if "people" in payload:
        return [person for person in payload["people"] if person["status"] == "counted"]
    # A preview made before reports kept their people (a queued job from before an upgrade).
    return [
        {"registration_id": m["registration_id"], "minutes": m["minutes"], "at": None}
        for m in payload.get("matched", [])
        if m.get("counts")
    ]


def _record(session: Session, job: Job, person: dict) -> None:
    """One person's attendance at the session, unless they have one (a door scan, a join link,
    an earlier report) or are no longer a confirmed participant."""
    rid = person["registration_id"]
    lock_for_update(db.session, Registration.__table__, Registration.id == rid)
    registration = db.session.scalars(
        select(Registration)
        .where(Registration.id == rid)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).first()
    if (
        registration is None
        or registration.workshop_id != session.workshop_id
        or registration.status != RegistrationStatus.CONFIRMED
    ):
        return
    earlier = db.session.scalar(
        select(Attendance.id).where(Attendance.registration_id == rid, Attendance.session_id == session.id)
    )
    if earlier is not None:
        return
    at = datetime.fromisoformat(person["at"]) if person.get("at") else session.starts_at
    nonce = f"meeting-{job.id}-{rid}"
    db.session.add(
        Attendance(
            registration_id=rid,
            session_id=session.id,
            checked_in_at=at,
            method=CheckInMethod.MEETING_IMPORT,
            mode=AttendanceMode.ONLINE,
            by_user_id=job.created_by_id,
            device="meeting report",
            client_nonce=nonce,
            minutes=person.get("minutes"),
            source=str(job.payload.get("filename", ""))[:255],
        )
    )
    db.session.add(
        ScanLog(
            scanned_at=at,
            workshop_id=session.workshop_id,
            session_id=session.id,
            registration_id=rid,
            reason=checkin.Reason.OK.value,
            method=CheckInMethod.MEETING_IMPORT.value,
            device="meeting report",
            client_nonce=nonce,
            by_user_id=job.created_by_id,
        )
    )
    try:
        db.session.flush()
    except IntegrityError:  # checked in at the door meanwhile: theirs stands
        db.session.rollback()


def _add_minutes_to_earlier(session: Session, payload: dict) -> None:
    """People already recorded online (they followed their join link) keep that attendance, and
    gain the report's minutes: the link says they came, only the platform says how long they
    stayed, which an online certificate rule in minutes needs. Idempotent: the longer stay wins.

    Whatever the preview said: someone "counted" may have followed their link since, and someone
    "too short" to be counted may have followed it too. Only people a coordinator excluded are left."""
    for person in payload.get("people", []):
        if person["status"] == "excluded" or not person.get("minutes"):
            continue
        db.session.execute(
            Attendance.__table__.update()
            .where(
                Attendance.registration_id == person["registration_id"],
                Attendance.session_id == session.id,
                Attendance.mode == AttendanceMode.ONLINE,
                (Attendance.minutes.is_(None)) | (Attendance.minutes < person["minutes"]),
            )
            .values(minutes=person["minutes"])
        )
    db.session.commit()


def run_meeting_import(job_id: int) -> None:
    """Record attendance (method: meeting report) for everyone the preview counted; idempotent."""
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
    people = _people_to_record(job.payload)
    for person in people[job.done :]:
        if not jobs.still_mine(job_id, runner):
            db.session.rollback()
            return
        db.session.commit()
        _record(session, job, person)
        db.session.execute(Job.__table__.update().where(Job.id == job_id).values(done=Job.done + 1))
        db.session.commit()
    _add_minutes_to_earlier(session, job.payload)
    # Counted from the database, so that a run resumed after a crash still reports the whole job.
    recorded = (
        db.session.scalar(
            select(func.count())
            .select_from(Attendance)
            .where(Attendance.session_id == session.id, Attendance.client_nonce.like(f"meeting-{job.id}-%"))
        )
        or 0
    )
    counted = sum(1 for p in job.payload.get("people", []) if p["status"] in ("counted", "already"))
    job = db.session.get(Job, job_id, populate_existing=True) or job
    job.status = JobStatus.DONE
    job.result = {"recorded": recorded, "already": max(counted - recorded, 0)}
    job.finished_at = utcnow()
    # The file is personal data: once its people are recorded, the preview's summary is enough.
    db.session.execute(delete(JobFile).where(JobFile.job_id == job_id, JobFile.name == REPORT_FILE))
    db.session.commit()


@jobs.carried_out_by(JobKind.MEETING_IMPORT)
@shared_task(name="attendance.meeting_import", ignore_result=True, acks_late=True)
def run_meeting_import_task(job_id: int) -> None:
    run_meeting_import(job_id)


# ---- what the command line prints ----------------------------------------------------------


def as_json(payload: dict) -> dict:
    """The decision as one JSON object: who is counted, who stayed too short, which rows matched
    no one, and the warnings (in the reader's language)."""

    def person(p: dict) -> dict:
        return {
            "registration_id": p["registration_id"],
            "email": p["email"],
            "mobile": p["mobile"],
            "full_name": p["full_name"],
            "minutes": p["minutes"],
            "matched_by": p["matched_by"],
        }

    people = payload.get("people", [])
    return {
        "counted": [person(p) for p in people if p["status"] in ("counted", "already")],
        "too_short": [person(p) for p in people if p["status"] == "too_short"],
        "unmatched": [
            {"lines": u["lines"], "name": u["name"], "minutes": u["minutes"]}
            for u in payload.get("unmatched", [])
        ],
        "warnings": [message(w) for w in payload.get("warnings", [])],
    }
