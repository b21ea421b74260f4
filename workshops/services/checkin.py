"""Check-in: one decision, in a fixed order, for every entry point (scan, search, sync, join link).

The answer is a reason code (pretix's idea): ``ok``, ``already_checked_in``,
``unknown_ticket``, ``workshop_cancelled``, ``cancelled``, ``waitlisted``, ``pending_approval``,
``wrong_workshop``, ``outside_session``, and for a volunteer's link checking people in by
name ``ticket_needed`` (not in a batch) and ``search_limit`` (not too many an hour). The order
is one table, ``DECISION_ORDER``: ``redeem`` walks it, and the roster carries it to the
scanner page, whose offline decisions walk the same table. Every attempt is written to the scan log, failed
ones too. A repeated client nonce returns the first answer again, so a retried or
re-synced scan never counts twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only, make_transient_to_detached

from ..extensions import db
from ..models import (
    Attendance,
    AttendanceMode,
    CheckInLink,
    CheckInMethod,
    Registration,
    RegistrationStatus,
    ScanLog,
    Session,
    User,
    WorkshopStatus,
    tokens,
)
from ..models.attendance import mode_of
from ..models.base import lock_for_update, utcnow
from . import audit

# Doors open before a session starts; people arrive late.
EARLY = timedelta(minutes=90)
# A phone's scan time is believed this far back: an organiser's phone offline through a long
# event may sync days later; a volunteer's link works one day or two, and its phone syncs soon.
OFFLINE_AT_MOST = timedelta(days=7)
LINK_OFFLINE_AT_MOST = timedelta(hours=12)
# A volunteer's link may check people in by name (no ticket seen) this many times an hour
# (LINK_SEARCH_CHECKINS_PER_HOUR): attendance earns certificates, and a link travels by chat.
SEARCH_WINDOW = timedelta(hours=1)


class Reason(StrEnum):
    OK = "ok"
    ALREADY_CHECKED_IN = "already_checked_in"
    UNKNOWN_TICKET = "unknown_ticket"
    CANCELLED = "cancelled"
    WORKSHOP_CANCELLED = "workshop_cancelled"
    WAITLISTED = "waitlisted"
    PENDING_APPROVAL = "pending_approval"
    WRONG_WORKSHOP = "wrong_workshop"
    OUTSIDE_SESSION = "outside_session"
    TICKET_NEEDED = "ticket_needed"
    SEARCH_LIMIT = "search_limit"

    @property
    def message(self):
        return {
            Reason.OK: _l("Checked in."),
            Reason.ALREADY_CHECKED_IN: _l("Already checked in."),
            Reason.UNKNOWN_TICKET: _l(
                "Unknown ticket: this code is not a valid ticket (or it was re-issued)."
            ),
            Reason.CANCELLED: _l("This registration was cancelled or declined."),
            Reason.WORKSHOP_CANCELLED: _l("This workshop was cancelled: nobody is checked in."),
            Reason.WAITLISTED: _l("This person is on the waiting list, not confirmed."),
            Reason.PENDING_APPROVAL: _l("This registration is still waiting for approval."),
            Reason.WRONG_WORKSHOP: _l("This ticket is for another workshop."),
            Reason.OUTSIDE_SESSION: _l("This session is not running now. Check the session, or override."),
            Reason.TICKET_NEEDED: _l(
                "A check-in link checks people in by name only online, one at a time: scan their ticket."
            ),
            Reason.SEARCH_LIMIT: _l(
                "This check-in link has checked in too many people by name in the last hour: "
                "scan their ticket, or ask an organiser."
            ),
        }[self]


@dataclass(frozen=True)
class Step:
    """One place in the decision order: the first step whose check holds gives the answer.

    ``check`` names a test of the scan that both deciders know (``CHECKS`` below, and
    ``CHECKS`` in static/js/scanner/decide.js); ``statuses`` is what the ``status`` check
    looks for.
    """

    reason: Reason
    check: str
    statuses: tuple[RegistrationStatus, ...] = ()

    def as_json(self) -> dict:
        return {
            "reason": self.reason.value,
            "check": self.check,
            "statuses": [s.value for s in self.statuses],
        }


# The decision order, written once. redeem() walks it; the roster sends it to the scanner
# page, which walks it offline on what the phone knows.
DECISION_ORDER: tuple[Step, ...] = (
    # Through a volunteer's link, a check-in by name is one person per request, online: a batch
    # of them (an offline queue, or a script) could mark a whole roster attended, no ticket seen.
    Step(Reason.TICKET_NEEDED, "link_search_in_batch"),
    Step(Reason.UNKNOWN_TICKET, "no_ticket"),
    Step(Reason.WRONG_WORKSHOP, "other_workshop"),
    Step(Reason.OK, "same_scan"),  # this very scan, sent again: its first answer
    # Cancelling a workshop cancels every active registration (scheduling.cancel_workshop), so
    # only a cancelled one asks whether its workshop was: the door says why, not just "cancelled".
    Step(Reason.WORKSHOP_CANCELLED, "workshop_cancelled", (RegistrationStatus.CANCELLED,)),
    Step(Reason.CANCELLED, "status", (RegistrationStatus.CANCELLED, RegistrationStatus.REJECTED)),
    Step(Reason.WAITLISTED, "status", (RegistrationStatus.WAITLISTED,)),
    # An unverified hold (email link not followed) is no registration yet: not admitted either.
    Step(Reason.PENDING_APPROVAL, "status", (RegistrationStatus.PENDING, RegistrationStatus.UNVERIFIED)),
    Step(Reason.ALREADY_CHECKED_IN, "checked_in"),
    Step(Reason.OUTSIDE_SESSION, "outside_window"),  # unless overridden
    Step(Reason.SEARCH_LIMIT, "link_search_limit"),  # a new check-in by name through a link, too many
    Step(Reason.OK, "otherwise"),  # a new check-in
)


def decision_order() -> list[dict]:
    """The decision order as the roster sends it."""
    return [step.as_json() for step in DECISION_ORDER]


@dataclass
class Scanner:
    """Who is scanning: a staff user or a volunteer's check-in link, and their device."""

    user_id: int | None = None
    link_id: int | None = None
    device: str = ""
    since: datetime | None = None  # a volunteer's link scans nothing before it was made

    def earliest_scan(self, now: datetime) -> datetime:
        """The earliest scan time this scanner's clock is believed for (so nobody is admitted to
        an earlier session by sending an earlier time)."""
        if self.link_id is not None:
            return max(now - LINK_OFFLINE_AT_MOST, self.since or now)
        return now - OFFLINE_AT_MOST

    def may_undo(self, attendance: Attendance) -> bool:
        """Staff take back any check-in of their workshops; a volunteer's link only its own."""
        return self.user_id is not None or (
            self.link_id is not None and attendance.by_link_id == self.link_id
        )

    @property
    def may_override(self) -> bool:
        """Admitting someone outside the session's time is the organiser's call, not a volunteer's."""
        return self.user_id is not None


