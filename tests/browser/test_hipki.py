"""The HiPKI component as applicants meet it: the demo portal's real card forms in Chromium,
talking to a stand-in HiPKI (flask_industry_auth.testing_hipki) on a port of its own, as the
real service on localhost:61161 is, through the real protocol: the card list read from the
pixels of p11Image.bmp, the popup's getTbs / MakeSignature / sign, its error codes, addDomain.

Chromium runs here with its popup blocker on (Playwright turns it off by default): a popup
opened anywhere but inside the click would not open at all.
"""

from __future__ import annotations

import json
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from examples.portal.devsigner import CARDS, DEMO_BUSINESS_ID, DEMO_PIN, PKI_FOLDER
from flask_industry_auth import hipki
from flask_industry_auth.testing import TestPKI
from flask_industry_auth.testing_hipki import HiPKIStandIn, Slot
from flask_industry_auth.testkit import free_port
from tests.browser.conftest import CHROMIUM, applicant, mail_details

READER = "Generic USB Smart Card Reader 0"
OTHER_READER = "Generic USB Smart Card Reader 1"
LOG_IN = "以憑證卡登入"


@pytest.fixture(scope="module")
def browser(live):
    """Chromium as applicants have it: with its popup blocker. (After the portal: Playwright's
    event loop must not be running while the app starts.)"""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            headless=True,
            ignore_default_args=["--disable-popup-blocking"],
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic"],
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def cards():
    """The demo's cards (the demo portal trusts their PKI)."""
    _pki, loaded = TestPKI.load(PKI_FOLDER, CARDS)
    return loaded


@pytest.fixture
def standin(live, cards):
    """A stand-in HiPKI on its own port, one reader holding the demo 自然人憑證 (no account
    uses it: a signature the portal verified is answered "no account yet"); the portal's pages
    point at it for the test."""
    service = HiPKIStandIn([Slot(READER, cards["citizen"], pin=DEMO_PIN)]).start()
    # Each signing asks for a challenge (30 a minute per address): this module asks for more.
    live.app.extensions["industry_auth"].limiter.reset()
    with pointed_at(live, service.url):
        yield service
    service.stop()


@contextmanager
def pointed_at(live, url: str, popup: str = "/popupForm"):
    config = live.app.config
    saved = config["INDUSTRY_AUTH_HIPKI_URL"], config["INDUSTRY_AUTH_HIPKI_POPUP_PATH"]
    config["INDUSTRY_AUTH_HIPKI_URL"], config["INDUSTRY_AUTH_HIPKI_POPUP_PATH"] = url, popup
    try:
        yield
    finally:
        config["INDUSTRY_AUTH_HIPKI_URL"], config["INDUSTRY_AUTH_HIPKI_POPUP_PATH"] = saved


@contextmanager
def portal_headers(live, **headers: str):
    """The portal sends ``headers`` on every response (a host's own security headers)."""
    app = live.app
    inner = app.wsgi_app
    extra = [(name.replace("_", "-"), value) for name, value in headers.items()]

    def wrapped(environ, start_response):
        def start(status, response_headers, exc_info=None):
            return start_response(status, [*response_headers, *extra], exc_info)

        return inner(environ, start)

    app.wsgi_app = wrapped
    try:
        yield
    finally:
        app.wsgi_app = inner


def error(page):
    return page.locator("[data-ia-hipki-error]")


def sign_in(page, live, pin: str = DEMO_PIN, *, card: str | None = None, goto: bool = True):
    """The login page's certificate form: (choose the card,) type the PIN, click."""
    if goto:
        page.goto(f"{live.url}/account/login?type=business")
    if card is not None:
        page.locator("[data-ia-card]").select_option(card)
    page.fill("#ia-pin-login", pin)
    page.locator("form[data-ia-sign] button[type=submit]").click()


def no_account_yet(page):
    """The portal verified the signature, and no account uses this card yet."""
    expect(page.get_by_role("alert")).to_contain_text("尚無帳號使用此憑證")


