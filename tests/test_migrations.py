"""The migrations build exactly the schema the models describe."""

import warnings

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from workshops.extensions import db


def _expression_indexes():
    return {
        index.name
        for table in db.metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(expression, sa.Column) for expression in index.expressions)
    }


def test_migrated_database_matches_the_models(app):
    with db.engine.connect() as conn, warnings.catch_warnings():
        # Expression indexes (the token selectors) cannot be reflected, so they are
        # compared by name below instead.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
    expected = _expression_indexes()
    assert len(expected) == 5  # the four token selectors and the staff session token
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        present = set(conn.execute(sa.text(query)).scalars())
    assert expected <= present


def test_migrations_run_down_and_up_again(app):
    downgrade(revision="base")
    with db.engine.connect() as conn:
        assert not db.inspect(conn).has_table("workshop")
    upgrade()
    with db.engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expression-based index")
        assert db.inspect(conn).has_table("workshop")
        names = {ix["name"] for ix in db.inspect(conn).get_indexes("registration")}
    assert "uq_registration_active_email" in names
