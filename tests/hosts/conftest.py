"""Fixtures of the host-portal tests: the wheel (built once per session), fresh venvs with it
installed, fresh databases, host servers and browsers.

A failing test's report carries what every host server running at the time wrote to stderr
during the test (werkzeug's request log and the host's tracebacks).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from examples.portal.mailsink import MailSink
from tests.hosts.harness import (
    SERVERS,
    VENV_VERSIONS,
    Browser,
    Databases,
    HostServer,
    create_venv,
    first_traceback,
)

ROOT = Path(__file__).resolve().parents[2]
TEST_DATABASE_URL = os.environ.get("INDUSTRY_AUTH_TEST_DATABASE_URL")
#: The distributions whose versions the run's summary shows for each venv.
SHOWN_VERSIONS = (
    "flask-industry-auth",
    "flask-appbuilder",
    "flask",
    "werkzeug",
    "flask-login",
    "flask-wtf",
    "wtforms",
    "flask-sqlalchemy",
    "sqlalchemy",
    "alembic",
    "flask-migrate",
    "flask-babel",
    "babel",
    "flask-limiter",
    "limits",
    "flask-mail",
    "flask-jwt-extended",
    "marshmallow",
    "marshmallow-sqlalchemy",
    "sqlalchemy-utils",
    "psycopg",
    "psycopg-binary",
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "hosts: real host portals (own users, Flask-AppBuilder, two apps in one process) "
        "run from the built wheel in fresh venvs and driven over HTTP",
    )


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
        for server in SERVERS:
            text = server.log(server.test_mark)[-12000:]
            if text:
                report.sections.append((f"host {server.name}: its stderr during this test", text))
    return report


@pytest.fixture(autouse=True)
def _host_logs(request):
    """Each test owns what the host servers write to stderr while it runs (module-scoped
    servers serve several tests): its report shows that part, and a traceback there fails
    the test even when no response showed it (a mail thread, a teardown handler)."""
    for server in SERVERS:
        server.test_mark = server.log_size()
    yield
    if request.node.stash.get(_FAILED, False):
        return  # the report already shows the servers' stderr
    for server in SERVERS:
        traceback = first_traceback(server.log(server.test_mark))
        if traceback:
            pytest.fail(f"host {server.name} wrote a traceback during the test:\n{traceback}")


def pytest_terminal_summary(terminalreporter):
    if not VENV_VERSIONS:
        return
    terminalreporter.section("host venvs: what pip installed beside the wheel")
    where = f"PostgreSQL, a fresh hosts_* database beside {TEST_DATABASE_URL}"
    terminalreporter.write_line(
        f"plain hosts' databases: {where if TEST_DATABASE_URL else 'SQLite'}; FAB's: SQLite"
    )
    for name, versions in VENV_VERSIONS.items():
        normalized = {k.lower().replace("_", "-"): v for k, v in versions.items()}
        shown = [f"{d}=={normalized[d]}" for d in SHOWN_VERSIONS if d in normalized]
        terminalreporter.write_line(f"{name}: {' '.join(shown)}")


# -- the wheel and the venvs ------------------------------------------------------------


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), ROOT],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (built,) = out.glob("flask_industry_auth-*.whl")
    return built


@pytest.fixture(scope="session")
def plain_venv(wheel, tmp_path_factory):
    """The wheel plus what a plain portal adds: Flask-Migrate, and psycopg for PostgreSQL."""
    return create_venv(
        "plain", tmp_path_factory.mktemp("venv-plain"), wheel, "Flask-Migrate", "psycopg[binary]"
    )


@pytest.fixture(scope="session")
def fab_venv(wheel, tmp_path_factory):
    """The wheel plus Flask-AppBuilder from PyPI, resolved together by pip."""
    return create_venv("fab", tmp_path_factory.mktemp("venv-fab"), wheel, "Flask-AppBuilder")


# -- databases, mail, servers, browsers -------------------------------------------------


@pytest.fixture
def databases(tmp_path):
    made = Databases(tmp_path, TEST_DATABASE_URL)
    yield made
    made.drop_all()


@pytest.fixture(scope="module")
def module_databases(tmp_path_factory):
    made = Databases(tmp_path_factory.mktemp("databases"), TEST_DATABASE_URL)
    yield made
    made.drop_all()


@pytest.fixture(scope="module")
def module_mail():
    """A mail sink for the servers that serve a whole module (tests/conftest's ``smtp`` is
    one per test); each test's applicant has an address of its own."""
    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def browsers():
    """``browsers(server, prefix="")`` opens a browser (its own cookie jar) on a server."""
    opened: list[Browser] = []

    def open_browser(server: HostServer, prefix: str = "") -> Browser:
        browser = Browser(server, prefix)
        opened.append(browser)
        return browser

    yield open_browser
    for browser in opened:
        browser.close()
