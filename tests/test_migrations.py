"""The migrations build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from workshops.extensions import db


def test_migrated_database_matches_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_run_down_and_up_again(app):
    downgrade(revision="base")
    with db.engine.connect() as conn:
        assert not db.inspect(conn).has_table("workshop")
    upgrade()
    with db.engine.connect() as conn:
        assert db.inspect(conn).has_table("workshop")
        names = {ix["name"] for ix in db.inspect(conn).get_indexes("registration")}
    assert "uq_registration_active_email" in names
