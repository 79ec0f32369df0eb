"""Two portals in one process (``apps/two_apps.py``: /a and /b, each with its own
IndustryAuth instance, database and secret): their applicants, mail and sessions stay apart.
"""

from __future__ import annotations

import pytest

from tests.hosts.harness import (
    APPS,
    HostServer,
    apply,
    become_applicant,
    describe,
    log_in,
    running,
)

pytestmark = [pytest.mark.hosts, pytest.mark.slow]


@pytest.fixture(scope="module")
def portals(plain_venv, module_databases, module_mail, tmp_path_factory):
    folder = tmp_path_factory.mktemp("two-apps")
    settings = {
        "HOST_DATABASE_URL_A": module_databases.new("portal-a"),
        "HOST_DATABASE_URL_B": module_databases.new("portal-b"),
        "HOST_SMTP_PORT": str(module_mail.port),
    }
    for name in "ab":
        app = f"{APPS / 'two_apps.py'}:create_portal('{name}')"
        plain_venv.flask(app, "industry-auth", "migrate", settings=settings, cwd=folder).check()
    server = HostServer(
        "two_apps", plain_venv, "two_apps.py", settings=settings, log_dir=folder, ready_path="/a/"
    )
    with running(server):
        yield server


def test_an_applicant_of_one_portal_cannot_log_into_the_other(portals, module_mail, browsers):
    in_a = browsers(portals, "/a")
    applicant = become_applicant(in_a, module_mail)
    in_b = browsers(portals, "/b")
    refused = log_in(in_b, applicant.business_id, applicant.account_id, applicant.password)
    assert refused.status_code == 200 and in_b.location(refused) is None, describe(refused)
    assert in_b.location(in_b.get("/account/")) == "/account/login"
    # The browser logged in to A is not logged in to B either.
    a_on_b = in_a.at("/b")
    assert a_on_b.location(a_on_b.get("/account/")) == "/account/login"


def test_each_portals_mail_links_to_that_portal(portals, module_mail, browsers):
    for name in "ab":
        link = apply(browsers(portals, f"/{name}"), module_mail)["link"]
        assert link.startswith(f"{portals.base_url}/{name}/account/activate/"), link


def test_one_browser_uses_both_portals_at_once(portals, module_mail, browsers):
    in_a = browsers(portals, "/a")
    in_b = in_a.at("/b")  # the same cookie jar
    applicant_a = become_applicant(in_a, module_mail)
    applicant_b = become_applicant(in_b, module_mail)
    for browser, mine, other in (
        (in_a, applicant_a, applicant_b),
        (in_b, applicant_b, applicant_a),
    ):
        index = browser.get("/account/")
        assert index.status_code == 200, describe(index)
        assert mine.account_id in index.text
        assert other.account_id not in index.text
