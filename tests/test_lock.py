"""Issue 16.1: a lock the owner understands. The right password for a locked account learns
that it is locked, until when and how to get in now; a wrong one learns nothing. A lock by
staff is its own kind: mailed with its reason, told as "contact the agency", and not undone
by forgot password."""

from __future__ import annotations

from flask_industry_auth.config import DEFAULTS
from flask_industry_auth.flows import operations
from tests.helpers import OWN_PASSWORD, VALID, Portal, temporary_password, text_of

GENERIC = "登入失敗：請確認統一編號、電子身分帳號及密碼。"
WRONG = "wrong password!!"


def _warning(response) -> str:
    page = text_of(response)
    assert response.status_code == 200, response.status_code
    start = page.index('class="ia-alert"')
    return page[start : page.index("</div>", start)]


def _fail_five_times(portal, account_id):
    for _ in range(5):
        portal.login(VALID["business_id"], account_id, WRONG)
    assert portal.account(account_id).state == "locked"


def test_the_owner_is_told_the_lock_and_when_it_ends(portal, account, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=False)
    _fail_five_times(portal, account["account_id"])
    right = _warning(portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD))
    # 09:15 UTC is 17:15 in Taipei.
    assert "暫時鎖定" in right and "2026年11月28日 17:15（臺北時間）" in right
    assert "忘記密碼" in right and GENERIC not in right
    wrong = _warning(portal.login(VALID["business_id"], account["account_id"], WRONG))
    assert wrong == _warning(portal.login(VALID["business_id"], "NOSUCHID", WRONG))
    assert GENERIC in wrong


def test_the_lock_message_is_in_english_too(portal, account, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=False)
    _fail_five_times(portal, account["account_id"])
    portal.post("/account/language", {"locale": "en", "next": "/account/login"})
    right = _warning(portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD))
    assert "locked" in right and "2026-11-28 17:15 (Taipei time)" in right


def test_with_the_default_limits_the_owner_reaches_the_lock_message(make, smtp):
    # The per-account limit used to equal the lockout count: the 6th attempt, the owner's
    # right password, was a bare 429.
    app = make(
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT=DEFAULTS[
            "INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT"
        ]
    )
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    portal.logout()
    _fail_five_times(portal, details["account_id"])
    right = portal.login(VALID["business_id"], details["account_id"], OWN_PASSWORD)
    assert right.status_code == 200 and "暫時鎖定" in _warning(right)


def test_the_lock_mail_says_until_when(portal, account, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=False)
    _fail_five_times(portal, account["account_id"])
    (mail,) = portal.settle()
    assert "2026年11月28日 17:15（臺北時間）" in mail.text
    assert "2026年11月28日 17:15（臺北時間）" in mail.html


def test_a_staff_lock_is_mailed_with_its_reason(app, portal, account):
    with app.app_context():
        operations.perform(account["account_id"], "lock", actor="staff:lin", reason="疑似遭冒用")
    (mail,) = portal.settle()
    assert mail.subject == "您的帳號已由承辦機關鎖定"
    assert account["account_id"] in mail.text and "疑似遭冒用" in mail.text
    assert "疑似遭冒用" in mail.html and "請洽承辦機關" in mail.text
    stored = portal.account(account["account_id"])
    assert stored.state == "locked" and stored.locked_until is None


def test_a_staff_lock_without_a_reason_is_mailed_too(app, portal, account):
    with app.app_context():
        operations.perform(account["account_id"], "lock", actor="staff:lin")
    (mail,) = portal.settle()
    assert mail.subject == "您的帳號已由承辦機關鎖定" and "原因" not in mail.text


def test_a_staff_lock_tells_the_owner_to_contact_the_agency(app, portal, account):
    with app.app_context():
        operations.perform(account["account_id"], "lock", actor="staff:lin")
    right = _warning(portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD))
    assert "請洽承辦機關" in right and "忘記密碼" in right and GENERIC not in right
    wrong = _warning(portal.login(VALID["business_id"], account["account_id"], WRONG))
    assert GENERIC in wrong and "承辦機關" not in wrong


def test_forgot_password_does_not_undo_a_staff_lock(app, portal, account):
    with app.app_context():
        operations.perform(account["account_id"], "lock", actor="staff:lin")
    portal.forget_mails()
    done = portal.post("/account/forgot-password", {"account_id": account["account_id"]})
    assert done.status_code == 200
    assert portal.settle() == []  # no temporary password is issued
    stored = portal.account(account["account_id"])
    assert stored.temp_password_hash is None and stored.state == "locked"