# -- success ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def business_account(live, browser, cards):
    """An active certificate account of the demo 工商憑證, applied for in the browser."""
    standin = HiPKIStandIn([Slot(READER, cards["business"], pin=DEMO_PIN)]).start()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-TW")
    page = context.new_page()
    try:
        with pointed_at(live, standin.url):
            data = {**applicant(live), "business_id": DEMO_BUSINESS_ID}
            before = live.mail_count()
            page.goto(f"{live.url}/account/register/certificate")
            for name, value in data.items():
                page.fill(f"#{name}", value)
            page.get_by_role("button", name="下一步").click()
            page.fill("#ia-pin-apply", DEMO_PIN)
            with page.expect_popup():
                page.get_by_role("button", name="以憑證卡簽章並申請帳號").click()
            expect(page.get_by_role("heading", name="申請已送出")).to_be_visible()
            link = mail_details(live.wait_mail(before + 1))["link"]
            page.goto(link)
            page.get_by_role("button", name="啟用電子身分證").click()
            expect(page.get_by_role("heading", name="帳號已啟用")).to_be_visible()
    finally:
        context.close()
        standin.stop()
    return data


@pytest.mark.parametrize("popup_path", ["/popupForm", "/ChtPopupForm"])
def test_the_card_logs_in_through_either_popup_page(
    page, live, standin, cards, business_account, popup_path
):
    standin.slots = [Slot(READER, cards["business"], pin=DEMO_PIN)]
    with pointed_at(live, standin.url, popup=popup_path):
        page.goto(f"{live.url}/account/login?type=business")
        page.fill("#ia-pin-login", DEMO_PIN)
        with page.expect_popup() as opened:
            page.get_by_role("button", name=LOG_IN).click()
        assert opened.value.url == standin.url + popup_path
        expect(page).to_have_url(f"{live.url}/account/")
    package = standin.requests[-1]
    assert package["func"] == "MakeSignature" and package["signatureType"] == "PKCS7"
    assert package["slotDescription"] == READER  # the one card, chosen for HiPKI
    assert package["tbs"].startswith("flask_industry_auth:login:")


def test_the_popup_opens_inside_the_click_at_a_usable_size(page, live, standin):
    # Chromium's popup blocker is on: a window opened without a click (at load) is stopped.
    page.add_init_script(
        "addEventListener('load', () => {"
        " window.__blocked = window.open('about:blank') === null; })"
    )
    page.goto(f"{live.url}/account/login?type=business")
    page.wait_for_function("window.__blocked !== undefined")
    assert page.evaluate("window.__blocked") is True
    held = []
    page.route("**/certificate/challenge", lambda route: held.append(route))  # never answered
    page.fill("#ia-pin-login", DEMO_PIN)
    with page.expect_popup() as opened:
        page.get_by_role("button", name=LOG_IN).click()
    popup = opened.value
    popup.wait_for_load_state()
    assert popup.url == f"{standin.url}/popupForm"
    assert popup.evaluate("window.innerWidth") >= 400
    assert popup.evaluate("window.innerHeight") >= 300
    expect(popup.get_by_role("status")).to_contain_text("Waiting for the page")


def test_the_window_opens_before_the_challenge_is_asked_for(page, live, standin):
    # When the page opens its window, when it fetches its challenge, and whether the click
    # was still "active" (what popup blockers look at) when the window opened.
    page.goto(f"{live.url}/account/login?type=business")
    page.evaluate(
        """() => {
          window.__order = [];
          const open = window.open, fetch_ = window.fetch;
          window.open = function () {
            window.__order.push(["open", navigator.userActivation.isActive]);
            return open.apply(this, arguments);
          };
          window.fetch = function () {
            window.__order.push(["fetch", null]);
            return new Promise(() => {});  // the challenge never comes: the page stays
          };
        }"""
    )
    page.fill("#ia-pin-login", DEMO_PIN)
    with page.expect_popup():
        page.get_by_role("button", name=LOG_IN).click()
    assert page.evaluate("window.__order") == [["open", True], ["fetch", None]]


def test_the_applicant_chooses_among_several_cards(page, live, standin, cards, business_account):
    standin.slots = [
        Slot(READER, cards["citizen"], pin=DEMO_PIN),
        Slot(OTHER_READER, cards["business"], pin=DEMO_PIN),
    ]
    page.goto(f"{live.url}/account/login?type=business")
    choice = page.get_by_label("用來簽章的卡片")
    expect(choice).to_be_visible()
    assert choice.locator("option").all_inner_texts() == [
        f"示範 王大明（{READER}）",
        f"示範股份有限公司（{OTHER_READER}）",
    ]
    with page.expect_popup():
        sign_in(page, live, card=OTHER_READER, goto=False)
    # The second card signed (HiPKI alone would take the first, which has no account).
    expect(page).to_have_url(f"{live.url}/account/")
    assert standin.requests[-1]["slotDescription"] == OTHER_READER