@dataclass
class CheckInResult:
    reason: Reason
    registration: Registration | None = None
    attendance: Attendance | None = None

    @property
    def ok(self) -> bool:
        return self.reason == Reason.OK


# What a scan needs of the person: to decide, to find the ticket, and to show who it is.
# (Other attributes still load if a caller asks for them.)
SCAN_FIELDS = (
    Registration.id,
    Registration.workshop_id,
    Registration.status,
    Registration.ticket_token,
    Registration.full_name,
    Registration.organisation,
    Registration.mode,
)
# ... and of their check-in at this session: to spot a replayed nonce, and to say when and by whom.
EARLIER_FIELDS = (
    Attendance.id,
    Attendance.session_id,
    Attendance.client_nonce,
    Attendance.checked_in_at,
    Attendance.by_user_id,
    Attendance.by_link_id,
)

_SESSION_BY_ID = select(Session).where(Session.id == bindparam("id"))


def find_session(session_id: int) -> Session | None:
    """The session a scan is for (every scan starts here, so the statement is built once)."""
    return db.session.execute(_SESSION_BY_ID, {"id": session_id}).scalar_one_or_none()


@cache
def _lock_statement(by_id: bool):
    """The check-in's one query, built once per shape (building it costs more than running it).

    Besides the registration (by id, or by ticket selector) it brings the person's
    attendance at this session, if any.
    """
    if by_id:
        which = Registration.id == bindparam("value")
    else:  # the whole token is compared in constant time afterwards
        which = tokens.selector(Registration.ticket_token) == bindparam("value")
    return (
        select(Registration, Attendance)
        .options(load_only(*SCAN_FIELDS), load_only(*EARLIER_FIELDS))
        .outerjoin(
            Attendance,
            (Attendance.registration_id == Registration.id)
            & (Attendance.session_id == bindparam("session_id")),
        )
        .where(which)
        .with_for_update(
            of=Registration.__table__, key_share=True
        )  # the outer-joined side need not be locked
        .execution_options(populate_existing=True)
    )