def test_a_temporary_password_from_before_a_staff_lock_does_not_unlock(app, portal, account):
    portal.post("/account/forgot-password", {"account_id": account["account_id"]})
    temp = temporary_password(portal.wait_mails(1)[0])
    with app.app_context():
        operations.perform(account["account_id"], "lock", actor="staff:lin")
    response = portal.login(VALID["business_id"], account["account_id"], temp)
    assert "請洽承辦機關" in _warning(response)
    assert portal.client.get("/account/").status_code == 302  # not logged in
    assert portal.account(account["account_id"]).state == "locked"
    # Staff unlock does not revive it: the owner asks again, or logs in with their own.
    with app.app_context():
        operations.perform(account["account_id"], "unlock", actor="staff:lin")
    stored = portal.account(account["account_id"])
    assert stored.temp_password_hash is None and stored.temp_password_expires_at is None
    again = portal.login(VALID["business_id"], account["account_id"], temp)
    assert GENERIC in _warning(again)
    own = portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD)
    assert own.status_code == 302 and own.headers["Location"] != "/account/change-password"


def test_a_lock_after_failures_keeps_the_owners_temporary_password_when_it_ends(
    portal, account, time_machine
):
    time_machine.move_to("2026-11-28 09:00:00", tick=False)
    _fail_five_times(portal, account["account_id"])
    portal.forget_mails()
    portal.post("/account/forgot-password", {"account_id": account["account_id"]})
    temp = temporary_password(portal.wait_mails(1)[0])
    time_machine.shift(DEFAULTS["INDUSTRY_AUTH_LOCKOUT_SECONDS"] + 1)  # the lock has ended
    response = portal.login(VALID["business_id"], account["account_id"], temp)
    assert response.headers["Location"] == "/account/change-password"


def test_a_failure_lock_is_still_undone_by_forgot_password(portal, account):
    _fail_five_times(portal, account["account_id"])
    portal.forget_mails()
    portal.post("/account/forgot-password", {"account_id": account["account_id"]})
    temp = temporary_password(portal.wait_mails(1)[0])
    response = portal.login(VALID["business_id"], account["account_id"], temp)
    assert response.headers["Location"] == "/account/change-password"
    assert portal.account(account["account_id"]).state == "activated"


def test_the_429_page_says_when_to_try_again(make, smtp, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=False)
    app = make(INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="2/15minutes")
    portal = Portal(app, app.test_client(), smtp)
    for n in range(2):
        assert portal.login(VALID["business_id"], f"OTHER{n}", WRONG).status_code == 200
    limited = portal.login(VALID["business_id"], "OTHER9", WRONG)
    assert limited.status_code == 429
    assert 890 <= int(limited.headers["Retry-After"]) <= 901
    page = text_of(limited)
    assert "2026年11月28日 17:15（臺北時間）" in page and "15 分鐘" in page
    portal.post("/account/language", {"locale": "en", "next": "/account/login"})
    english = text_of(portal.login(VALID["business_id"], "OTHER9", WRONG))
    assert "2026-11-28 17:15 (Taipei time)" in english and "15 minutes" in english


def test_the_lock_bounds_its_own_oracle_when_no_rate_limit_does(make, smtp, time_machine):
    # With the rate limit off (or counting per process), guesses during a lock are still
    # bounded: after as many wrong passwords again as locked the account, the right one is
    # told nothing more than a wrong one, until the lock ends.
    time_machine.move_to("2026-11-28 09:00:00", tick=False)
    app = make(INDUSTRY_AUTH_RATELIMIT_ENABLED=False)
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    portal.logout()
    account_id = details["account_id"]
    _fail_five_times(portal, account_id)
    for _ in range(4):
        portal.login(VALID["business_id"], account_id, WRONG)
    assert "暫時鎖定" in _warning(portal.login(VALID["business_id"], account_id, OWN_PASSWORD))
    portal.login(VALID["business_id"], account_id, WRONG)  # the 10th failure
    stored = portal.account(account_id)
    assert stored.failed_logins == 10 and stored.state == "locked"
    assert GENERIC in _warning(portal.login(VALID["business_id"], account_id, OWN_PASSWORD))
    # No new lock and no new mail came of the failures during the lock: one lock mail.
    portal.settle()
    assert sum("鎖定" in m.subject for m in portal.smtp.mails) == 1
    time_machine.shift(DEFAULTS["INDUSTRY_AUTH_LOCKOUT_SECONDS"] + 1)
    ended = portal.login(VALID["business_id"], account_id, OWN_PASSWORD)
    assert ended.status_code == 302  # the lock ended by itself: the count starts again


def test_a_staff_lock_bounds_its_oracle_too(app, portal, account):
    with app.app_context():
        operations.perform(account["account_id"], "lock", actor="staff:lin")
    for _ in range(10):
        portal.login(VALID["business_id"], account["account_id"], WRONG)
    right = _warning(portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD))
    assert GENERIC in right and "承辦機關" not in right


def test_disable_then_enable_does_not_revive_a_refused_temporary_password(app, portal, account):
    portal.post("/account/forgot-password", {"account_id": account["account_id"]})
    temp = temporary_password(portal.wait_mails(1)[0])
    with app.app_context():
        operations.perform(account["account_id"], "lock", actor="staff:lin")
        operations.perform(account["account_id"], "disable", actor="staff:lin")
        operations.perform(account["account_id"], "enable", actor="staff:lin")
    assert portal.account(account["account_id"]).temp_password_hash is None
    assert GENERIC in _warning(portal.login(VALID["business_id"], account["account_id"], temp))
