"""Change password (seed 一.5): old, new, confirm; the policy; other sessions end."""

import pytest

from tests.helpers import OWN_PASSWORD, VALID, Portal, text_of

NEW = "a brand new passphrase 77"


@pytest.fixture
def account(signed_in):
    return signed_in


def _change(portal, old, new, confirm=None):
    return portal.change_password(new, old=old, confirm=confirm)


def _unchanged(portal, account):
    portal.logout()
    ok = portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD)
    assert ok.status_code == 302


def test_the_form_has_the_manuals_fields(portal, account):
    page = text_of(portal.client.get("/account/change-password"))
    for label in ("舊密碼", "新密碼", "新密碼確認", "送出", "清除"):
        assert label in page
    assert 'autocomplete="current-password"' in page and 'autocomplete="new-password"' in page


@pytest.mark.parametrize(
    ("old", "new", "confirm", "message"),
    [
        ("wrong old password", NEW, None, "舊密碼不正確"),
        (OWN_PASSWORD, NEW, NEW + "x", "兩次輸入的新密碼不一致"),
        (OWN_PASSWORD, "short pw", None, "請至少使用 12 個字元"),
        (OWN_PASSWORD, "x" * 257, None, "請最多使用 256 個字元"),
        (OWN_PASSWORD, "password1234", None, "此密碼太常見"),
        (OWN_PASSWORD, "qwertyuiop123", None, "此密碼太常見"),
        (OWN_PASSWORD, "my company 04595257!", None, "密碼不得包含您的統一編號"),
        (OWN_PASSWORD, OWN_PASSWORD, None, "新密碼不得與前 3 次使用過的密碼相同"),
    ],
)
def test_each_problem_gets_a_clear_message_and_changes_nothing(
    portal, account, old, new, confirm, message
):
    response = _change(portal, old, new, confirm)
    assert response.status_code == 200
    assert message in text_of(response)
    assert portal.settle() == []
    _unchanged(portal, account)


def test_account_id_inside_the_password_is_refused(portal, account):
    response = _change(portal, OWN_PASSWORD, f"my id is {account['account_id']} ok")
    assert "密碼不得包含您的統一編號" in text_of(response)


def test_not_one_of_the_last_three(portal, account):
    second, third, fourth = (f"passphrase number {n} for test" for n in ("two", "three", "four"))
    for old, new in ((OWN_PASSWORD, second), (second, third)):
        assert _change(portal, old, new).status_code == 302
    # OWN_PASSWORD is two changes back: still among the last three.
    assert "前 3 次" in text_of(_change(portal, third, OWN_PASSWORD))
    assert _change(portal, third, fourth).status_code == 302
    # Now OWN_PASSWORD has dropped out of the last three and is allowed again.
    assert _change(portal, fourth, OWN_PASSWORD).status_code == 302


def test_success_ends_other_sessions_and_mails_a_notice(portal, account, app, smtp):
    other = Portal(app, app.test_client(), smtp)
    assert other.login(VALID["business_id"], account["account_id"], OWN_PASSWORD).status_code == 302
    assert other.client.get("/account/").status_code == 200

    assert _change(portal, OWN_PASSWORD, NEW).headers["Location"] == "/account/"
    assert portal.client.get("/account/").status_code == 200  # this session goes on
    assert other.client.get("/account/").status_code == 302  # the other one is over
    (notice,) = portal.settle()
    assert notice.subject == "您的密碼已變更" and NEW not in notice.text
    portal.logout()
    assert portal.login(VALID["business_id"], account["account_id"], NEW).status_code == 302


def test_clear_empties_the_fields(portal, account):
    response = portal.post(
        "/account/change-password",
        {
            "old_password": OWN_PASSWORD,
            "new_password": NEW,
            "confirm_password": NEW,
            "action": "clear",
        },
    )
    assert response.status_code == 200
    assert OWN_PASSWORD not in text_of(response) and NEW not in text_of(response)
    _unchanged(portal, account)


def test_nfc_and_nfd_forms_of_a_password_are_the_same(portal, account):
    nfc, nfd = "café passphrase ünïcode", "cafe\u0301 passphrase u\u0308ni\u0308code"
    assert _change(portal, OWN_PASSWORD, nfc).status_code == 302
    portal.logout()
    assert portal.login(VALID["business_id"], account["account_id"], nfd).status_code == 302


def test_not_offered_to_certificate_accounts(portal, account, app):
    from flask_industry_auth.models import BUSINESS_CERTIFICATE

    portal.set_account_type(account["account_id"], BUSINESS_CERTIFICATE)
    page = text_of(portal.client.get("/account/change-password"))
    assert "PIN 碼由憑證中心發給，無法在本系統變更" in page
    assert 'name="new_password"' not in page
    assert "/account/change-password" not in text_of(portal.client.get("/account/"))
    response = _change(portal, OWN_PASSWORD, NEW)
    assert response.status_code == 200 and 'name="new_password"' not in text_of(response)
    assert portal.settle() == []


def test_length_is_counted_in_code_points_not_bytes(portal, account):
    # Twelve Chinese characters are 36 bytes of UTF-8 but twelve characters: enough.
    assert "請至少使用 12 個字元" in text_of(
        _change(portal, OWN_PASSWORD, "工業核證無紙化系統建置計"[:11])
    )
    assert _change(portal, OWN_PASSWORD, "工業核證無紙化系統建置計").status_code == 302


def test_long_passphrases_are_kept_whole(portal, account):
    long = "長" * 200 + "x" * 56  # 256 code points: allowed, and not truncated
    assert _change(portal, OWN_PASSWORD, long).status_code == 302
    portal.logout()
    assert (
        portal.login(VALID["business_id"], account["account_id"], long[:-1] + "y").status_code
        == 200
    )
    assert portal.login(VALID["business_id"], account["account_id"], long).status_code == 302
