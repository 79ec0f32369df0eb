"""Log in (seed 二): 統一編號 + account id + password, forced change, lockout, next."""

import pytest

from tests.helpers import OWN_PASSWORD, VALID, text_of

GENERIC = "登入失敗：請確認統一編號、電子身分帳號及密碼。"


def _warning(response) -> str:
    page = text_of(response)
    assert response.status_code == 200
    start = page.index('class="ia-alert"')
    return page[start : page.index("</div>", start)]


def test_success_leads_home(portal, account):
    response = portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD)
    assert response.headers["Location"] == "/account/"
    page = text_of(portal.client.get("/account/"))
    assert account["account_id"] in page and "僅能紙本申辦" in page


def test_every_failure_shows_the_same_warning(portal, account, app):
    cases = [
        (VALID["business_id"], "NOSUCHID", OWN_PASSWORD),  # unknown account
        (VALID["business_id"], account["account_id"], "wrong password!!"),
        ("22099131", account["account_id"], OWN_PASSWORD),  # another business's number
    ]
    warnings = {_warning(portal.login(*case)) for case in cases}
    assert len(warnings) == 1
    assert GENERIC in warnings.pop()
    # Locked: a wrong password still gets the same words (only the right one learns of the
    # lock, tests/test_lock.py).
    for _ in range(5):
        portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
    locked = portal.login(VALID["business_id"], account["account_id"], "another wrong one")
    assert _warning(locked) == _warning(portal.login(*cases[0]))
    assert portal.account(account["account_id"]).state == "locked"


def test_account_id_is_case_insensitive_and_full_width_tolerant(portal, account):
    lower = account["account_id"].lower()
    assert portal.login(VALID["business_id"], lower, OWN_PASSWORD).status_code == 302
    portal.logout()
    wide = "".join(chr(ord(c) + 0xFEE0) for c in account["account_id"])
    assert portal.login("０４５９５２５７", wide, OWN_PASSWORD).status_code == 302


def test_first_login_forces_a_password_change_before_anything_else(portal):
    details = portal.apply_and_read_mail()
    portal.activate(details["link"])
    response = portal.login(VALID["business_id"], details["account_id"], details["password"])
    assert response.headers["Location"] == "/account/change-password"
    for path in ("/account/", "/account/profile", "/host-page"):
        blocked = portal.client.get(path)
        assert blocked.status_code == 302
        assert blocked.headers["Location"] == "/account/change-password"
    page = text_of(portal.client.get("/account/change-password"))
    assert "您以系統寄發的密碼登入" in page
    assert 'name="old_password"' not in page  # proven seconds ago by logging in
    assert portal.change_password(OWN_PASSWORD).status_code == 302
    assert portal.client.get("/host-page").status_code == 200
    assert portal.client.get("/account/profile").status_code == 200


def test_the_activation_mail_says_how_long_the_password_works(portal, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=False)
    mail = portal.apply_and_read_mail()["mail"]
    for part in (mail.text, mail.html):
        assert "設定自己的密碼之前都有效" in part
        # The link's 72 hours, in Taipei time, or a day after activation if that is later.
        assert "2026年12月1日 17:00（臺北時間）" in part and "啟用後 24 小時" in part


def test_lockout_after_five_failures_and_unlock_after_the_period(portal, account, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=True)
    for attempt in range(1, 5):
        portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
        assert portal.account(account["account_id"]).failed_logins == attempt
        assert portal.account(account["account_id"]).state == "activated"
    portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
    locked = portal.account(account["account_id"])
    assert locked.state == "locked"
    # The right password is refused while locked, and told until when (in Taipei time) ...
    time_machine.move_to("2026-11-28 09:14:50", tick=True)
    response = portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD)
    assert "至 2026年11月28日 17:15（臺北時間）" in _warning(response)
    assert portal.client.get("/account/").status_code == 302  # not logged in
    # ... and works once the 15 minutes are over; the counter starts again.
    time_machine.move_to("2026-11-28 09:15:01", tick=True)
    response = portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD)
    assert response.status_code == 302
    unlocked = portal.account(account["account_id"])
    assert unlocked.state == "activated" and unlocked.failed_logins == 0


def test_success_resets_the_counter(portal, account):
    for _ in range(4):
        portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
    assert (
        portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD).status_code == 302
    )
    assert portal.account(account["account_id"]).failed_logins == 0


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "%2F%2Fevil.example",
        "/%0d%0aSet-Cookie:x=1",
        "http:/evil.example",
        "\\\\evil.example",
    ],
)
def test_next_redirects_only_to_same_origin_paths(portal, account, target):
    response = portal.login(
        VALID["business_id"], account["account_id"], OWN_PASSWORD, next_url=target
    )
    assert response.headers["Location"] == "/account/"


def test_next_to_a_local_path_is_followed(portal, account):
    response = portal.login(
        VALID["business_id"], account["account_id"], OWN_PASSWORD, next_url="/host-page"
    )
    assert response.headers["Location"] == "/host-page"


def test_host_pages_send_anonymous_visitors_to_login(client):
    response = client.get("/host-page")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")


def test_audit_records_success_and_failure_without_secrets(portal, account, app):
    portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
    portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD)
    from tests.hostapp import auth, db

    with app.app_context():
        Audit = auth.models.AuditEvent
        rows = db.session.scalars(
            db.select(Audit).where(Audit.event == "login").order_by(Audit.id)
        ).all()
        outcomes = [r.outcome for r in rows]
        assert outcomes[-2:] == ["wrong_password", "ok"]
        assert all(r.client_ip == "127.0.0.1" for r in rows)
        for row in db.session.scalars(db.select(Audit)).all():
            values = " ".join(str(getattr(row, c.key)) for c in Audit.__table__.columns)
            assert OWN_PASSWORD not in values and "wrong password" not in values


@pytest.mark.parametrize(
    "fields",
    [
        {"account_id": "ABC\x00DEF"},
        {"business_id": "0459\x005257"},
        {"account_id": "A" * 5000},
        {"business_id": "<script>alert(1)</script>"},
    ],
)
def test_hostile_login_input_is_a_form_error_not_a_crash(portal, account, fields):
    data = {
        "business_id": VALID["business_id"],
        "account_id": account["account_id"],
        "password": OWN_PASSWORD,
        **fields,
    }
    response = portal.post("/account/login", data)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert portal.account(account["account_id"]).failed_logins == 0


def test_hostile_forgot_password_input_is_a_form_error_not_a_crash(portal, account):
    for value in ("ABC\x00DEF", "x" * 5000, "A\r\nBcc: a@evil.example"):
        response = portal.post("/account/forgot-password", {"account_id": value})
        assert response.status_code == 200 and 'id="account_id-error"' in text_of(response)
    assert portal.settle() == []
