"""The admin blueprint (issue 8): mounted apart, behind the host's access check."""

from __future__ import annotations

import re

import pytest

from flask_industry_auth.admin import AccountAdmin
from flask_industry_auth.testkit import csrf_token
from tests.helpers import OWN_PASSWORD, VALID, text_of
from tests.hostapp import auth, db


@pytest.fixture
def staff():
    """Whether the current request is a staff member's (the host's check)."""
    return {"allowed": True}


@pytest.fixture
def admin_app(app, staff):
    AccountAdmin(app, can_access=lambda: staff["allowed"], actor=lambda: "admin:lin")
    return app


def _csrf(client, url):
    return csrf_token(client.get(url).get_data(as_text=True))


def _act(client, account_id, event, **form):
    page = f"/account-admin/accounts/{account_id}"
    token = _csrf(client, page)
    return client.post(f"{page}/events/{event}", data={"csrf_token": token, **form})


def test_refuses_to_mount_without_an_access_check(app):
    with pytest.raises(RuntimeError, match="can_access"):
        AccountAdmin(app)
    assert "industry_auth_admin" not in app.blueprints


def test_every_page_needs_the_hosts_check(admin_app, staff, account):
    staff["allowed"] = False
    client = admin_app.test_client()
    for url in (
        "/account-admin/",
        f"/account-admin/accounts/{account['account_id']}",
        "/account-admin/lifecycle",
    ):
        assert client.get(url).status_code == 403, url
    response = client.post(f"/account-admin/accounts/{account['account_id']}/events/lock")
    assert response.status_code == 403
    with admin_app.app_context():
        assert (
            db.session.scalar(
                db.select(auth.account_model.state).filter_by(account_id=account["account_id"])
            )
            == "activated"
        )


def test_search_and_account_page_show_only_legal_actions(admin_app, account):
    client = admin_app.test_client()
    found = client.get("/account-admin/?q=" + VALID["business_id"])
    assert found.status_code == 200
    assert account["account_id"] in text_of(found) and "找到 1 個帳號" in text_of(found)
    page = client.get(f"/account-admin/accounts/{account['account_id']}").get_data(as_text=True)
    assert set(re.findall(r'data-event="([^"]+)"', page)) == {"lock", "disable", "delete"}
    assert VALID["email"] in page and "activate" in page  # profile and history
    assert client.get("/account-admin/accounts/NOSUCHID").status_code == 404
    # Hostile search input: a clear page, never an error.
    for query in ("?page=" + "9" * 40, "?state=nonsense&q=%25_%5C", "?q=" + "x" * 2000, "?q=%00"):
        assert client.get("/account-admin/" + query).status_code == 200, query
    assert client.get("/account-admin/accounts/%00").status_code == 404
    assert _act(client, account["account_id"], "no-such-event").status_code == 302


def test_a_host_added_state_brings_its_own_buttons(admin_app, account):
    lifecycle = auth.get_lifecycle(admin_app)
    lifecycle.add_state("suspended")
    lifecycle.add_transition("suspend", ["activated"], "suspended")
    lifecycle.add_transition("resume", "suspended", "activated")
    client = admin_app.test_client()
    assert _act(client, account["account_id"], "suspend").status_code == 302
    page = client.get(f"/account-admin/accounts/{account['account_id']}").get_data(as_text=True)
    assert set(re.findall(r'data-event="([^"]+)"', page)) == {"resume", "delete"}
    assert "suspended" in page
    svg = client.get("/account-admin/lifecycle").get_data(as_text=True)
    assert 'data-state="suspended"' in svg and 'data-events="resume"' in svg


def test_actions_are_audited_with_the_staff_member(admin_app, portal, account):
    client = admin_app.test_client()
    response = _act(client, account["account_id"], "lock", reason="phoned in")
    assert response.status_code == 302
    assert "已完成：鎖定" in text_of(client.get(response.headers["Location"]))
    assert portal.account(account["account_id"]).state == "locked"
    with admin_app.app_context():
        row = db.session.scalars(db.select(auth.models.AuditEvent).filter_by(event="lock")).one()
        assert (row.actor, row.detail, row.to_state) == ("admin:lin", "phoned in", "locked")
    # A button for an action that is no longer open changes nothing.
    refused = _act(client, account["account_id"], "lock")
    assert "未執行" in text_of(client.get(refused.headers["Location"]))
    assert _act(client, account["account_id"], "unlock").status_code == 302
    assert (
        portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD).status_code == 302
    )


def test_an_over_long_reason_is_refused_not_cut(admin_app, portal, account):
    client = admin_app.test_client()
    page = client.get(f"/account-admin/accounts/{account['account_id']}").get_data(as_text=True)
    assert "maxlength" not in page  # the browser would cut a pasted reason without a word
    response = _act(client, account["account_id"], "lock", reason="查" * 201)
    assert "原因超過 200 字" in text_of(client.get(response.headers["Location"]))
    assert portal.account(account["account_id"]).state == "activated"
    assert portal.settle() == []  # nothing mailed
    assert _act(client, account["account_id"], "lock", reason="查" * 200).status_code == 302
    assert portal.account(account["account_id"]).state == "locked"


def test_posts_need_the_csrf_token(admin_app, portal, account):
    client = admin_app.test_client()
    response = client.post(f"/account-admin/accounts/{account['account_id']}/events/lock")
    assert response.status_code == 400
    assert portal.account(account["account_id"]).state == "activated"


def test_delete_needs_the_account_id_typed(admin_app, portal, account):
    client = admin_app.test_client()
    wrong = _act(client, account["account_id"], "delete", confirm="something else")
    assert wrong.status_code == 302 and portal.account(account["account_id"]) is not None
    done = _act(client, account["account_id"], "delete", confirm=account["account_id"].lower())
    assert done.headers["Location"].endswith("/account-admin/")
    assert portal.account(account["account_id"]) is None
    assert "deleted-" in text_of(client.get("/account-admin/"))


def test_pages_in_english_too(admin_app, account):
    client = admin_app.test_client()
    assert "尋找帳號" in text_of(client.get("/account-admin/"))
    token = _csrf(client, "/account-admin/")
    client.post(
        "/account/language",
        data={"csrf_token": token, "locale": "en", "next": "/account-admin/"},
    )
    page = text_of(client.get(f"/account-admin/accounts/{account['account_id']}"))
    assert "Find accounts" in page and "Disable (停用)" in page
