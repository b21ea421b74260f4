"""Operator commands."""

from datetime import UTC, datetime

from workshops.models import Programme, Registration, Role, User, Workshop


def test_users_create_makes_a_hashed_account(runner, db):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Coord@Example.org",
            "--role",
            "coordinator",
            "--password",
            "long enough password",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(db.select(User)).one()
    assert user.email == "coord@example.org" and user.role == Role.COORDINATOR
    assert user.check_password("long enough password")


def test_users_create_explains_bad_input(runner, db):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "not-an-email",
            "--role",
            "admin",
            "--password",
            "long enough password",
        ]
    )
    assert result.exit_code != 0 and "Enter a valid email address." in result.output
    result = runner.invoke(
        args=["users", "create", "--email", "a@example.org", "--role", "admin", "--password", "short"]
    )
    assert "Use at least 10 characters." in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_seed_demo_loads_the_three_real_events_and_a_rehearsal_once(runner, db):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "coordinator@example.org" in result.output and "password:" in result.output
    workshops = db.session.scalars(db.select(Workshop).order_by(Workshop.starts_at)).all()
    assert {w.format.value for w in workshops} == {"online", "hybrid", "onsite"}
    from workshops.services import checkin

    now = datetime.now(UTC)  # the rehearsal's door is open now: the scanner can be tried
    rehearsal = next(w for w in workshops if w.title_en.startswith("Check-in rehearsal"))
    assert checkin.session_running(rehearsal.sessions[0], now)
    assert (
        db.session.scalar(
            db.select(db.func.count()).select_from(Registration).filter_by(workshop_id=rehearsal.id)
        )
        == 12
    )
    hybrid = next(w for w in workshops if w.format.value == "hybrid")
    assert len(hybrid.sessions) == 2 and hybrid.city == "重庆"
    assert db.session.scalars(db.select(Programme)).one().code == "QA"
    names = [r.full_name for r in db.session.scalars(db.select(Registration))]
    assert any("\u4e00" <= ch <= "\u9fff" for name in names for ch in name)
    assert any(name.isascii() for name in names)

    again = runner.invoke(args=["seed-demo"])
    assert "already has workshops" in again.output
    assert db.session.scalar(db.select(db.func.count()).select_from(Workshop)) == 4