# -- what HiPKI answers, in the applicant's words ------------------------------------------------


def test_a_wrong_pin_tells_the_tries_left_then_the_lock(page, live, standin):
    page.goto(f"{live.url}/account/login?type=business")
    for expected in ("剩餘兩次機會", "僅剩一次機會", "已被鎖住"):
        with page.expect_popup():
            sign_in(page, live, "654321", goto=False)
        expect(error(page)).to_contain_text(expected)
        expect(page.locator("#ia-pin-login")).to_have_value("")  # typed again, not kept
    with page.expect_popup():
        sign_in(page, live, goto=False)  # even the right PIN: the card is locked
    expect(error(page)).to_contain_text("卡片因 PIN 碼錯誤次數過多已被鎖住")


def test_a_locked_card(page, live, standin):
    standin.slots[0].tries = 0
    with page.expect_popup():
        sign_in(page, live)
    expect(error(page)).to_contain_text("請向發卡的憑證管理中心辦理解鎖")


def test_no_card_in_the_reader_in_both_languages(page, live, standin):
    standin.slots = [Slot(READER, None)]
    with page.expect_popup():
        sign_in(page, live)
    expect(error(page)).to_contain_text("讀卡機中沒有卡片")
    page.locator(".ia-lang button", has_text="English").click()
    with page.expect_popup():
        sign_in(page, live)
    expect(error(page)).to_contain_text("No card is in the card reader.")


def test_no_card_reader(page, live, standin):
    standin.slots = []
    with page.expect_popup():
        sign_in(page, live)
    expect(error(page)).to_contain_text("找不到讀卡機")


def test_an_empty_pin_is_asked_for_without_a_window(page, live, standin):
    page.goto(f"{live.url}/account/login?type=business")
    page.get_by_role("button", name=LOG_IN).click()
    expect(error(page)).to_contain_text("請輸入卡片的 PIN 碼")
    expect(page.locator("#ia-pin-login")).to_be_focused()
    assert len(page.context.pages) == 1


def test_a_site_hipki_does_not_trust_is_added_with_its_own_window(page, live, standin):
    standin.trusted = {"portal.example.gov.tw"}
    with page.expect_popup():
        sign_in(page, live)
    expect(error(page)).to_contain_text("HiPKI 元件尚未信任本網站")
    with page.expect_popup() as opened:
        error(page).get_by_role("button", name="將本網站加入 HiPKI 信任網站").click()
    window = opened.value
    assert window.url == f"{standin.url}/addDomain?domain=127.0.0.1"
    window.get_by_role("button", name="加入 Add").click()
    expect(window.get_by_role("status")).to_contain_text("127.0.0.1")
    window.close()
    assert "127.0.0.1" in standin.trusted
    expect(error(page)).to_be_hidden()  # the page looked again: trusted now
    with page.expect_popup():
        sign_in(page, live, goto=False)
    no_account_yet(page)


def test_a_missing_component_is_told_within_four_seconds(page, live):
    with pointed_at(live, f"http://127.0.0.1:{free_port()}"):  # nothing listens there
        page.goto(f"{live.url}/account/login?type=business")
        page.fill("#ia-pin-login", DEMO_PIN)
        started = time.monotonic()
        page.get_by_role("button", name=LOG_IN).click()
        expect(error(page)).to_contain_text("尚未安裝或尚未執行 HiPKI 簽章元件", timeout=6000)
        assert time.monotonic() - started < 5
    download = error(page).get_by_role("link", name="下載 HiPKI 元件（內政部憑證管理中心）")
    expect(download).to_have_attribute("href", hipki.DOWNLOAD_URL)
    assert len(page.context.pages) == 1  # the dead window was closed


def test_a_component_too_old_is_told_with_its_version(page, live, standin):
    standin.version = "1.3.3.9"
    page.goto(f"{live.url}/account/login?type=business")
    page.locator(".ia-lang button", has_text="English").click()
    with page.expect_popup():
        sign_in(page, live)
    expect(error(page)).to_contain_text("Your HiPKI component (version 1.3.3.9) is too old")
    expect(error(page)).to_contain_text("1.3.4.3")  # Linux's minimum: this Chromium's platform
    expect(error(page).get_by_role("link")).to_have_attribute("href", hipki.DOWNLOAD_URL)
    assert standin.requests == []  # nothing was sent to the old component


