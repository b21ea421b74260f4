"""Staff accounts: creation, sign-in and password changes."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import Role, User, Workshop, workshop_organiser
from . import audit
from .errors import InvalidInput

MIN_PASSWORD_LENGTH = 10


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
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, role: Role | str, password: str, name: str = "", actor=None) -> User:
    """Create a staff account. Rules: valid unique email, known role, password of 10+ characters."""
    address = normalise_email(email)
    if find_user(address) is not None:
        raise InvalidInput({"email": _l("A staff account with this email already exists.")})
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput({"role": _l("Unknown role.")}) from None
    _check_password(password)
    user = User(email=address, role=role, name=name.strip())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, actor, role=role.value)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active account with this email and password, or None (same answer for both failures)."""
    user = find_user(email)
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one."""
    if not user.check_password(current):
        raise InvalidInput({"current_password": _l("Your current password is not correct.")})
    _check_password(new, "new_password")
    user.set_password(new)
    audit.record("user.password_change", user, user)
    db.session.commit()


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
