"""Telling the people registered when a published workshop's time, place or meeting link changes.

A scheduling change is compared before and after (``snapshot``, then ``settle`` in the same
transaction). When it moved a time, a place or the meeting link of a published workshop that
someone would be told about, the coordinator decides: ``settle`` without a decision undoes the
change and raises ``ChangeToTell`` (what changed, how many people would be told); with "notify"
it writes one ``ChangeNotice`` and one message per person (email, or a text to someone who gave
only a mobile) in the same transaction as the change; without, it only records the choice.

Told: everyone active who has shown their contact is theirs (confirmed, pending approval,
waiting list; not the unverified holds, not cancelled or rejected people), and only what
concerns how they attend: online people are told of the meeting link (never onsite people),
onsite people of the venue, city and rooms; everyone of the times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from ..extensions import db
from ..models import (
    ChangeNotice,
    Channel,
    EmailKind,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Workshop,
    WorkshopStatus,
)
from ..models.schedule_change import ONLINE_ONLY, ONSITE_ONLY
from . import audit, sms

TOLD = (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED)


@dataclass(frozen=True)
class SessionState:
    title_en: str
    title_zh: str
    starts_at: datetime
    ends_at: datetime
    room: str


@dataclass(frozen=True)
class Snapshot:
    """What people are told about when it changes: times, places, the meeting link."""

    starts_at: datetime
    ends_at: datetime
    venue: str
    city: str
    meeting_url: str
    sessions: dict[int, SessionState]


class ChangeToTell(Exception):
    """The change concerns people who are registered: the coordinator decides whether they are told.
    Nothing was saved."""

    def __init__(self, items: list[dict], people: int):
        super().__init__(f"{len(items)} change(s) to tell {people} people")
        self.items = items
        self.people = people

    @property
    def notice(self) -> ChangeNotice:
        """The items as a notice would show them (not saved)."""
        return ChangeNotice(items=self.items)


def snapshot(workshop: Workshop) -> Snapshot:
    return Snapshot(
        starts_at=workshop.starts_at,
        ends_at=workshop.ends_at,
        venue=workshop.venue,
        city=workshop.city,
        meeting_url=workshop.meeting_url,
        sessions={
            s.id: SessionState(s.title_en, s.title_zh, s.starts_at, s.ends_at, s.room)
            for s in workshop.sessions
        },
    )


def _span(starts_at: datetime, ends_at: datetime) -> list[str]:
    return [starts_at.astimezone(UTC).isoformat(), ends_at.astimezone(UTC).isoformat()]


def differences(before: Snapshot, after: Snapshot) -> list[dict]:
    """The changes people are told about, in the order of the agenda, as the notice stores them."""
    items: list[dict] = []
    if (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at):
        items.append(
            {
                "what": "workshop_time",
                "old": _span(before.starts_at, before.ends_at),
                "new": _span(after.starts_at, after.ends_at),
            }
        )
    for field in ("venue", "city"):
        if getattr(before, field) != getattr(after, field):
            items.append({"what": field, "old": getattr(before, field), "new": getattr(after, field)})
    if before.meeting_url != after.meeting_url:
        items.append({"what": "meeting_url"})  # the link itself only reaches people by their join link
    every = {**before.sessions, **after.sessions}
    for session_id in sorted(every, key=lambda i: (every[i].starts_at, i)):
        old, new = before.sessions.get(session_id), after.sessions.get(session_id)
        titles = {"title_en": every[session_id].title_en, "title_zh": every[session_id].title_zh}
        if new is None and old is not None:
            items.append({"what": "session_removed", **titles, "old": _span(old.starts_at, old.ends_at)})
        elif old is None and new is not None:
            items.append(
                {
                    "what": "session_added",
                    **titles,
                    "new": _span(new.starts_at, new.ends_at),
                    "room": new.room,
                }
            )
        elif old is not None and new is not None:
            if (old.starts_at, old.ends_at) != (new.starts_at, new.ends_at):
                items.append(
                    {
                        "what": "session_time",
                        **titles,
                        "old": _span(old.starts_at, old.ends_at),
                        "new": _span(new.starts_at, new.ends_at),
                    }
                )
            if old.room != new.room:
                items.append({"what": "session_room", **titles, "old": old.room, "new": new.room})
    return items


def _modes_told(items: list[dict]) -> list[str]:
    whats = {item["what"] for item in items}
    modes = []
    if whats - ONLINE_ONLY:
        modes.append("onsite")
    if whats - ONSITE_ONLY:
        modes.append("online")
    return modes


def _messages(workshop: Workshop, items: list[dict]) -> list[dict]:
    """One message per person told: an email, or a text to someone who gave only a mobile."""
    people = db.session.scalars(
        select(Registration)
        .where(
            Registration.workshop_id == workshop.id,
            Registration.status.in_(TOLD),
            Registration.mode.in_(_modes_told(items)),
        )
        .order_by(Registration.id)
    )
    rows = []
    for registration in people:
        if registration.email:
            channel, recipient = Channel.EMAIL, registration.email
        else:
            channel, recipient = Channel.SMS, sms.number_for(registration, EmailKind.WORKSHOP_CHANGED)
            if not recipient:
                continue
        rows.append(
            {
                "kind": EmailKind.WORKSHOP_CHANGED,
                "channel": channel,
                "recipient": recipient,
                "registration_id": registration.id,
                "attachments": ["calendar_update"] if channel == Channel.EMAIL else [],
            }
        )
    return rows


def settle(workshop: Workshop, before: Snapshot, actor, notify: bool | None) -> int:
    """After a scheduling change, in its transaction: tell the people registered, or not, as the
    coordinator chose; returns how many messages were written.

    Rule: a published workshop's change of time, place or meeting link that someone would be
    told about needs the coordinator's decision (``notify`` True or False); without one
    (``None``) the change is undone and ``ChangeToTell`` raised.
    """
    db.session.flush()
    db.session.expire(workshop, ["sessions"])
    items = differences(before, snapshot(workshop))
    if not items or workshop.status != WorkshopStatus.PUBLISHED:
        return 0
    rows = _messages(workshop, items)
    if not rows:
        return 0
    whats = sorted({item["what"] for item in items})
    if notify is None:
        question = ChangeToTell(items, len(rows))
        db.session.rollback()
        raise question
    if not notify:
        audit.record("workshop.change_not_told", workshop, actor, people=len(rows), changes=whats)
        return 0
    notice = ChangeNotice(workshop_id=workshop.id, actor_id=getattr(actor, "id", None), items=items)
    db.session.add(notice)
    db.session.flush()
    db.session.execute(
        OutboxMessage.__table__.insert(), [{**row, "change_notice_id": notice.id} for row in rows]
    )
    audit.record(
        "workshop.change_told", workshop, actor, notice_id=notice.id, people=len(rows), changes=whats
    )
    return len(rows)