def _locked_registration(
    session: Session, registration_id: int | None = None, token: str = ""
) -> tuple[Registration | None, Attendance | None]:
    """Find and lock the person's row, with their attendance at this session, in one statement."""
    value: int | str
    if registration_id:
        value, found_by = registration_id, Registration.id == registration_id
    elif tokens.well_formed(token):
        value, found_by = token[: tokens.SELECTOR], tokens.matches(Registration.ticket_token, token)
    else:
        return None, None
    lock_for_update(db.session, Registration.__table__, found_by)
    rows = db.session.execute(
        _lock_statement(bool(registration_id)), {"value": value, "session_id": session.id}
    ).all()
    found = (
        rows[0][0] if registration_id and rows else tokens.pick({r for r, _a in rows}, "ticket_token", token)
    )
    if found is None:
        return None, None
    return found, next((attendance for person, attendance in rows if person is found), None)


def admission_window(session: Session) -> tuple[datetime, datetime]:
    """From when until when the door admits people to a session without an override."""
    return session.starts_at - EARLY, session.ends_at


def session_running(session: Session, moment: datetime) -> bool:
    opens, closes = admission_window(session)
    return opens <= moment <= closes


def redeem(
    session: Session,
    *,
    token: str = "",
    registration: Registration | None = None,
    scanner: Scanner | None = None,
    method: CheckInMethod = CheckInMethod.QR,
    nonce: str = "",
    scanned_at: datetime | None = None,
    override: bool = False,
    batch: bool = False,
    commit: bool = True,
) -> CheckInResult:
    """Check a ticket (or a registration found by search) into a session.

    The person's row is locked, then DECISION_ORDER decides (see ``_decide``). ``batch``: the
    scan comes with others, from a phone's offline queue (``/checkin/sync``). ``commit=False``:
    the check-in is part of the caller's transaction (a walk-in registered and let in at once),
    which commits; a race lost to another phone is then undone to a savepoint, not the caller's work.
    """
    scanner = scanner or Scanner()
    if registration is not None and scanner.link_id is not None:
        method = CheckInMethod.SEARCH  # no ticket seen: by name, whatever the phone calls it
    now = utcnow()
    # A device's time is believed between the earliest this scanner could have scanned and now.
    # Outside that (a phone whose clock reset, a clock ahead, a backdated scan) the scan counts
    # when it reached us.
    moment = scanned_at if scanned_at and scanner.earliest_scan(now) <= scanned_at <= now else now
    nonce = (nonce or "")[:64]
    registration_id = registration.id if registration is not None else None
    how = _How(scanner, method, batch, now)
    new = False  # a check-in written now (not an answer, not a replay's first answer)
    for attempt in (1, 2):  # once more if a racing scan of the same person won
        earlier = None
        if registration_id:
            registration, earlier = _locked_registration(session, registration_id=registration_id)
        elif token:
            registration, earlier = _locked_registration(session, token=token)
        result = _decide(session, registration, earlier, how, nonce, moment, override)
        attendance = result.attendance
        if not result.ok or attendance is None or attendance.id is not None:
            break  # answered without a new check-in
        # The retry finds the person by id: a rollback expires the object.
        registration_id = attendance.registration_id
        try:
            if commit:
                _record(attendance)
            else:
                with db.session.begin_nested():
                    _record(attendance)
            new = True
            break
        except IntegrityError:
            # Two scans of the same person raced and the other one won. (A scan that waited for the
            # lock decided on the attendance it saw before waiting: PostgreSQL does not re-read
            # outer-joined rows after a lock.) Decide once more, now seeing the winner's check-in;
            # the same nonce finds its first answer. A second conflict would be a bug: let it raise.
            if commit:
                db.session.rollback()
            if attempt == 2:
                raise
    if new and batch and method == CheckInMethod.SEARCH and result.attendance is not None:
        # Staff may still send check-ins by name from an offline queue: they answer for them, so
        # each is in the audit log (a volunteer's link may not: TICKET_NEEDED).
        audit.record(
            "checkin.search_offline",
            result.attendance,
            db.session.get(User, scanner.user_id) if scanner.user_id else None,
            session_id=session.id,
            registration_id=result.attendance.registration_id,
            device=scanner.device[:100],
        )
    # A plain insert: the log is only ever written here and read in bulk, so it skips the unit of work.
    db.session.execute(
        ScanLog.__table__.insert(),
        {
            "scanned_at": moment,
            "received_at": now,
            "workshop_id": session.workshop_id,
            "session_id": session.id,
            "registration_id": result.registration.id if result.registration else None,
            "token_hint": (token or "")[:8],
            "reason": result.reason.value,
            "method": method.value,
            "device": scanner.device[:100],
            "client_nonce": nonce,
            "offline": moment < now - timedelta(seconds=30),
            "by_user_id": scanner.user_id,
            "by_link_id": scanner.link_id,
        },
    )
    if commit:
        db.session.commit()
    return result