@pytest.mark.parametrize(
    ("ret_code", "last_error", "told"),
    [
        (hipki.CANCELLED, None, "已取消簽章"),
        (hipki.PIN_MISSING, None, "請輸入卡片的 PIN 碼"),
        (hipki.LOGIN_FAILED, hipki.PIN_WRONG, "PIN 碼錯誤。請確認後再試一次"),
        (hipki.LOGIN_FAILED, hipki.PIN_LENGTH, "PIN 碼長度錯誤"),
        (hipki.LOGIN_FAILED, None, "IC 卡登入失敗"),
        (hipki.LOGIN_FAILED, hipki.ONE_TRY_LEFT, "僅剩一次機會"),  # sent as -2147483647
        (hipki.FORBIDDEN_DOMAIN, None, "HiPKI 元件尚未信任本網站"),
        (hipki.EXPIRED, None, "您的憑證已過期"),
        (hipki.NOT_YET_VALID, None, "憑證尚未生效"),
        (hipki.COMPONENT_FAILED, None, "HiPKI 元件執行錯誤或逾時"),
        (hipki.CERTIFICATE_NOT_FOUND, None, "找不到卡片上的簽章憑證"),
        (hipki.UNSUPPORTED_CA, None, "不支援這張卡片的憑證管理中心"),
        (0x76000123, None, "HiPKI 錯誤碼 0x76000123"),
    ],
    ids=lambda value: hex(value) if isinstance(value, int) else None,
)
def test_each_return_code_is_told_in_words(page, live, standin, ret_code, last_error, told):
    standin.answer_next(ret_code, last_error)
    with page.expect_popup():
        sign_in(page, live)
    expect(error(page)).to_contain_text(told)


# -- what a host must not send -------------------------------------------------------------------


def test_coop_same_origin_cuts_the_popup_off_and_the_page_says_so(page, live, standin):
    with portal_headers(live, Cross_Origin_Opener_Policy="same-origin"):
        with page.expect_popup():
            sign_in(page, live)
        expect(error(page)).to_contain_text("簽章視窗在完成簽章前就關閉了")
    assert standin.requests == []  # the popup never reached the page


@pytest.mark.parametrize(
    "headers",
    [
        {"Cross_Origin_Opener_Policy": "same-origin-allow-popups"},
        {"Cross_Origin_Embedder_Policy": "require-corp"},
    ],
    ids=["coop-allow-popups", "coep-require-corp"],
)
def test_headers_that_keep_the_popup_working(page, live, standin, cards, headers):
    standin.slots.append(Slot(OTHER_READER, cards["citizen"], pin=DEMO_PIN))
    with portal_headers(live, **headers):
        page.goto(f"{live.url}/account/login?type=citizen")
        expect(page.locator("[data-ia-card]")).to_be_visible()  # p11Image.bmp was read
        with page.expect_popup():
            sign_in(page, live, card=OTHER_READER, goto=False)
        no_account_yet(page)


def test_only_pages_with_a_card_form_let_in_hipkis_image(live, standin):
    client = live.app.test_client()
    login = client.get("/account/login?type=business").headers["Content-Security-Policy"]
    assert f"img-src 'self' data: {standin.url}" in login
    assert "connect-src 'self';" in login  # nothing is fetched from HiPKI
    forgot = client.get("/account/forgot-password").headers["Content-Security-Policy"]
    assert standin.url not in forgot
    password_window = client.get("/account/login").headers["Content-Security-Policy"]
    assert standin.url not in password_window


# -- a filing signed by the card (the demo's sample) ------------------------------------------


def test_the_demo_signs_a_sample_filing_with_the_card(page, live, standin, cards, business_account):
    standin.slots = [Slot(READER, cards["business"], pin=DEMO_PIN)]
    sign_in(page, live)
    expect(page).to_have_url(f"{live.url}/account/")
    page.goto(f"{live.url}/filing/electronic/sign")
    page.fill("#ia-pin-sign", DEMO_PIN)
    with page.expect_popup():
        page.get_by_role("button", name="以憑證卡簽署 Sign with the card").click()
    evidence = json.loads(page.locator("[data-evidence]").inner_text())
    assert evidence["business_id"] == DEMO_BUSINESS_ID and evidence["label"] == "filing"
    assert evidence["signed_text"].startswith("flask_industry_auth:sign:")
    assert evidence["signed_text"].endswith(":filing:" + evidence["document_sha256"])
    assert standin.requests[-1]["tbs"] == evidence["signed_text"]
