"""The Alembic migrations and the models must describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from outreach.db import Base, get_engine


def test_models_and_migrations_agree(app):
    with app.app_context(), get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations disagree; generate a migration: {diff}"


def test_app_does_not_migrate_by_itself(tmp_path):
    from sqlalchemy import inspect

    from outreach import create_app

    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app({"app": {"env": "testing"}, "database": {"url": url}})
    with app.app_context():
        assert inspect(get_engine()).get_table_names() == []