@dataclass(frozen=True, slots=True)
class _How:
    """How a scan came: who scans, by which method, alone or in a batch, and when it arrived."""

    scanner: Scanner
    method: CheckInMethod
    batch: bool
    now: datetime

    @property
    def link_search(self) -> bool:
        """A check-in by name (no ticket seen) through a volunteer's link."""
        return self.method == CheckInMethod.SEARCH and self.scanner.link_id is not None


@dataclass(frozen=True, slots=True)
class _Scan:
    """What a decision looks at: the person's row (locked, or None) and their check-in at this
    session (or None)."""

    session: Session
    registration: Registration | None
    earlier: Attendance | None
    nonce: str
    moment: datetime
    override: bool
    how: _How

    @property
    def person(self) -> Registration:
        """The registration, for the checks after ``no_ticket`` (which answers a scan without one)."""
        if self.registration is None:
            raise LookupError("a check that needs a registration ran before no_ticket")
        return self.registration


# Each check of DECISION_ORDER, by name. A check runs only once the checks before it did not
# hold (so from other_workshop on there is a registration).
CHECKS: dict[str, Callable[[_Scan, Step], bool]] = {
    "link_search_in_batch": lambda scan, step: scan.how.batch and scan.how.link_search,
    "no_ticket": lambda scan, step: scan.registration is None,
    "other_workshop": lambda scan, step: scan.person.workshop_id != scan.session.workshop_id,
    "same_scan": lambda scan, step: (
        scan.earlier is not None and bool(scan.nonce) and scan.earlier.client_nonce == scan.nonce
    ),
    "workshop_cancelled": lambda scan, step: (
        scan.person.status in step.statuses and scan.session.workshop.status == WorkshopStatus.CANCELLED
    ),
    "status": lambda scan, step: scan.person.status in step.statuses,
    "checked_in": lambda scan, step: scan.earlier is not None,
    "outside_window": lambda scan, step: not scan.override and not session_running(scan.session, scan.moment),
    "link_search_limit": lambda scan, step: scan.how.link_search and _link_search_limit_reached(scan),
    "otherwise": lambda scan, step: True,
}
# The answers that carry the person's check-in at this session (when and by whom).
_WITH_ATTENDANCE = (Reason.OK, Reason.ALREADY_CHECKED_IN)


def search_checkins_by_link(link_id: int, workshop_id: int, now: datetime) -> int:
    """People this link checked in by name in the last hour. The scan log counts them: a check-in
    undone still counts (undoing does not buy another), a scan sent again does not."""
    counted = db.session.scalar(
        select(func.count(ScanLog.registration_id.distinct())).where(
            ScanLog.workshop_id == workshop_id,  # indexed
            ScanLog.by_link_id == link_id,
            ScanLog.method == CheckInMethod.SEARCH.value,
            ScanLog.reason == Reason.OK.value,
            ScanLog.received_at >= now - SEARCH_WINDOW,
        )
    )
    return counted or 0


def _link_search_limit_reached(scan: _Scan) -> bool:
    link_id = scan.how.scanner.link_id
    assert link_id is not None  # only asked of a link's check-in by name
    done = search_checkins_by_link(link_id, scan.session.workshop_id, scan.how.now)
    return done >= current_app.config["LINK_SEARCH_CHECKINS_PER_HOUR"]


