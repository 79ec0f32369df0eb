"""Forgot password (seed 一.3): a temporary password by mail, safely."""

from flask_industry_auth.models import BUSINESS_CERTIFICATE
from tests.helpers import OWN_PASSWORD, VALID, temporary_password, text_of


def _forgot(portal, account_id):
    return portal.post("/account/forgot-password", {"account_id": account_id})


def _answer(response) -> str:
    page = text_of(response)
    return page[page.index("<h1>") : page.index("</main>")]


def test_same_answer_whether_or_not_the_account_exists(portal, account, app):
    state = app.extensions["industry_auth"]
    before = state.hasher.computations
    known = _forgot(portal, account["account_id"])
    known_cost = state.hasher.computations - before
    unknown = _forgot(portal, "NOSUCH99")
    unknown_cost = state.hasher.computations - before - known_cost
    assert _answer(known) == _answer(unknown)
    assert known_cost == unknown_cost == 1
    assert len(portal.wait_mails(1)) == 1


def test_temporary_password_is_mailed_and_the_account_goes_to_reset(portal, account):
    _forgot(portal, account["account_id"])
    mail = portal.wait_mails(1)[0]
    assert mail.subject == "您的臨時密碼"
    assert account["account_id"] in mail.text
    stored = portal.account(account["account_id"])
    assert stored.state == "reset"
    assert temporary_password(mail) not in (stored.temp_password_hash or "")


def test_the_current_password_keeps_working_and_withdraws_the_temporary_one(portal, account):
    _forgot(portal, account["account_id"])
    temp = temporary_password(portal.wait_mails(1)[0])
    ok = portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD)
    assert ok.headers["Location"] == "/account/"
    assert portal.account(account["account_id"]).state == "activated"
    portal.logout()
    assert portal.login(VALID["business_id"], account["account_id"], temp).status_code == 200


def test_temporary_password_works_until_the_forced_change_replaces_it(portal, account):
    _forgot(portal, account["account_id"])
    temp = temporary_password(portal.wait_mails(1)[0])
    response = portal.login(VALID["business_id"], account["account_id"], temp)
    assert response.headers["Location"] == "/account/change-password"
    assert portal.client.get("/account/").headers["Location"] == "/account/change-password"
    assert portal.account(account["account_id"]).state == "activated"
    # Leaving the forced change and coming back: the same password, the same forced change.
    portal.logout()
    again = portal.login(VALID["business_id"], account["account_id"], temp)
    assert again.headers["Location"] == "/account/change-password"
    assert portal.change_password("a brand new passphrase 42").status_code == 302
    portal.logout()
    replaced = portal.login(VALID["business_id"], account["account_id"], temp)
    assert replaced.status_code == 200 and "登入失敗" in text_of(replaced)
    assert portal.account(account["account_id"]).temp_password_hash is None


def test_the_mailed_password_cannot_become_the_accounts_own(portal, account):
    _forgot(portal, account["account_id"])
    temp = temporary_password(portal.wait_mails(1)[0])
    portal.login(VALID["business_id"], account["account_id"], temp)
    refused = portal.change_password(temp)
    assert refused.status_code == 200
    assert portal.account(account["account_id"]).temp_password_hash is not None
    assert portal.change_password("a brand new passphrase 42").status_code == 302


def test_the_temporary_password_mail_says_until_when_and_until_what(portal, account, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=False)
    _forgot(portal, account["account_id"])
    mail = portal.wait_mails(1)[0]
    for part in (mail.text, mail.html):
        assert "2026年11月29日 17:00（臺北時間）" in part  # 24 hours, in Taipei time
        assert "設定自己的密碼之前都有效" in part
        assert "僅能使用一次" not in part


def test_temporary_password_expires(portal, account, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=True)
    _forgot(portal, account["account_id"])
    temp = temporary_password(portal.wait_mails(1)[0])
    time_machine.move_to("2026-11-29 09:00:01", tick=True)
    assert portal.login(VALID["business_id"], account["account_id"], temp).status_code == 200


def test_temporary_password_unlocks_a_locked_account(portal, account):
    for _ in range(5):
        portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
    assert portal.account(account["account_id"]).state == "locked"
    portal.forget_mails()  # the lockout notice
    _forgot(portal, account["account_id"])
    temp = temporary_password(portal.wait_mails(1)[0])
    # Still locked for the old password: asking for a reset is not a way around the lock.
    refused = portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD)
    assert refused.status_code == 200
    response = portal.login(VALID["business_id"], account["account_id"], temp)
    assert response.headers["Location"] == "/account/change-password"
    unlocked = portal.account(account["account_id"])
    assert unlocked.state == "activated" and unlocked.failed_logins == 0


def test_certificate_accounts_get_an_explanation(portal, account, app):
    portal.set_account_type(account["account_id"], BUSINESS_CERTIFICATE)
    page = text_of(_forgot(portal, account["account_id"]))
    assert "PIN 碼由憑證中心發給" in page
    mail = portal.wait_mails(1)[0]
    assert mail.subject == "關於您憑證帳號的密碼"
    assert "臨時密碼" not in mail.text
    assert portal.account(account["account_id"]).state == "activated"
    # And no password login for them at all.
    assert (
        portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD).status_code == 200
    )


def test_a_stranger_cannot_lock_the_owner_out(portal, account):
    for _ in range(3):
        _forgot(portal, account["account_id"])
    assert (
        portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD).status_code == 302
    )
