"""Applicants are not the host's users: a portal with staff of its own (``apps/own_users.py``)
keeps its login, its pages and its session keys, and the package's pages keep theirs, in one
browser at once, whatever the order in which the host set up Flask-Login and the package.
"""

from __future__ import annotations

import re

import pytest

from tests.hosts.harness import (
    APPS,
    Browser,
    HostServer,
    assert_applicant_logged_in,
    become_applicant,
    describe,
    log_in,
    running,
)

pytestmark = [pytest.mark.hosts, pytest.mark.slow]

STAFF, STAFF_PASSWORD = "alice", "staff password of alice"
#: HOST_INIT_ORDER of apps/own_users.py: the host's LoginManager ("manager"), its user loader
#: ("loader") and IndustryAuth.init_app ("package"), in this order.
ORDERS = {
    "loader-before-init_app": "manager,loader,package",
    "loader-after-init_app": "manager,package,loader",
    "manager-after-init_app": "package,manager,loader",
}


@pytest.fixture(scope="module", params=list(ORDERS))
def host(request, plain_venv, module_databases, module_mail, tmp_path_factory):
    """own_users.py served for this module, its tables made and its staff user added."""
    folder = tmp_path_factory.mktemp(f"own-users-{request.param}")
    settings = {
        "HOST_DATABASE_URL": module_databases.new("own-users"),
        "HOST_SMTP_PORT": str(module_mail.port),
        "HOST_INIT_ORDER": ORDERS[request.param],
        "HOST_MIGRATIONS_DIR": str(folder / "migrations"),
    }
    app = str(APPS / "own_users.py")
    plain_venv.flask(app, "industry-auth", "migrate", settings=settings, cwd=folder).check()
    plain_venv.flask(app, "add-staff", STAFF, STAFF_PASSWORD, settings=settings, cwd=folder).check()
    server = HostServer(
        f"own_users[{request.param}]", plain_venv, "own_users.py", settings=settings, log_dir=folder
    )
    with running(server):
        yield server


# -- what each side sees ----------------------------------------------------------------


def staff_log_in(browser: Browser) -> None:
    response = browser.post("/staff/login", {"username": STAFF, "password": STAFF_PASSWORD})
    assert browser.location(response) == "/staff/home", describe(response)


def assert_staff_logged_in(browser: Browser) -> None:
    home = browser.get("/staff/home")
    assert home.status_code == 200, describe(home)
    assert f"Staff home of {STAFF}" in home.text
    me = browser.get("/api/me")
    assert me.status_code == 200, describe(me)
    assert me.json() == {"username": STAFF}


def assert_staff_logged_out(browser: Browser) -> None:
    # The host's @login_required pages send whoever is not staff to the host's own login.
    for page in ("/staff/home", "/api/me"):
        response = browser.get(page)
        assert response.status_code == 401 or browser.location(response) == "/staff/login", (
            f"{describe(response)}\n{response.text[:300]}"
        )


def assert_applicant_logged_out(browser: Browser) -> None:
    response = browser.get("/account/")
    assert browser.location(response) == "/account/login", describe(response)


def cart(browser: Browser) -> str:
    page = browser.get("/cart")
    assert page.status_code == 200, describe(page)
    return re.search(r'<span id="host-cart">([^<]*)</span>', page.text).group(1)


# -- the tests --------------------------------------------------------------------------


def test_an_applicant_is_not_let_into_the_hosts_pages(host, module_mail, browsers):
    browser = browsers(host)
    applicant = become_applicant(browser, module_mail)
    # Neither /staff/home nor the JSON API take an applicant for a staff user ...
    assert_staff_logged_out(browser)
    # ... while the package's own pages work for them.
    assert_applicant_logged_in(browser, applicant)


def test_staff_and_an_applicant_are_logged_in_at_once(host, module_mail, browsers):
    browser = browsers(host)
    applicant = become_applicant(browser, module_mail)
    staff_log_in(browser)  # the same browser, the same cookie jar
    assert_staff_logged_in(browser)
    assert_applicant_logged_in(browser, applicant)


def test_logging_one_out_leaves_the_other_logged_in(host, module_mail, browsers):
    browser = browsers(host)
    applicant = become_applicant(browser, module_mail)
    staff_log_in(browser)

    logout = browser.post("/account/logout", token_from="/account/")
    assert browser.location(logout) == "/account/login", describe(logout)
    assert_applicant_logged_out(browser)
    assert_staff_logged_in(browser)

    again = log_in(browser, applicant.business_id, applicant.account_id, applicant.password)
    assert again.status_code == 302, describe(again)
    logout = browser.post("/staff/logout", token_from="/staff/home")
    assert browser.location(logout) == "/staff/login", describe(logout)
    assert_staff_logged_out(browser)
    assert_applicant_logged_in(browser, applicant)


def test_the_hosts_session_key_survives_applicant_login_and_logout(host, module_mail, browsers):
    browser = browsers(host)
    put = browser.post("/cart", {"item": "brochure"})
    assert browser.location(put) == "/cart", describe(put)
    assert cart(browser) == "brochure"

    become_applicant(browser, module_mail)  # the login starts a fresh session ...
    assert cart(browser) == "brochure"  # ... of the package's keys, not of the host's
    logout = browser.post("/account/logout", token_from="/account/")
    assert logout.status_code == 302, describe(logout)
    assert cart(browser) == "brochure"


def test_anonymous_visitors_of_package_pages_go_to_the_packages_login(host, browsers):
    browser = browsers(host)
    for page in ("/account/", "/account/profile"):
        response = browser.get(page)
        assert browser.location(response) == "/account/login", describe(response)
    # The host's own pages still send anonymous visitors to the host's login.
    assert browser.location(browser.get("/staff/home")) == "/staff/login"