def _decide(session, registration, earlier, how: _How, nonce, moment, override) -> CheckInResult:
    """The decision itself: the first step of DECISION_ORDER whose check holds.

    ``registration`` is already locked (or None), ``earlier`` its check-in at this session.
    """
    scanner, method = how.scanner, how.method
    scan = _Scan(session, registration, earlier, nonce, moment, override, how)
    step = next(step for step in DECISION_ORDER if CHECKS[step.check](scan, step))
    if step.check != "otherwise":
        return CheckInResult(step.reason, registration, earlier if step.reason in _WITH_ATTENDANCE else None)
    attendance = Attendance(
        registration_id=scan.person.id,
        session_id=session.id,
        checked_in_at=moment,
        method=method,
        mode=mode_of(method, scan.person.mode),
        by_user_id=scanner.user_id,
        by_link_id=scanner.link_id,
        device=scanner.device[:100],
        client_nonce=nonce or None,
    )
    return CheckInResult(Reason.OK, registration, attendance)


_INSERT_ATTENDANCE = Attendance.__table__.insert().returning(Attendance.__table__.c.id)


def _record(attendance: Attendance) -> None:
    """Write a new check-in with one plain INSERT, then keep the object as if it had been loaded.

    The unit of work (``session.add`` then flush) cost more than the INSERT itself, on the
    path every person at the door takes. Every column is set, so nothing is left to reload.
    """
    values = {
        column.key: getattr(attendance, column.key)
        for column in Attendance.__table__.columns
        if column.key != "id"
    }
    attendance.id = db.session.execute(_INSERT_ATTENDANCE, values).scalar_one()
    make_transient_to_detached(attendance)
    db.session.add(attendance)


# The scan log's entry for a check-in taken back (not an answer at the door, so not a Reason).
UNDONE = "undone"


def undo(attendance: Attendance, scanner: Scanner) -> None:
    """Take back a check-in made by mistake (the scan log keeps the history)."""
    db.session.add(
        ScanLog(
            workshop_id=attendance.session.workshop_id,
            session_id=attendance.session_id,
            registration_id=attendance.registration_id,
            reason=UNDONE,
            method=attendance.method.value,
            device=scanner.device[:100],
            by_user_id=scanner.user_id,
            by_link_id=scanner.link_id,
        )
    )
    db.session.delete(attendance)
    db.session.commit()


def counters(session: Session) -> dict[str, dict[str, int]]:
    """Checked in and expected (confirmed) per mode for a session."""
    expected: dict[str, int] = dict(
        db.session.execute(
            select(Registration.mode, func.count())
            .where(
                Registration.workshop_id == session.workshop_id,
                Registration.status == RegistrationStatus.CONFIRMED,
            )
            .group_by(Registration.mode)
        ).all()
    )
    present: dict[str, int] = dict(
        db.session.execute(
            select(Registration.mode, func.count())
            .join(Attendance, Attendance.registration_id == Registration.id)
            .where(Attendance.session_id == session.id)
            .group_by(Registration.mode)
        ).all()
    )
    modes = session.workshop.modes
    return {
        str(mode): {"checked_in": present.get(mode, 0), "expected": expected.get(mode, 0)} for mode in modes
    }


def ticket_digest(token: str) -> str:
    """The roster carries SHA-256 digests, not tickets: a lost phone leaks no usable codes."""
    return hashlib.sha256(token.encode()).hexdigest()


def roster(session: Session) -> list[dict]:
    """What a scanner needs offline to recognise tickets and show a name, and no more.

    Cancelled and declined people are in it too, so that offline the door still says why
    their ticket does not admit them instead of calling it unknown."""
    rows = db.session.execute(
        select(
            Registration.id,
            Registration.ticket_token,
            Registration.full_name,
            Registration.organisation,
            Registration.mode,
            Registration.status,
            Attendance.checked_in_at,
        )
        .outerjoin(
            Attendance,
            (Attendance.registration_id == Registration.id) & (Attendance.session_id == session.id),
        )
        .where(Registration.workshop_id == session.workshop_id)
        .order_by(Registration.id)
    )
    return [
        {
            "id": rid,
            "ticket_sha256": ticket_digest(token),
            "name": name,
            "organisation": org,
            "mode": str(mode),
            "status": str(status),
            "checked_in_at": at.isoformat() if at else None,
        }
        for rid, token, name, org, mode, status, at in rows
    ]


