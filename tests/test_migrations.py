"""The Alembic revisions build exactly the tables of the models, on SQLite and PostgreSQL."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from flask_industry_auth.migrate import (
    VERSION_TABLE,
    alembic_config,
    downgrade,
    target_metadata,
    upgrade,
)
from tests.hostapp import auth, db, make_app

TABLES = {
    "industry_auth_account",
    "industry_auth_password_history",
    "industry_auth_audit",
    "industry_auth_outbox",
    "industry_auth_challenge",
    "industry_auth_delegation",
}


def test_upgrade_from_empty_matches_the_models_and_downgrade_removes_all(database_url, smtp):
    app = make_app(database_url, smtp.port)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
        try:
            upgrade()
            names = set(sa.inspect(db.engine).get_table_names())
            assert names >= TABLES | {VERSION_TABLE}
            with db.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
                )
                dialect = connection.dialect.name
                assert compare_metadata(context, target_metadata(dialect)) == []
            downgrade()
            assert not set(sa.inspect(db.engine).get_table_names()) & TABLES
            upgrade()  # and up again, cleanly
            assert set(sa.inspect(db.engine).get_table_names()) >= TABLES
        finally:
            db.drop_all()
            with db.engine.begin() as connection:
                connection.execute(sa.text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
            db.engine.dispose()


def test_revisions_carry_the_branch_label(app):
    with app.app_context():
        scripts = ScriptDirectory.from_config(alembic_config())
    revisions = list(scripts.walk_revisions())
    assert revisions and "industry_auth" in revisions[-1].branch_labels
    assert len(scripts.get_heads()) == 1


def test_the_models_cover_the_package_tables():
    assert {t.name for t in auth.models.tables} == TABLES
