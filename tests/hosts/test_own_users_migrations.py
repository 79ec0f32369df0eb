"""A portal's own Alembic history (Flask-Migrate) and the package's revisions share one
database without touching each other, in either order, through the venv's real ``flask``.

The package's tables are mapped on the host's ``db``, so the host's autogenerate sees them:
it must neither create, alter nor drop them, nor the package's version table
``industry_auth_alembic_version`` (every name the package owns starts with ``industry_auth``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.hosts.harness import APPS, CommandResult

pytestmark = [pytest.mark.hosts, pytest.mark.slow]

APP = str(APPS / "own_users.py")


class HostCli:
    """``flask --app own_users.py ...`` on one fresh database and migrations folder."""

    def __init__(self, venv, database_url: str, folder: Path) -> None:
        self.venv, self.folder = venv, folder
        self.migrations = folder / "host-migrations"
        self.settings = {
            "HOST_DATABASE_URL": database_url,
            "HOST_MIGRATIONS_DIR": str(self.migrations),
        }

    def __call__(self, *args: str) -> CommandResult:
        return self.venv.flask(APP, *args, settings=self.settings, cwd=self.folder)

    def revisions(self) -> dict[str, str]:
        versions = self.migrations / "versions"
        return {p.name: p.read_text() for p in versions.glob("*.py")} if versions.exists() else {}

    def autogenerate(self, message: str) -> list[str]:
        """``flask db migrate -m MESSAGE``; the text of each revision file it wrote."""
        before = self.revisions()
        self("db", "migrate", "-m", message).check()
        return [text for name, text in self.revisions().items() if name not in before]


@pytest.fixture
def cli(plain_venv, databases, tmp_path):
    return HostCli(plain_venv, databases.new("own-users"), tmp_path)


def upgrade_body(revision: str) -> str:
    """The statements of a revision's ``upgrade()``, comments dropped."""
    body = re.search(r"def upgrade\(\):\n(.*?)(?=\n\S|\Z)", revision, re.S).group(1)
    lines = (line.strip() for line in body.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def assert_no_package_operation(revisions: list[str]) -> None:
    for text in revisions:
        assert "industry_auth" not in text, f"the host's revision touches the package's:\n{text}"


def assert_nothing_to_do(revisions: list[str]) -> None:
    """Alembic found no change (Flask-Migrate then writes no file), or wrote ``pass``."""
    assert_no_package_operation(revisions)
    for text in revisions:
        assert upgrade_body(text) == "pass", f"an empty schema change expected:\n{text}"


def test_host_history_first_then_the_package(cli):
    cli("db", "init").check()
    (first,) = cli.autogenerate("host")
    assert "staff_user" in first  # the host's own table is in its own history ...
    assert_no_package_operation([first])  # ... and nothing of the package's
    cli("db", "upgrade").check()
    cli("industry-auth", "migrate").check()
    # With the package's tables and version table now in the database, the host's next
    # autogenerate must still see nothing to do: no drop of the package's version table.
    assert_nothing_to_do(cli.autogenerate("again"))
    cli("db", "upgrade").check()
    cli("industry-auth", "migrate").check()


def test_package_first_then_the_host_history(cli):
    cli("industry-auth", "migrate").check()
    cli("db", "init").check()
    (first,) = cli.autogenerate("host")
    assert "staff_user" in first
    assert_no_package_operation([first])
    cli("db", "upgrade").check()
    cli("industry-auth", "migrate").check()
    assert_nothing_to_do(cli.autogenerate("again"))


def test_package_migrate_after_create_all_stamps_or_says_what_to_run(cli):
    # db.create_all() makes the package's tables too, without the package's version table.
    cli("create-all").check()
    result = cli("industry-auth", "migrate")
    assert "Traceback" not in result.output, result.describe()
    if result.returncode == 0:
        # Detected and stamped: from now on an ordinary upgrade with nothing to do.
        cli("industry-auth", "migrate").check()
    else:
        # Refused: then with a message that names the command to run instead.
        assert "industry-auth" in result.output, result.describe()
