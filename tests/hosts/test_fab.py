"""A Flask-AppBuilder portal (``apps/fab_app.py``, FAB from PyPI) with the package mounted,
FAB first and the package first: FAB's admin keeps FAB, applicants get the package's pages,
in the package's language and behind the package's rate limits.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack

import pytest

from tests.helpers import VALID
from tests.hosts.harness import (
    APPS,
    Browser,
    HostServer,
    assert_applicant_logged_in,
    become_applicant,
    describe,
    html_lang,
    log_in,
    running,
)

pytestmark = [pytest.mark.hosts, pytest.mark.slow]

APP = str(APPS / "fab_app.py")
ORDERS = ("fab-first", "package-first")
ADMIN, ADMIN_PASSWORD = "admin", "fab admin password 2026"


@pytest.fixture(scope="module")
def fab_database(fab_venv, tmp_path_factory):
    """``fab_database(order)``: a SQLite file with FAB's tables, its admin (``flask fab
    create-admin``) and the package's tables (``flask industry-auth migrate``), made once per
    init order through the real CLIs; each server gets a copy."""
    made: dict[str, object] = {}

    def template(order: str):
        if order not in made:
            folder = tmp_path_factory.mktemp(f"fab-template-{order}")
            path = folder / "fab.sqlite"
            settings = {"HOST_DATABASE_URL": f"sqlite:///{path}", "HOST_INIT_ORDER": order}
            admin = fab_venv.flask(
                APP,
                *("fab", "create-admin", "--username", ADMIN, "--firstname", "Ada"),
                *("--lastname", "Admin", "--email", "admin@example.gov.tw"),
                *("--password", ADMIN_PASSWORD),
                settings=settings,
                cwd=folder,
            ).check()
            assert f"Admin User {ADMIN} created" in admin.output, admin.describe()
            fab_venv.flask(APP, "industry-auth", "migrate", settings=settings, cwd=folder).check()
            made[order] = path
        return made[order]

    return template


def fab_server(name, venv, template, order: str, smtp_port: int, folder) -> HostServer:
    database = folder / "fab.sqlite"
    shutil.copy(template, database)
    settings = {
        "HOST_DATABASE_URL": f"sqlite:///{database}",
        "HOST_SMTP_PORT": str(smtp_port),
        "HOST_INIT_ORDER": order,
    }
    return HostServer(name, venv, "fab_app.py", settings=settings, log_dir=folder)


@pytest.fixture(scope="module", params=ORDERS)
def fab(request, fab_venv, fab_database, module_mail, tmp_path_factory):
    order = request.param
    folder = tmp_path_factory.mktemp(f"fab-{order}")
    server = fab_server(
        f"fab_app[{order}]", fab_venv, fab_database(order), order, module_mail.port, folder
    )
    with running(server):
        yield server


def fab_log_in(browser: Browser) -> None:
    page = browser.get("/login/")
    assert page.status_code == 200, describe(page)
    response = browser.post(
        "/login/", {"username": ADMIN, "password": ADMIN_PASSWORD}, token_from=page
    )
    assert browser.location(response) == "/", describe(response)


def test_fab_admin_logs_in_and_uses_fab_pages(fab, browsers):
    browser = browsers(fab)
    fab_log_in(browser)
    for page in ("/users/list/", "/roles/list/"):
        response = browser.get(page)
        assert response.status_code == 200, describe(response)
    assert ADMIN in browser.get("/users/list/").text


def test_an_applicant_applies_activates_and_uses_the_package_pages(fab, module_mail, browsers):
    browser = browsers(fab)
    applicant = become_applicant(browser, module_mail)
    assert_applicant_logged_in(browser, applicant)


def test_package_pages_speak_traditional_chinese_first_and_english_on_request(fab, browsers):
    # FAB's own default language is English; the package's pages start in zh_Hant_TW.
    browser = browsers(fab)
    login = browser.get("/account/login")
    assert login.status_code == 200, describe(login)
    assert html_lang(login) == "zh-Hant-TW"
    assert "非憑證帳號登入" in login.text
    switched = browser.post(
        "/account/language", {"locale": "en", "next": "/account/login"}, token_from=login
    )
    assert browser.location(switched) == "/account/login", describe(switched)
    english = browser.get("/account/login")
    assert html_lang(english) == "en"
    assert "Log in with a non-certificate account" in english.text


def test_a_logged_in_applicant_on_fab_pages(fab, module_mail, browsers):
    browser = browsers(fab)
    applicant = become_applicant(browser, module_mail)
    for page in ("/", "/login/", "/users/list/", "/roles/list/"):
        browser.get(page)  # any answer but a 5xx (the browser checks)
    users = browser.get("/users/list/")
    assert users.status_code != 200, "an applicant is no FAB user, let alone FAB's admin"
    index = browser.get("/account/")  # and still logged in to the package's pages
    assert index.status_code == 200, describe(index)
    assert applicant.account_id in index.text


def test_anonymous_package_pages_redirect_to_the_packages_login(fab, browsers):
    browser = browsers(fab)
    for page in ("/account/", "/account/profile"):
        response = browser.get(page)
        assert browser.location(response) == "/account/login", describe(response)


@pytest.fixture
def fresh_fab(fab_venv, fab_database, smtp, tmp_path):
    """``fresh_fab(order)``: a FAB server for this test alone, terminated in teardown."""
    with ExitStack() as servers:

        def start(order: str) -> HostServer:
            server = fab_server(
                f"fab_app[{order}]", fab_venv, fab_database(order), order, smtp.port, tmp_path
            )
            return servers.enter_context(running(server))

        yield start


@pytest.mark.parametrize("order", ORDERS)
def test_failed_applicant_logins_are_limited_per_address_despite_fab(order, fresh_fab, browsers):
    # A server of its own: the limit holds the address for a minute. FAB sets Flask-Limiter's
    # RATELIMIT_ENABLED=False for its own limiter; the package's default, 10 failed logins a
    # minute from one address, must hold all the same. Every attempt names another account,
    # so the per-account limit (5 in 5 minutes) is never what answers.
    browser = browsers(fresh_fab(order))
    statuses = []
    for n in range(12):
        attempt = log_in(browser, VALID["business_id"], f"NOSUCH{n:02d}", "wrong password 2026")
        statuses.append(attempt.status_code)
    assert statuses == [200] * 10 + [429, 429], statuses
