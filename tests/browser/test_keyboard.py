"""The journey with the keyboard alone; the focus is always visible (WCAG 2.4.7)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import applicant, mail_details
from tests.browser.test_journey import OWN

FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {tag: el.tagName, id: el.id, text: (el.textContent || '').trim().slice(0, 30),
          outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
}"""


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until ``selector`` has the focus; every stop must show its focus."""
    # After Enter submits a form the test waits only for the new URL: the page may still be
    # loading its style sheet, and a focus ring judged then is the browser's 1px default.
    page.wait_for_load_state()
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS)
        if focused is None:
            continue
        assert focused["outline"], f"focus not visible on {focused}"
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reachable with Tab")


def type_into(page, selector: str, value: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(value)


def test_the_journey_by_keyboard(page, live):
    data = applicant(live)
    page.goto(f"{live.url}/account/register")
    tab_to(page, "a.ia-skip")  # the first stop skips to the content
    for name, value in data.items():
        type_into(page, f"#{name}", value)
    tab_to(page, "button[value=next]")
    page.keyboard.press("Enter")
    expect(page.locator("dl.ia-summary")).to_contain_text(data["business_name"])
    before = live.mail_count()
    tab_to(page, "button[value=apply]")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("申請已送出")

    mail = mail_details(live.wait_mail(before + 1))
    page.goto(mail["link"])
    tab_to(page, "main form[action$='/activate/confirm'] button")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("帳號已啟用")

    page.goto(f"{live.url}/account/login")
    type_into(page, "#business_id", data["business_id"])
    type_into(page, "#account_id", mail["account_id"])
    type_into(page, "#password", mail["password"])
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live.url}/account/change-password")
    type_into(page, "#new_password", OWN)
    type_into(page, "#confirm_password", OWN)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live.url}/account/")

    tab_to(page, "a[href='/account/profile']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live.url}/account/profile")
    tab_to(page, "button[value=clear]")
    page.keyboard.press("Enter")
    expect(page.locator("#business_name")).to_have_value("")
    tab_to(page, "form[action$='/logout'] button")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live.url}/account/login")


def test_the_login_types_by_keyboard(page, live):
    # The manual's icons: each a link with its label; Enter opens its window, which says
    # it is the current one, and the next Tab stops are that window's fields.
    page.goto(f"{live.url}/account/login?next=/account/profile")
    current = page.locator("a.ia-login-type[aria-current=page]")
    expect(current).to_have_text("非憑證帳號")
    for label, kind, first_field in (
        ("工商憑證", "business", "#ia-pin-login"),
        ("自然人憑證", "citizen", "#ia-pin-login"),
        ("非憑證帳號", "password", "#business_id"),
    ):
        tab_to(page, f"a.ia-login-type[href*='type={kind}']")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{live.url}/account/login?type={kind}&next=/account/profile")
        expect(current).to_have_text(label)
        choice = page.get_by_role("link", name=label, exact=True)
        expect(choice).to_have_attribute("aria-current", "page")
        tab_to(page, first_field)  # then on, by Tab, into that window
