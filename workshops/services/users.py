"""Staff accounts: creation, sign-in and sign-out, password changes, disabling."""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Programme, Role, SignInThrottle, User, Workshop, WorkshopStatus, workshop_organiser
from ..models.base import lock_for_update, utcnow
from ..models.user import LIMITABLE, check_password_of_nobody
from . import audit
from .errors import InvalidInput, NotAllowed

MIN_PASSWORD_LENGTH = 10

# Per-account backoff, for every address typed (an unknown one is treated the same, or the
# refusal would tell which staff accounts exist). The per-address limit of the sign-in page
# (LOGIN_RATE_LIMIT) stays in front of it.
SIGN_IN_FAILURES = 5  # failures within SIGN_IN_WINDOW that lock the address
SIGN_IN_WINDOW = timedelta(minutes=15)
FIRST_LOCKOUT = timedelta(minutes=1)  # then twice as long each time, up to LONGEST_LOCKOUT
LONGEST_LOCKOUT = timedelta(hours=1)
LOCKOUTS_FORGOTTEN_AFTER = timedelta(days=1)  # quiet this long, the address starts afresh

WRONG_EMAIL_OR_PASSWORD = _l("Wrong email or password.")


class SignInRefused(NotAllowed):
    """The email and password open nothing (wrong, unknown, disabled or locked: one message each
    for all accounts, so that the answer tells nothing about whether one exists)."""


