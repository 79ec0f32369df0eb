"""Activate (seed 一.2): a page with a button, POST activates once, links expire."""

import re
from urllib.parse import urlsplit

from tests.helpers import OWN_PASSWORD, VALID, activation_details, text_of


def _hidden_token(page: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', page).group(1)


def test_get_shows_a_button_and_activates_nothing(portal):
    details = portal.apply_and_read_mail()
    token = details["link"].rsplit("/", 1)[1]
    page = portal.client.get(urlsplit(details["link"]).path)
    assert page.status_code == 200
    assert "啟用電子身分證" in text_of(page)
    # The token goes on in the form's body, to a URL without it; nothing leaks through
    # Referer, and no cache keeps the page.
    html = page.get_data(as_text=True)
    assert _hidden_token(html) == token
    assert 'action="/account/activate/confirm"' in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert portal.account(details["account_id"]).state == "requested"


def test_link_works_in_a_browser_without_the_sites_cookies(portal):
    # A mail app's viewer, another browser, or a SameSite cookie dropped on the way from the
    # mail: no session at all, neither for the page nor for the button.
    details = portal.apply_and_read_mail()
    viewer = portal.app.test_client(use_cookies=False)
    page = viewer.get(urlsplit(details["link"]).path)
    assert page.status_code == 200
    button = portal.app.test_client(use_cookies=False).post(
        "/account/activate/confirm", data={"token": _hidden_token(page.get_data(as_text=True))}
    )
    assert button.status_code == 302 and button.headers["Location"] == "/account/activated"
    assert portal.account(details["account_id"]).state == "activated"
    again = viewer.post("/account/activate/confirm", data={"token": _hidden_token(page.text)})
    assert again.status_code == 410  # single use, cookies or not


def test_without_the_token_a_post_needs_the_csrf_token(portal):
    # The token is the secret that stands in for the CSRF token; without one, CSRF applies.
    details = portal.apply_and_read_mail()
    viewer = portal.app.test_client(use_cookies=False)
    assert viewer.post("/account/activate/confirm", data={}).status_code == 400
    wrong = viewer.post("/account/activate/confirm", data={"token": "x" * 43})
    assert wrong.status_code == 410
    assert portal.account(details["account_id"]).state == "requested"


def test_post_activates_and_the_account_can_log_in(portal):
    details = portal.apply_and_read_mail()
    before = portal.login(VALID["business_id"], details["account_id"], details["password"])
    assert "此帳號尚未啟用" in text_of(before)
    response = portal.activate(details["link"])
    assert response.headers["Location"] == "/account/activated"
    assert "帳號已啟用" in text_of(portal.client.get("/account/activated"))
    account = portal.account(details["account_id"])
    assert account.state == "activated" and account.activated_at is not None
    assert account.activation_token_hash is None
    login = portal.login(VALID["business_id"], details["account_id"], details["password"])
    assert login.headers["Location"] == "/account/change-password"


def test_link_works_once(portal):
    details = portal.apply_and_read_mail()
    portal.activate(details["link"])
    again = portal.activate(details["link"])
    assert again.status_code == 410
    assert "此啟用連結無效或已使用過" in text_of(again)
    assert "/account/activate-again" in text_of(again)


def test_expired_link_shows_a_clear_page_and_a_way_to_a_fresh_mail(portal, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=True)
    details = portal.apply_and_read_mail()
    time_machine.move_to("2026-12-01 09:00:01", tick=True)  # 72 h and a second later
    response = portal.activate(details["link"])
    assert response.status_code == 410
    assert "此啟用連結已過期" in text_of(response)
    assert portal.account(details["account_id"]).state == "requested"

    again = portal.post(
        "/account/activate-again", {"business_id": VALID["business_id"], "email": VALID["email"]}
    )
    assert "新的啟用信件已寄出" in text_of(again)
    fresh = activation_details(portal.wait_mails(2)[1])
    assert fresh["account_id"] == details["account_id"]
    assert fresh["password"] != details["password"]
    assert portal.activate(fresh["link"]).headers["Location"] == "/account/activated"
    # The old password was replaced with the new mail's.
    old = portal.login(VALID["business_id"], details["account_id"], details["password"])
    assert old.status_code == 200
    new = portal.login(VALID["business_id"], details["account_id"], fresh["password"])
    assert new.status_code == 302


def test_resend_answers_the_same_for_unknown_and_activated_accounts(portal):
    details = portal.apply_and_read_mail()
    portal.activate(details["link"])
    answers = set()
    for business_id, email in [
        (VALID["business_id"], VALID["email"]),
        ("22099131", "nobody@example.com"),
    ]:
        response = portal.post(
            "/account/activate-again", {"business_id": business_id, "email": email}
        )
        answers.add(text_of(response).split('name="csrf_token"')[0])
    assert len(answers) == 1
    assert len(portal.smtp.mails) == 1


def test_unknown_token_is_refused(portal):
    portal.client.get("/account/activate/not-a-real-token")
    assert portal.post("/account/activate/confirm").status_code == 410
    portal.client.get("/account/activate/" + "x" * 500)
    assert portal.post("/account/activate/confirm").status_code == 410


def test_the_mailed_password_works_until_the_forced_change_replaces_it(portal):
    details = portal.apply_and_read_mail()
    portal.activate(details["link"])
    first = portal.login(VALID["business_id"], details["account_id"], details["password"])
    assert first.headers["Location"] == "/account/change-password"
    portal.logout()  # without choosing a password: it still works, and forces the change again
    again = portal.login(VALID["business_id"], details["account_id"], details["password"])
    assert again.headers["Location"] == "/account/change-password"
    assert portal.client.get("/account/").headers["Location"] == "/account/change-password"
    assert portal.change_password(OWN_PASSWORD).status_code == 302
    portal.logout()
    replaced = portal.login(VALID["business_id"], details["account_id"], details["password"])
    assert replaced.status_code == 200 and "登入失敗" in text_of(replaced)


def test_the_mailed_password_expires_a_day_after_a_late_activation(portal, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=True)
    early = portal.apply_and_read_mail()
    late = portal.apply_and_read_mail(email="second@example.com")
    time_machine.move_to("2026-11-30 09:00:00", tick=True)  # 48 h on: the links still work
    portal.activate(early["link"])
    portal.activate(late["link"])
    time_machine.move_to("2026-12-01 08:59:00", tick=True)  # the link is dead, the day is not
    ok = portal.login(VALID["business_id"], early["account_id"], early["password"])
    assert ok.headers["Location"] == "/account/change-password"
    portal.logout()
    time_machine.move_to("2026-12-01 09:00:01", tick=True)
    expired = portal.login(VALID["business_id"], late["account_id"], late["password"])
    assert expired.status_code == 200 and "登入失敗" in text_of(expired)
