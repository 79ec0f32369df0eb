"""Run the package's Alembic revisions against the host's database.

The revisions live in the package's ``migrations/`` folder (branch label ``industry_auth``)
and are tracked in their own version table, so they never tangle with the host's own Alembic
history: ``flask industry-auth migrate`` runs them, and the host's Flask-Migrate never sees
the package's tables (:func:`exclude_from_host_migrations`).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from flask import Flask, appcontext_pushed

from .resources import resource_dir
from .state import get_state

log = logging.getLogger(__name__)

VERSION_TABLE = "industry_auth_alembic_version"


class MigrationError(RuntimeError):
    """The database holds the package's tables in a shape its revisions cannot take over."""


def package_tables(app: Flask | None = None) -> frozenset[str]:
    """The names of the package's tables, its version table included (a host table named
    ``industry_auth_…`` of its own is not one of them)."""
    return frozenset({table.name for table in get_state(app).models.tables} | {VERSION_TABLE})


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config for the package's revisions on the current app's database."""
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.attributes["connection"] = connection
    config.attributes["target_metadata"] = target_metadata(
        connection.dialect.name if connection is not None else None
    )
    config.attributes["version_table"] = VERSION_TABLE
    return config


def target_metadata(dialect: str | None = None) -> sa.MetaData:
    """A MetaData with only the package's tables (for autogenerate and comparisons); given a
    ``dialect`` name, without the indexes made only on another database (``ddl_if``: the
    business-name index is PostgreSQL's)."""
    metadata = sa.MetaData()
    for table in get_state().models.tables:
        copy = table.to_metadata(metadata)
        if dialect is None:
            continue
        # The copy does not keep ``ddl_if``: ask the model's own index.
        elsewhere = {index.name for index in table.indexes if not _made_on(index, dialect)}
        for index in [index for index in copy.indexes if index.name in elsewhere]:
            copy.indexes.discard(index)
    return metadata


def _made_on(index: sa.Index, dialect: str) -> bool:
    only = getattr(index, "_ddl_if", None)
    return only is None or only.dialect in (None, dialect)


def upgrade(revision: str = "heads") -> None:
    """Upgrade the package's tables to ``revision`` (default: the newest).

    Tables made without these revisions (``db.create_all()``, or a host migration that copied
    them) are taken over when they match the newest revision exactly; otherwise
    :class:`MigrationError` says what differs and what to run."""
    with get_state().db.engine.connect() as connection:
        config = alembic_config(connection)
        with connection.begin():
            _adopt_unversioned_tables(connection, config)
        # Alembic runs its own transaction per revision (migrations/env.py): a revision that
        # builds an index concurrently on PostgreSQL leaves it for an autocommit block.
        command.upgrade(config, revision)


def stamp(revision: str) -> None:
    """Record that the package's tables are at ``revision`` without changing them."""
    with get_state().db.engine.connect() as connection:
        command.stamp(alembic_config(connection), revision)


def schema_differences(connection: sa.Connection) -> list[Any]:
    """What differs between the package's tables in the database and its models (Alembic's
    autogenerate diff, limited to the package's tables)."""
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "version_table": VERSION_TABLE,
            "include_name": _only_package_tables,
        },
    )
    return compare_metadata(context, target_metadata(connection.dialect.name))


def _only_package_tables(name: str | None, type_: str, parent_names: Any) -> bool:
    return type_ != "table" or name in package_tables()


def _adopt_unversioned_tables(connection: sa.Connection, config: Config) -> None:
    names = set(sa.inspect(connection).get_table_names())
    ours = names & package_tables()
    if VERSION_TABLE in names:
        if ours == {VERSION_TABLE}:
            # The tables were dropped (db.drop_all() leaves the version table): start over.
            command.stamp(config, "base", purge=True)
            log.warning(
                "flask_industry_auth: %s named a revision but the package's tables were gone; "
                "creating them again",
                VERSION_TABLE,
            )
        return
    if not ours:
        return
    differences = schema_differences(connection)
    if differences:
        shown = "; ".join(str(d) for d in differences[:5])
        raise MigrationError(
            "The package's tables exist but were not made by its migrations (no "
            f"{VERSION_TABLE} table), and they differ from its newest revision: {shown}. "
            "If an older release made them, run 'flask industry-auth migrate --stamp "
            "REVISION' with the revision they match, then 'flask industry-auth migrate'; "
            "if they hold nothing yet, drop them and run 'flask industry-auth migrate'."
        )
    command.stamp(config, "heads")
    log.warning(
        "flask_industry_auth: found the package's tables without %s (made by db.create_all() "
        "or a host migration); they match the newest revision, so it was recorded",
        VERSION_TABLE,
    )


def exclude_from_host_migrations(app: Flask) -> None:
    """Keep the package's tables out of the host's own Flask-Migrate history.

    The tables are mapped on the host's ``db``, so Flask-Migrate's autogenerate would copy them
    into the host's revisions, or drop the package's version table. Whenever the app's context
    is pushed (every ``flask db`` command pushes one), the app's Flask-Migrate configuration,
    whenever the host created it, gets ``include_name``/``include_object`` filters that leave
    out every table of the package; filters the host set are kept and still asked.
    """
    appcontext_pushed.connect(_filter_host_migrations, sender=app)


def _filter_host_migrations(app: Flask, **_extra: Any) -> None:
    migrate = app.extensions.get("migrate")
    if migrate is None:
        return
    args = migrate.configure_args
    # Checked at every push: a host may set its own filter after the package's.
    if not getattr(args.get("include_name"), "_industry_auth", False):
        args["include_name"] = _name_filter(package_tables(app), args.get("include_name"))
    if not getattr(args.get("include_object"), "_industry_auth", False):
        args["include_object"] = _object_filter(package_tables(app), args.get("include_object"))


def _name_filter(ours: frozenset[str], host_filter: Any) -> Any:
    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "table" and name in ours:
            return False
        return host_filter(name, type_, parent_names) if host_filter else True

    include_name._industry_auth = True  # type: ignore[attr-defined]
    return include_name


def _object_filter(ours: frozenset[str], host_filter: Any) -> Any:
    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, other: Any):
        if type_ == "table" and name in ours:
            return False
        return host_filter(obj, name, type_, reflected, other) if host_filter else True

    include_object._industry_auth = True  # type: ignore[attr-defined]
    return include_object


def downgrade(revision: str = "base") -> None:
    """Downgrade the package's tables to ``revision`` (default: none at all)."""
    with get_state().db.engine.connect() as connection:
        command.downgrade(alembic_config(connection), revision)
