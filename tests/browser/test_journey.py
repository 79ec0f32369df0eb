"""The applicant's whole journey in a real browser (seed 一.1–一.5, 二)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import applicant, mail_details

OWN = "a long and private passphrase 2026"
NEWER = "another long passphrase for 2027"


def fill_application(page, data: dict) -> None:
    for name, value in data.items():
        page.fill(f"#{name}", value)


def apply(page, live, data: dict) -> None:
    page.goto(f"{live.url}/account/register")
    fill_application(page, data)
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", name="確認申請資料")).to_be_visible()
    for value in data.values():
        expect(page.locator("dl.ia-summary")).to_contain_text(value)
    page.get_by_role("button", name="申請帳號").click()
    expect(page.get_by_role("heading", name="申請已送出")).to_be_visible()


def read_latest_mail(page, live, count: int) -> dict:
    """Open the newest mail in the demo's mail viewer, as a newcomer would."""
    live.wait_mail(count)
    page.goto(f"{live.url}/mails")
    page.locator("ol li a").first.click()
    body = page.locator("pre").inner_text()
    return {**mail_details(type("Mail", (), {"text": body})), "body": body}


def log_in(page, live, business_id: str, account_id: str, password: str) -> None:
    page.goto(f"{live.url}/account/login")
    page.fill("#business_id", business_id)
    page.fill("#account_id", account_id)
    page.fill("#password", password)
    page.get_by_role("button", name="登入", exact=True).click()


def choose_password(page, password: str, old: str | None = None) -> None:
    if old is not None:
        page.fill("#old_password", old)
    page.fill("#new_password", password)
    page.fill("#confirm_password", password)
    page.get_by_role("button", name="送出").click()


def active_account(page, live) -> dict:
    data = applicant(live)
    before = live.mail_count()
    apply(page, live, data)
    mail = read_latest_mail(page, live, before + 1)
    page.locator("pre a[href*='/activate/']").click()
    page.get_by_role("button", name="啟用電子身分證").click()
    log_in(page, live, data["business_id"], mail["account_id"], mail["password"])
    choose_password(page, OWN)
    expect(page).to_have_url(f"{live.url}/account/")
    return {**data, **mail}


@pytest.fixture(params=["javascript", "no-javascript"])
def any_page(request, browser):
    """The journey works with JavaScript and without it (every non-certificate flow)."""
    context = browser.new_context(
        java_script_enabled=request.param == "javascript", viewport={"width": 1280, "height": 900}
    )
    yield context.new_page()
    context.close()


def test_the_whole_journey(any_page, live):
    page = any_page
    data = applicant(live)
    before = live.mail_count()
    apply(page, live, data)

    mail = read_latest_mail(page, live, before + 1)
    assert mail["account_id"] in mail["body"] and mail["password"]
    page.locator("pre a[href*='/activate/']").click()
    page.get_by_role("button", name="啟用電子身分證").click()
    expect(page.get_by_role("heading", name="帳號已啟用")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/account/activated$"))  # the token posted, gone

    # First login with the mailed password: a password of one's own comes first.
    log_in(page, live, data["business_id"], mail["account_id"], mail["password"])
    expect(page).to_have_url(f"{live.url}/account/change-password")
    page.goto(f"{live.url}/")
    expect(page).to_have_url(f"{live.url}/account/change-password")
    choose_password(page, OWN)
    expect(page.get_by_text("密碼已變更")).to_be_visible()

    # 修改基本資料: filled from the account; 清除 empties; 送出 saves.
    page.goto(f"{live.url}/account/profile")
    expect(page.locator("#business_name")).to_have_value(data["business_name"])
    expect(page.locator("#business_id")).to_have_attribute("readonly", "")
    page.get_by_role("button", name="清除").click()
    expect(page.locator("#business_name")).to_have_value("")
    fill_application(page, {k: v for k, v in data.items() if k != "business_id"})
    page.fill("#address", "新北市板橋區中山路一段1號")
    page.get_by_role("button", name="送出").click()
    expect(page.get_by_text("基本資料已儲存")).to_be_visible()
    expect(page.locator("#address")).to_have_value("新北市板橋區中山路一段1號")

    # 更改密碼, then 登出.
    page.goto(f"{live.url}/account/change-password")
    choose_password(page, NEWER, old=OWN)
    expect(page.get_by_text("密碼已變更")).to_be_visible()
    page.get_by_role("button", name="登出").click()
    expect(page.get_by_text("您已登出")).to_be_visible()

    # 忘記密碼, then log in with the temporary password.
    count = live.mail_count()
    page.goto(f"{live.url}/account/forgot-password")
    page.fill("#account_id", mail["account_id"])
    page.get_by_role("button", name="查詢").click()
    expect(page.get_by_role("status")).to_contain_text("若此電子身分帳號存在")
    temp = read_latest_mail(page, live, count + 1)
    log_in(page, live, data["business_id"], mail["account_id"], temp["password"])
    expect(page).to_have_url(f"{live.url}/account/change-password")
    choose_password(page, "yet another long passphrase 2028")
    expect(page).to_have_url(f"{live.url}/account/")


def test_lockout_after_five_failures(page, live):
    account = active_account(page, live)
    page.get_by_role("button", name="登出").click()
    for _ in range(5):
        log_in(page, live, account["business_id"], account["account_id"], "wrong password!!")
        expect(page.get_by_role("alert")).to_contain_text("登入失敗")
    log_in(page, live, account["business_id"], account["account_id"], OWN)
    expect(page.get_by_role("alert")).to_contain_text("登入失敗")  # locked, same words
    expect(page).to_have_url(f"{live.url}/account/login")


def test_an_invalid_business_id_is_marked_at_its_field(page, live):
    page.goto(f"{live.url}/account/register")
    fill_application(page, {**applicant(live), "business_id": "04595258"})
    page.get_by_role("button", name="下一步").click()
    field = page.locator("#business_id")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#business_id-error")).to_contain_text("統一編號")
    expect(page.get_by_role("heading", name="建立非憑證帳號")).to_be_visible()


def test_a_duplicate_submit_creates_one_account(page, live):
    data = applicant(live)
    before = live.mail_count()
    page.goto(f"{live.url}/account/register")
    fill_application(page, data)
    page.get_by_role("button", name="下一步").click()
    # A double click on 申請帳號 sends the form twice.
    page.get_by_role("button", name="申請帳號").dblclick()
    expect(page.get_by_role("heading", name="申請已送出")).to_be_visible()
    apply(page, live, data)  # and the impatient applicant applies once more
    live.wait_mail(before + 1)
    with live.app.app_context():
        from flask_industry_auth.mail import wait_for_delivery

        wait_for_delivery()
    # One application: one activation mail, and no "someone applied again" for a repeat.
    subjects = [m.subject for m in live.sink.mails[before:] if data["email"] in m.recipients]
    assert subjects == ["啟用您的電子身分證"]
    with live.app.app_context():
        from examples.portal.app import auth, db

        Account = auth.account_model
        assert (
            db.session.scalar(
                db.select(db.func.count())
                .select_from(Account)
                .where(Account.email_key == data["email"])
            )
            == 1
        )
