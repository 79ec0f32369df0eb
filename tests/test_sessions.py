"""Log out by POST; a copied session cookie stops working (seed: 登出)."""

from tests.helpers import OWN_PASSWORD, VALID, Portal


def _copy_of(portal, app, smtp) -> Portal:
    thief = Portal(app, app.test_client(), smtp)
    thief.client.set_cookie("session", portal.client.get_cookie("session").value)
    return thief


def test_logout_is_post_only(portal):
    portal.active_account()
    assert portal.client.get("/account/logout").status_code == 405
    assert portal.client.get("/account/").status_code == 200


def test_copied_cookie_fails_after_logout(portal, app, smtp):
    portal.active_account()
    thief = _copy_of(portal, app, smtp)
    assert thief.client.get("/account/").status_code == 200
    response = portal.logout()
    assert response.headers["Location"] == "/account/login"
    assert thief.client.get("/account/").status_code == 302
    assert portal.client.get("/account/").status_code == 302


def test_copied_cookie_fails_after_a_temporary_password_login(portal, app, smtp):
    details = portal.active_account()
    thief = _copy_of(portal, app, smtp)
    portal.forget_mails()
    portal.post("/account/forgot-password", {"account_id": details["account_id"]})
    from tests.helpers import temporary_password

    temp = temporary_password(portal.wait_mails(1)[0])
    fresh = Portal(app, app.test_client(), smtp)
    fresh.login(VALID["business_id"], details["account_id"], temp)
    assert thief.client.get("/account/").status_code == 302


def test_copied_cookie_fails_after_lock(portal, app, smtp):
    details = portal.active_account()
    thief = _copy_of(portal, app, smtp)
    other = Portal(app, app.test_client(), smtp)
    for _ in range(5):
        other.login(VALID["business_id"], details["account_id"], "wrong password!!")
    assert thief.client.get("/account/").status_code == 302


def test_session_cookie_changes_at_login(portal):
    details = portal.active_account()
    portal.logout()
    portal.client.get("/account/login")
    before = portal.client.get_cookie("session").value
    portal.login(VALID["business_id"], details["account_id"], OWN_PASSWORD)
    assert portal.client.get_cookie("session").value != before
