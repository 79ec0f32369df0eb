"""Edit basic data (seed 一.4)."""

import re

import pytest

from tests.helpers import OWN_PASSWORD, VALID, text_of

CHANGED = {
    "business_name": "經濟部測試二號股份有限公司",
    "responsible_person": "陳大文",
    "contact_person": "張小美",
    "phone": "0912-345-678",
    "address": "新北市板橋區中山路一段1號",
    "email": VALID["email"],
}


@pytest.fixture
def account(signed_in):
    return signed_in


def test_login_required(client):
    response = client.get("/account/profile")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_form_is_filled_from_the_account_and_business_id_is_not_editable(portal, account):
    page = text_of(portal.client.get("/account/profile"))
    assert f'value="{VALID["business_name"]}"' in page
    assert 'value="02 2311 2345 #123"' in page
    assert 'value="04595257" readonly' in page
    assert 'name="business_id"' not in page  # shown, never submitted


def test_submit_saves_and_business_id_cannot_be_changed(portal, account):
    response = portal.post(
        "/account/profile", {**CHANGED, "business_id": "22099131", "action": "save"}
    )
    assert response.status_code == 302
    assert "基本資料已儲存" in text_of(portal.client.get("/account/profile"))
    stored = portal.account(account["account_id"])
    assert stored.business_name == CHANGED["business_name"]
    assert stored.phone == "+886912345678" and stored.phone_ext is None
    assert stored.business_id == "04595257"
    assert portal.settle() == []  # no email change, no notice


def test_clear_empties_the_fields_without_javascript_and_saves_nothing(portal, account):
    response = portal.post("/account/profile", {**CHANGED, "action": "clear"})
    page = text_of(response)
    assert response.status_code == 200
    for name in CHANGED:
        (tag,) = re.findall(rf'<input [^>]*name="{name}"[^>]*>', page)
        assert 'value=""' in tag, tag
    assert portal.account(account["account_id"]).business_name == VALID["business_name"]


def test_invalid_data_changes_nothing(portal, account):
    response = portal.post("/account/profile", {**CHANGED, "phone": "123", "action": "save"})
    assert response.status_code == 200 and 'id="phone-error"' in text_of(response)
    assert portal.account(account["account_id"]).business_name == VALID["business_name"]


def test_new_email_needs_the_current_password_and_tells_the_old_address(portal, account):
    new = {**CHANGED, "email": "new-owner@example.com", "action": "save"}
    missing = portal.post("/account/profile", new)
    assert "變更電子郵件須輸入目前密碼" in text_of(missing)
    wrong = portal.post("/account/profile", {**new, "current_password": "nope nope nope"})
    assert "目前密碼不正確" in text_of(wrong)
    assert portal.account(account["account_id"]).email == VALID["email"]

    ok = portal.post("/account/profile", {**new, "current_password": OWN_PASSWORD})
    assert ok.status_code == 302
    stored = portal.account(account["account_id"])
    assert stored.email == "new-owner@example.com"
    notices = {m.recipients[0]: m for m in portal.settle()}
    assert set(notices) == {VALID["email"], "new-owner@example.com"}
    notice = notices[VALID["email"]]  # the old address hears of it
    assert "new-owner@example.com" in notice.text and notice.subject == "您帳號的電子郵件已變更"
