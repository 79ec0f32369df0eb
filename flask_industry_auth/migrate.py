"""Run the package's Alembic revisions against the host's database.

The revisions live in the package's ``migrations/`` folder (branch label ``industry_auth``)
and are tracked in their own version table, so they never tangle with the host's own Alembic
history. Hosts that prefer one history can instead add :func:`versions_dir` to their
``version_locations``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .extension import get_state
from .resources import resource_dir

VERSION_TABLE = "industry_auth_alembic_version"


def versions_dir() -> Path:
    """The folder holding the revision files."""
    return resource_dir("migrations") / "versions"


def alembic_config(connection=None) -> Config:
    """An Alembic config for the package's revisions on the current app's database."""
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.attributes["connection"] = connection
    config.attributes["target_metadata"] = target_metadata()
    config.attributes["version_table"] = VERSION_TABLE
    return config


def target_metadata():
    """A MetaData with only the package's tables (for autogenerate and comparisons)."""
    import sqlalchemy as sa

    metadata = sa.MetaData()
    for table in get_state().models.tables:
        table.to_metadata(metadata)
    return metadata


def upgrade(revision: str = "heads") -> None:
    """Upgrade the package's tables to ``revision`` (default: the newest)."""
    with get_state().db.engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(revision: str = "base") -> None:
    """Downgrade the package's tables to ``revision`` (default: none at all)."""
    with get_state().db.engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)
