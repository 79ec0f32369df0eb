"""A host with its own Flask-Migrate history never touches the package's tables, in any order,
and ``flask industry-auth migrate`` takes over tables that ``db.create_all()`` made."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import Migrate
from flask_migrate import init as host_init
from flask_migrate import migrate as host_migrate
from flask_migrate import upgrade as host_upgrade
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

from flask_industry_auth import IndustryAuth
from flask_industry_auth.migrate import VERSION_TABLE, MigrationError, package_tables, upgrade
from flask_industry_auth.testkit import FAST_ARGON2

# Flask-Migrate's generated env.py tries Flask-SQLAlchemy 2's get_engine() first; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")


@pytest.fixture
def host(database_url, tmp_path):
    """A portal with a table of its own and a Flask-Migrate history in ``tmp_path``."""
    app = Flask("migrating_host")
    app.config.update(
        SECRET_KEY="x",
        TESTING=True,
        SQLALCHEMY_DATABASE_URI=database_url,
        INDUSTRY_AUTH_EXTERNAL_URL="https://portal.example.gov.tw",
        **FAST_ARGON2,
    )
    db = SQLAlchemy(app)

    class HostUser(db.Model):
        __tablename__ = "host_user"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(50))

    class HostExtra(db.Model):
        # The host's own table, whatever its name says: its migrations must keep it.
        __tablename__ = "industry_auth_account_extra"
        id: Mapped[int] = mapped_column(primary_key=True)

    auth = IndustryAuth(app, db=db)
    directory = str(tmp_path / "host-migrations")
    Migrate(app, db, directory=directory)
    _clean(app, db)
    # Flask-Migrate's env.py calls logging.config.fileConfig(), which disables every logger
    # that exists: the package's among them, which later tests read with caplog.
    loggers = logging.root.manager.loggerDict
    enabled = [name for name, logger in loggers.items() if not getattr(logger, "disabled", True)]
    yield app, db, auth, tmp_path / "host-migrations" / "versions"
    for name in enabled:
        loggers[name].disabled = False
    _clean(app, db)
    with app.app_context():
        db.engine.dispose()


def _clean(app, db):
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            for table in (VERSION_TABLE, "alembic_version"):
                connection.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))


def _revisions(versions) -> list[str]:
    return [path.read_text() for path in sorted(versions.glob("*.py"))]


def _tables(db) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_host_migrations_first_then_the_package(host):
    app, db, _, versions = host
    with app.app_context():
        host_init(directory=str(versions.parent))
        host_migrate(directory=str(versions.parent), message="host")
        (revision,) = _revisions(versions)
        assert "host_user" in revision and "industry_auth_account_extra" in revision
        assert "industry_auth_account'" not in revision and "industry_auth_audit" not in revision
        host_upgrade(directory=str(versions.parent))
        assert not _tables(db) & package_tables(app)
        upgrade()
        assert "industry_auth_account" in _tables(db)
        host_migrate(directory=str(versions.parent), message="again")
        assert len(_revisions(versions)) == 1  # "No changes in schema detected"
        upgrade()  # and again, cleanly


def test_the_package_first_then_host_migrations(host):
    app, db, _, versions = host
    with app.app_context():
        upgrade()
        host_init(directory=str(versions.parent))
        host_migrate(directory=str(versions.parent), message="host")
        (revision,) = _revisions(versions)
        # Neither a copy of the package's tables nor a drop of its version table.
        assert not any(f"'{name}'" in revision for name in package_tables(app))
        host_upgrade(directory=str(versions.parent))
        assert {"industry_auth_account", VERSION_TABLE, "host_user"} <= _tables(db)
        upgrade()


def test_host_filters_are_kept(host):
    app, _, _, versions = host
    asked = []

    def include_object(obj, name, type_, reflected, compare_to):
        asked.append(name)
        return name not in ("host_user", "industry_auth_account_extra")

    app.extensions["migrate"].configure_args["include_object"] = include_object
    with app.app_context():
        host_init(directory=str(versions.parent))
        host_migrate(directory=str(versions.parent), message="host")
        assert _revisions(versions) == []  # the host's own filter left out its tables
        assert "host_user" in asked


def test_a_version_table_without_its_tables_starts_over(host):
    app, db, _, _ = host
    with app.app_context():
        upgrade()
        db.drop_all()  # leaves the version table behind
        upgrade()
        assert "industry_auth_account" in _tables(db)


def test_stamping_a_revision_that_does_not_exist_says_so(host):
    app, _, _, _ = host
    result = app.test_cli_runner().invoke(args=["industry-auth", "migrate", "--stamp", "nosuch"])
    assert result.exit_code == 1
    assert "nosuch" in result.output and "Traceback" not in result.output


def test_tables_made_by_create_all_are_taken_over(host):
    app, db, _, _ = host
    with app.app_context():
        db.create_all()
        upgrade()
        with db.engine.connect() as connection:
            version = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608
            assert version.scalar_one()
        upgrade()


def test_tables_that_differ_are_refused_with_what_to_run(host):
    app, db, _, _ = host
    with app.app_context():
        db.create_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE industry_auth_challenge"))
        with pytest.raises(MigrationError, match="--stamp REVISION"):
            upgrade()
        assert VERSION_TABLE not in _tables(db)  # nothing recorded


def test_the_cli_says_so_without_a_traceback(host):
    app, db, _, _ = host
    with app.app_context():
        db.create_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE industry_auth_challenge"))
    result = app.test_cli_runner().invoke(args=["industry-auth", "migrate"])
    assert result.exit_code == 1
    assert "differ from its newest revision" in result.output
    assert "Traceback" not in result.output
