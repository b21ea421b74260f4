"""The hot queries must use their indexes even as prepared statements.

psycopg prepares a statement after a few executions and PostgreSQL then switches to a
generic plan, which cannot see bound values: a partial index whose predicate is only
matched by those values is ignored and the query scans the whole workshop instead.
"""

import re

import pytest
from sqlalchemy import select

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
        Registration.active_clause(),
    )
    plan = _generic_plan(db, statement)
    assert "uq_registration_active_email" in plan, plan


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
    found = registrations.find_active(workshop.id, "nobody@example.org")
    assert found is None
    statement = select(Registration).where(
        Registration.workshop_id == workshop.id,
        Registration.email == "x@example.org",
        Registration.active_clause(),
    )
    assert "'pending', 'confirmed', 'waitlisted'" in str(
        statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    )
