"""The hot queries must use their indexes even as prepared statements.

psycopg prepares a statement after a few executions and PostgreSQL then switches to a
generic plan, which cannot see bound values: a partial index whose predicate is only
matched by those values is ignored and the query scans the whole workshop instead.
"""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import literal_column, select

from workshops.models import Registration, RegistrationStatus
from workshops.services import registration as registrations


def _generic_plan(db, statement) -> str:
    """EXPLAIN the statement as PostgreSQL runs it once prepared: a generic plan, values unseen."""
    import psycopg

    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", str(compiled))))
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", str(compiled))
    values = [getattr(params[name], "value", params[name]) for name in names]
    with db.engine.connect() as conn:
        cursor = psycopg.ClientCursor(conn.connection.driver_connection)
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute("PREPARE plan_probe AS " + numbered)
        cursor.execute("EXPLAIN EXECUTE plan_probe(" + ", ".join(["%s"] * len(values)) + ")", values)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE plan_probe")
        conn.rollback()
    return plan


@pytest.fixture
def postgres_only(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("plans are PostgreSQL's")


def test_duplicate_check_uses_the_partial_unique_index(db, postgres_only, make_workshop):
    workshop = make_workshop()
    statement = select(Registration.id).where(
        Registration.workshop_id == workshop.id,
        Registration.email == "a@example.org",
        Registration.email != literal_column("''"),
        Registration.active_clause(),
    )
    plan = _generic_plan(db, statement)
    assert "uq_registration_active_email" in plan, plan


def test_the_duplicate_check_by_email_or_mobile_uses_both_indexes(db, postgres_only, make_workshop):
    """The check every registration makes: same email or same mobile, both partial indexes, at a
    workshop big enough that scanning its registrations would cost more than the indexes."""
    workshop = make_workshop()
    db.session.execute(
        sa.insert(Registration),
        [
            dict(
                workshop_id=workshop.id,
                full_name=f"P{n}",
                email=f"p{n}@example.org" if n % 3 else "",
                mobile=f"+86139{n:08d}" if n % 2 else "",
                mode="onsite",
                status=RegistrationStatus.CONFIRMED,
            )
            for n in range(1, 3000)
        ],
    )
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE registration"))
    statement = select(Registration.id).where(
        Registration.workshop_id == workshop.id,
        Registration.active_clause(),
        Registration.same_contact_clause("a@example.org", "+8613800000000"),
    )
    plan = _generic_plan(db, statement)
    assert "uq_registration_active_email" in plan and "uq_registration_active_mobile" in plan, plan


def test_the_same_query_with_bound_statuses_would_not(db, postgres_only, make_workshop):
    # The reason active_clause exists: with the statuses as parameters the index is ignored.
    workshop = make_workshop()
    statement = select(Registration.id).where(
        Registration.workshop_id == workshop.id,
        Registration.email == "a@example.org",
        Registration.status.in_(RegistrationStatus.active()),
    )
    plan = _generic_plan(db, statement)
    assert "uq_registration_active_email" not in plan, plan


def test_registration_lookups_use_active_clause(db, postgres_only, make_workshop):
    workshop = make_workshop()
    found = registrations.find_active(workshop.id, registrations.Contact(email="nobody@example.org"))
    assert found is None
    statement = select(Registration).where(
        Registration.workshop_id == workshop.id,
        Registration.email == "x@example.org",
        Registration.active_clause(),
    )
    assert "'pending', 'confirmed', 'waitlisted'" in str(
        statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    )