def normalise_email(email: str) -> str:
    """Lower-cased, syntax-checked address; raises InvalidInput on nonsense."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvalidInput({"email": _l("Enter a valid email address.")}) from None


def _check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput({field: _l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)})


def find_user(email: str) -> User | None:
    return db.session.scalar(
        select(User)
        .where(func.lower(User.email) == email.strip().lower())
        .execution_options(populate_existing=True)
    )


def create_user(
    email: str,
    role: Role | str,
    password: str,
    name: str = "",
    actor=None,
    programmes: list[Programme] | tuple[Programme, ...] = (),
) -> User:
    """Create a staff account. Rules: valid unique email, known role, password of 10+ characters;
    only coordinators and report readers are limited to ``programmes`` (none: every one)."""
    address = normalise_email(email)
    if find_user(address) is not None:
        raise InvalidInput({"email": _l("A staff account with this email already exists.")})
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput({"role": _l("Unknown role.")}) from None
    _check_password(password)
    _check_limits(role, programmes)
    user = User(email=address, role=role, name=name.strip())
    user.set_password(password)
    user.programmes = list(programmes)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, actor, role=role.value, programmes=sorted(p.code for p in programmes))
    db.session.commit()
    return user


def _check_limits(role: Role, programmes) -> None:
    if programmes and role not in LIMITABLE:
        raise InvalidInput(
            {"programmes": _l("Only coordinators and report readers can be limited to programmes.")}
        )


def set_programme_limits(user: User, programmes: list[Programme], actor) -> None:
    """Limit a coordinator or report reader to these programmes (none: every programme).

    The account's open sessions see the new limits at their next request (they are read with
    the account on every request)."""
    _check_limits(user.role, programmes)
    before = sorted(p.code for p in user.programmes)
    after = sorted({p.code for p in programmes})
    if before == after:
        return
    user.programmes = list({p.id: p for p in programmes}.values())
    audit.record("user.programmes", user, actor, before=before, after=after)
    db.session.commit()


def programmes_seen_by(user: User) -> list[Programme]:
    """The programmes whose reports (and workshops) this account sees, by code."""
    query = select(Programme).order_by(Programme.code)
    if user.programme_limits:
        query = query.where(Programme.id.in_(user.programme_limits))
    return list(db.session.scalars(query))


def workshops_seen_by(user: User) -> list[Workshop]:
    """The dashboard's workshops, newest first: every one for admins and unrestricted
    coordinators and report readers, their programmes' for limited ones, an organiser's own."""
    if user.role == Role.ORGANISER:
        return sorted(user.workshops, key=lambda w: w.starts_at, reverse=True)
    query = select(Workshop).order_by(Workshop.starts_at.desc())
    if user.role == Role.REPORTER:  # a ministry or a donor reads what was announced, not plans
        query = query.where(Workshop.status != WorkshopStatus.DRAFT)
    if user.programme_limits:
        query = query.where(Workshop.programme_id.in_(user.programme_limits))
    return list(db.session.scalars(query))


def sign_in_key(email: str) -> str:
    """What the throttle and the audit log know of a typed address: an HMAC keyed with SECRET_KEY
    (a plain hash of an address is reversed with a list of addresses), so that one address's
    attempts are still counted and grouped together. An address typed at sign-in that opens no
    account may be someone's private one, or even a password typed in the wrong field.

    Rows keyed the earlier way (an unsalted SHA-256: the same 64 hex characters, so no migration)
    are simply never matched again and go with the quiet-day cleanup of ``_count_failure``; a lock
    running at the upgrade ends early (it would have lasted an hour at most).
    """
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"sign-in:" + email.strip().lower().encode(), hashlib.sha256).hexdigest()


def _lockout_length(lockouts: int) -> timedelta:
    return min(FIRST_LOCKOUT * 2 ** min(lockouts - 1, 20), LONGEST_LOCKOUT)


def _locked_message(until: datetime, now: datetime):
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return _l(
        "Too many failed sign-ins with this email address. Try again in %(minutes)d min.", minutes=minutes
    )


def authenticate(email: str, password: str) -> User:
    """The active account with this email and password; raises SignInRefused otherwise.

    Whatever the reason, an unknown address takes as long as a known one (a password is
    checked either way) and gets the same message, and both count towards the lockout.
    Every answer is in the audit log, the password never.
    """
    typed = email.strip()[:254]
    key = sign_in_key(typed)
    now = utcnow()
    locked_until = _locked_until(key, now)
    if locked_until is not None:
        raise SignInRefused(_locked_message(locked_until, now))
    user = find_user(typed)
    if user is None:
        check_password_of_nobody(password)
        reason = "unknown account"
    elif not user.check_password(password):
        reason = "wrong password"
    elif not user.active:
        reason = "account disabled"
    else:
        db.session.execute(delete(SignInThrottle).where(SignInThrottle.email_hash == key))
        audit.record("user.sign_in", user, user)
        db.session.commit()
        return user
    locked_until = _count_failure(key, now)
    # The account is the event's target; an address that opens none is kept only as its key.
    typed_as = {"email": typed} if user is not None else {"email_key": key}
    audit.record("user.sign_in_failed", user, None, **typed_as, reason=reason)
    if locked_until is not None:
        audit.record("user.sign_in_locked", user, None, **typed_as, until=locked_until.isoformat())
    db.session.commit()
    raise SignInRefused(WRONG_EMAIL_OR_PASSWORD)


def _locked_until(key: str, now: datetime) -> datetime | None:
    """Until when this address is locked, or None."""
    throttle = db.session.scalar(
        select(SignInThrottle)
        .where(SignInThrottle.email_hash == key)
        .execution_options(populate_existing=True)
    )
    if throttle is not None and throttle.locked_until is not None and now < throttle.locked_until:
        return throttle.locked_until
    return None


def _count_failure(key: str, now: datetime) -> datetime | None:
    """One more failure for this address; when it locks the address, until when."""
    # Addresses quiet for a day are forgotten, their lockouts with them (none is locked then: a
    # lock ends at most an hour after its window starts); made-up addresses do not pile up.
    db.session.execute(
        delete(SignInThrottle).where(SignInThrottle.window_started_at < now - LOCKOUTS_FORGOTTEN_AFTER)
    )
    # Every app server may count for the same address at once: make sure the row exists, then
    # count on it locked.
    values = dict(email_hash=key, failures=0, window_started_at=now, lockouts=0)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(postgresql.insert(SignInThrottle).values(values).on_conflict_do_nothing())
    else:
        db.session.execute(sqlite.insert(SignInThrottle).values(values).on_conflict_do_nothing())
    lock_for_update(db.session, SignInThrottle.__table__, SignInThrottle.email_hash == key)
    throttle = db.session.scalars(
        select(SignInThrottle)
        .where(SignInThrottle.email_hash == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if now - throttle.window_started_at > SIGN_IN_WINDOW:
        throttle.failures, throttle.window_started_at = 0, now
    throttle.failures += 1
    if throttle.failures < SIGN_IN_FAILURES:
        return None
    throttle.lockouts += 1
    throttle.locked_until = now + _lockout_length(throttle.lockouts)
    throttle.failures, throttle.window_started_at = 0, now
    return throttle.locked_until


def sign_out(user: User) -> None:
    """The account signs out: its sessions end everywhere, copied cookies with them."""
    user.end_sessions()
    audit.record("user.sign_out", user, user)
    db.session.commit()


def sign_out_everywhere(user: User) -> None:
    """Asked for on the account page (a lost phone, a shared computer)."""
    user.end_sessions()
    audit.record("user.sign_out_everywhere", user, user)
    db.session.commit()


def set_disabled(user: User, disabled: bool, actor: User | None = None) -> None:
    """Disable an account (it cannot sign in, its sessions end at once) or enable it again."""
    if disabled and actor is not None and actor.id == user.id:
        raise NotAllowed(_l("You cannot disable your own account."))
    if user.active == (not disabled):
        return
    user.active = not disabled
    if disabled:
        user.end_sessions()
    audit.record("user.disable" if disabled else "user.enable", user, actor)
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; every session of the account ends
    (the caller signs the current one in again with the new token)."""
    # A session left open on a shared computer must not let its finder guess the password (and
    # so keep the account after it signs out): wrong current passwords count towards the same
    # lock as failed sign-ins with the account's address.
    key, now = sign_in_key(user.email), utcnow()
    locked_until = _locked_until(key, now)
    if locked_until is not None:
        minutes = max(1, math.ceil((locked_until - now).total_seconds() / 60))
        message = _l("Too many wrong passwords. Try again in %(minutes)d min.", minutes=minutes)
        raise InvalidInput({"current_password": message})
    if not user.check_password(current):
        _count_failure(key, now)
        audit.record("user.password_change_failed", user, user)
        db.session.commit()
        raise InvalidInput({"current_password": _l("Your current password is not correct.")})
    _check_password(new, "new_password")
    user.set_password(new)
    user.end_sessions()
    audit.record("user.password_change", user, user)
    db.session.commit()


def staff_accounts() -> list[User]:
    """Every staff account, for the admins' page."""
    return list(db.session.scalars(select(User).order_by(User.email)))


def organisers_of(workshop: Workshop) -> list[User]:
    """The organisers assigned to this workshop, in one query (not every organiser's workshops)."""
    return list(
        db.session.scalars(
            select(User)
            .join(workshop_organiser, workshop_organiser.c.user_id == User.id)
            .where(workshop_organiser.c.workshop_id == workshop.id)
            .order_by(User.email)
        )
    )


def assign_organisers(workshop: Workshop, users: list[User], actor) -> None:
    """Set who may check people in at this workshop (organisers only)."""
    if any(u.role != Role.ORGANISER for u in users):
        raise InvalidInput({"organisers": _l("Only organiser accounts can be assigned to a workshop.")})
    assigned = set(organisers_of(workshop))
    for user in set(users) - assigned:
        user.workshops.append(workshop)
    for user in assigned - set(users):
        user.workshops.remove(workshop)
    audit.record("workshop.organisers", workshop, actor, organisers=[u.email for u in users])
    db.session.commit()