@dataclass
class LoggedScan:
    """One line of a session's scan log, as the organisers read it."""

    scanned_at: datetime
    received_at: datetime
    reason: str
    method: str
    device: str
    offline: bool
    person: str | None
    by: str | None


def scan_log(session: Session, limit: int = 1000) -> list[LoggedScan]:
    """The session's scans, newest first, failed ones and undone check-ins too: who was let in
    by which device and when, and what a second phone answered for the same person."""
    rows = db.session.execute(
        select(
            ScanLog.scanned_at,
            ScanLog.received_at,
            ScanLog.reason,
            ScanLog.method,
            ScanLog.device,
            ScanLog.offline,
            Registration.full_name,
            User.name.label("user_name"),
            User.email.label("user_email"),
            CheckInLink.label.label("link_label"),
            ScanLog.by_link_id.label("link_id"),
        )
        .outerjoin(Registration, Registration.id == ScanLog.registration_id)
        .outerjoin(User, User.id == ScanLog.by_user_id)
        .outerjoin(CheckInLink, CheckInLink.id == ScanLog.by_link_id)
        .where(
            ScanLog.workshop_id == session.workshop_id, ScanLog.session_id == session.id
        )  # workshop: indexed
        .order_by(ScanLog.scanned_at.desc(), ScanLog.id.desc())
        .limit(limit)
    )
    return [
        LoggedScan(
            row.scanned_at,
            row.received_at,
            row.reason,
            row.method,
            row.device,
            row.offline,
            # someone of another workshop stays anonymous here too
            None if row.reason == Reason.WRONG_WORKSHOP else row.full_name,
            row.user_name
            or row.user_email
            or (row.link_label or (str(_l("a volunteer")) if row.link_id else None)),
        )
        for row in rows
    ]


def reason_label(reason: str) -> str:
    """A scan log's reason in words (an undone check-in is logged as ``undone``)."""
    if reason == UNDONE:
        return str(_l("Check-in undone."))
    try:
        return str(Reason(reason).message)
    except ValueError:
        return reason


JOIN_EARLY = timedelta(minutes=30)


def current_session_for_joining(workshop, moment: datetime) -> Session | None:
    """The session an online participant joins now (opened 30 minutes before it starts)."""
    for session in workshop.sessions:
        if session.starts_at - JOIN_EARLY <= moment <= session.ends_at:
            return session
    return None


def next_session(workshop, moment: datetime) -> Session | None:
    return next((s for s in workshop.sessions if s.starts_at > moment), None)


@dataclass
class JoinAnswer:
    """What opening a join link did: ``problem`` is None when the person goes on to the meeting."""

    registration: Registration | None
    problem: str | None = None  # workshop_cancelled, not_confirmed, onsite, no_link, not_running
    session: Session | None = None
    result: CheckInResult | None = None


def join(token: str) -> JoinAnswer:
    """An online participant opens their personal join link: attendance is recorded if a session runs.

    Only a confirmed online participant is counted, and only when there is a meeting to go to:
    the link carries the same token as the QR ticket, so an onsite person must not earn
    attendance (and a certificate) by opening it at home.
    """
    registration = None
    if tokens.well_formed(token):
        candidates = db.session.scalars(
            select(Registration).where(tokens.matches(Registration.ticket_token, token))
        )
        registration = tokens.pick(candidates, "ticket_token", token)
    if registration is None:
        return JoinAnswer(None)
    if registration.workshop.status == WorkshopStatus.CANCELLED:
        return JoinAnswer(registration, "workshop_cancelled")
    if registration.status != RegistrationStatus.CONFIRMED:
        return JoinAnswer(registration, "not_confirmed")
    if registration.mode != AttendanceMode.ONLINE:
        return JoinAnswer(registration, "onsite")
    if not registration.workshop.meeting_url:
        return JoinAnswer(registration, "no_link")
    session = current_session_for_joining(registration.workshop, utcnow())
    if session is None:
        return JoinAnswer(registration, "not_running")
    result = redeem(
        session,
        registration=registration,
        method=CheckInMethod.JOIN_LINK,
        scanner=Scanner(device="join-link"),
        override=True,
    )
    return JoinAnswer(registration, None, session, result)
