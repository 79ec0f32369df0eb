"""Every page of the blueprint, in zh_Hant_TW and English, error states included: axe-core
finds no WCAG 2.2 A/AA violation, and a screenshot is saved at 1280 and 360 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE, REQUIRED, SCREENSHOTS, applicant, mail_details
from tests.browser.test_journey import OWN, fill_application

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LANGUAGES = {"zh_Hant_TW": "中文", "en": "English"}


@pytest.fixture
def a11y_page(browser):
    if not AXE.exists():
        # CI requires the browser tests (INDUSTRY_AUTH_REQUIRE_BROWSER=1): axe too.
        message = "axe-core is not installed (make test installs it with npm)"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(f"{message}: Chromium is here but axe is not (CI makes this an error)")
    # axe is injected as a script: the pages' CSP would (rightly) refuse it.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def check(page, name: str, locale: str) -> None:
    """Run axe on the page and save its screenshots."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    violations = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
    ]
    assert violations == [], f"{name} ({locale}): {violations}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{locale}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def choose_language(page, live, locale: str) -> None:
    page.goto(f"{live.url}/account/login")
    button = page.locator(".ia-lang button", has_text=LANGUAGES[locale])
    if button.count():
        button.click()


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_every_page_passes_axe(a11y_page, live, locale):
    page = a11y_page
    choose_language(page, live, locale)
    base = live.url

    page.goto(f"{base}/account/login")
    check(page, "login", locale)
    page.fill("#business_id", "04595257")
    page.fill("#account_id", "NOSUCHID")
    page.fill("#password", "wrong password!!")
    page.locator("main form:not([data-ia-sign]) button.ia-button").first.click()
    check(page, "login-failed", locale)
    for kind in ("business", "citizen"):  # the 工商憑證 and 自然人憑證 windows
        page.goto(f"{base}/account/login?type={kind}")
        check(page, f"login-{kind}", locale)
    # A card login the server refuses (no signature: the form posted past the HiPKI script)
    # comes back in its window with its message.
    page.locator("form[data-ia-sign]").evaluate("form => form.submit()")
    expect(page.locator("#ia-login-window .ia-alert[role=alert]").first).to_be_visible()
    expect(page.locator("a.ia-login-type[aria-current=page]")).to_have_attribute(
        "href", re.compile("type=citizen")
    )
    check(page, "login-citizen-failed", locale)

    page.goto(f"{base}/account/register")
    check(page, "register", locale)
    page.locator(".ia-button[value=next]").click()
    check(page, "register-errors", locale)
    data = applicant(live)
    fill_application(page, data)
    page.locator(".ia-button[value=next]").click()
    check(page, "register-confirm", locale)
    before = live.mail_count()
    page.locator(".ia-button[value=apply]").click()
    check(page, "register-done", locale)

    mail = mail_details(live.wait_mail(before + 1))
    page.goto(mail["link"])
    check(page, "activate", locale)
    page.locator("main form button").last.click()
    check(page, "activated", locale)
    page.goto(mail["link"])
    check(page, "activate-invalid", locale)

    for path, name in [
        ("/account/activate-again", "resend"),
        ("/account/forgot-password", "forgot-password"),
        ("/account/register/certificate", "register-certificate"),
        ("/account/no-such-page", "not-found"),
    ]:
        page.goto(base + path)
        check(page, name, locale)
    page.goto(f"{base}/account/forgot-password")
    page.fill("#account_id", "NOSUCHID")  # the same answer as for a real one
    page.locator("main form button.ia-button").click()
    check(page, "forgot-password-done", locale)

    page.goto(f"{base}/account/login")
    page.fill("#business_id", data["business_id"])
    page.fill("#account_id", mail["account_id"])
    page.fill("#password", mail["password"])
    page.locator("main form:not([data-ia-sign]) button.ia-button").first.click()
    check(page, "change-password-first", locale)
    page.fill("#new_password", "short")
    page.fill("#confirm_password", "different")
    page.locator(".ia-button[value=save]").click()
    check(page, "change-password-errors", locale)
    page.fill("#new_password", OWN)
    page.fill("#confirm_password", OWN)
    page.locator(".ia-button[value=save]").click()
    expect(page).to_have_url(f"{base}/account/")
    check(page, "applicant-management", locale)

    page.goto(f"{base}/account/profile")
    check(page, "profile", locale)
    page.fill("#phone", "123")
    page.fill("#email", "changed@example.com")
    page.locator(".ia-button[value=save]").click()
    check(page, "profile-errors", locale)
    page.goto(f"{base}/account/change-password")
    check(page, "change-password", locale)
    page.goto(f"{base}/account/certificate/bind")
    check(page, "bind-certificate", locale)

    # The staff pages (the demo lets in requests from 127.0.0.1).
    page.goto(f"{base}/account-admin/?q={mail['account_id']}")
    check(page, "admin-search", locale)
    page.goto(f"{base}/account-admin/accounts/{mail['account_id']}")
    check(page, "admin-account", locale)
    page.locator("form[data-event=lock] button").click()
    expect(page.locator(".ia-flash-success")).to_be_visible()
    check(page, "admin-account-locked", locale)
    page.goto(f"{base}/account-admin/lifecycle")
    check(page, "admin-lifecycle", locale)


def test_language_choice_persists_on_every_page(a11y_page, live):
    page = a11y_page
    for path in (
        "/account/login",
        "/account/register",
        "/account/forgot-password",
        "/account/activate-again",
    ):
        page.goto(f"{live.url}{path}")
        page.locator(".ia-lang button", has_text="English").click()
        expect(page).to_have_url(f"{live.url}{path}")  # back where the applicant was
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.goto(f"{live.url}/account/register")
        expect(page.locator("label[for=business_id]")).to_have_text("Unified business number")
        page.locator(".ia-lang button", has_text="中文").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-TW")


def test_mail_goes_out_in_the_language_the_applicant_used(a11y_page, live):
    page = a11y_page
    choose_language(page, live, "en")
    page.goto(f"{live.url}/account/register")
    fill_application(page, applicant(live))
    page.locator(".ia-button[value=next]").click()
    before = live.mail_count()
    page.locator(".ia-button[value=apply]").click()
    mail = live.wait_mail(before + 1)
    assert mail.subject == "Activate your electronic ID"
    assert re.search(r"Temporary password: \S+", mail.text)
