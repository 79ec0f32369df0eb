"""Switching language keeps what was typed (without JavaScript): the switch's buttons belong to
the page's form (HTML form/formaction attributes), and set_language keeps the non-secret
values for the next GET of that page only. Passwords never go along."""

import random
import re
from html import unescape

import pytest

from flask_industry_auth import language_switch
from tests.helpers import OWN_PASSWORD, VALID, text_of

_BUTTON = re.compile(r"<button [^>]*name=\"locale\"[^>]*>")


def _switch(portal, response, locale="en", **fields):
    """Press the language button of the page ``response`` as a browser does: it submits the
    form it names (``form=``) to its ``formaction``, with that form's fields."""
    page = response.get_data(as_text=True)
    (button,) = [b for b in _BUTTON.findall(page) if f'value="{locale}"' in b]
    form_id = re.search(r'form="([^"]+)"', button).group(1)
    action = unescape(re.search(r'formaction="([^"]+)"', button).group(1))
    form = re.search(rf'<form [^>]*id="{form_id}"[^>]*>(.*?)</form>', page, re.S).group(1)
    data = {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input [^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)
    }
    data.update(fields)  # what the applicant typed
    data["locale"] = locale
    switched = portal.client.post(action, data=data)
    assert switched.status_code == 302
    return switched


def test_a_half_filled_application_survives_the_switch(portal):
    form = portal.client.get("/account/register")
    typed = {"business_name": "經濟部測試股份有限公司", "phone": "12", "email": "a@example.com"}
    switched = _switch(portal, form, **typed)
    assert switched.headers["Location"] == "/account/register"
    page = text_of(portal.client.get("/account/register"))
    assert "Apply for a non-certificate account" in page  # English now
    for name, value in typed.items():
        assert f'name="{name}"' in page and f'value="{value}"' in page
    assert 'aria-invalid="true"' not in page  # not judged before it is sent
    # For the next GET only.
    again = portal.client.get("/account/register").get_data(as_text=True)
    assert "經濟部測試股份有限公司" not in again


@pytest.mark.parametrize("url", ["/account/register", "/account/register/certificate"])
def test_the_confirmation_screen_survives_the_switch(portal, url):
    confirm = portal.post(url, {**VALID, "action": "next"})
    assert "確認申請資料" in text_of(confirm)
    switched = _switch(portal, confirm)
    assert switched.headers["Location"] == url
    page = portal.client.get(url)
    text = text_of(page)
    assert "Confirm your application" in text
    for value in VALID.values():
        assert value in text
    assert portal.accounts() == []


def test_an_application_goes_on_from_the_switched_confirmation_screen(portal):
    confirm = portal.post("/account/register", {**VALID, "action": "next"})
    _switch(portal, confirm)
    english = portal.client.get("/account/register")
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', english.get_data(as_text=True)))
    assert {k: unescape(fields[k]) for k in VALID} == VALID
    applied = portal.client.post("/account/register", data={**fields, "action": "apply"})
    assert applied.status_code == 302
    (account,) = portal.accounts()
    assert account.locale == "en"


def test_the_login_form_keeps_its_ids_never_the_password(portal):
    login = portal.client.get("/account/login")
    _switch(portal, login, business_id="04595257", account_id="AB12CD34", password="s3cret-pw!")
    with portal.client.session_transaction() as session:
        assert "s3cret-pw!" not in repr(dict(session))
    page = portal.client.get("/account/login").get_data(as_text=True)
    assert 'value="04595257"' in page and 'value="AB12CD34"' in page
    assert "s3cret-pw!" not in page


@pytest.mark.parametrize(
    ("url", "typed"),
    [
        ("/account/forgot-password", {"account_id": "AB12CD34"}),
        ("/account/activate-again", {"business_id": "04595257", "email": "a@example.com"}),
    ],
)
def test_forgot_password_and_resend_keep_their_fields(portal, url, typed):
    _switch(portal, portal.client.get(url), **typed)
    page = portal.client.get(url).get_data(as_text=True)
    for value in typed.values():
        assert f'value="{value}"' in page
    assert portal.settle() == []  # switching sent nothing


def test_the_profile_keeps_the_changes_never_the_password(portal, signed_in):
    _switch(
        portal,
        portal.client.get("/account/profile"),
        business_name="新名稱股份有限公司",
        current_password=OWN_PASSWORD,
    )
    page = portal.client.get("/account/profile").get_data(as_text=True)
    assert 'value="新名稱股份有限公司"' in page and "Edit basic data" in page
    assert OWN_PASSWORD not in page
    assert portal.account(signed_in["account_id"]).business_name == VALID["business_name"]


def test_values_go_to_the_page_they_came_from_only(portal):
    _switch(portal, portal.client.get("/account/register"), business_name="甲公司")
    portal.client.get("/account/login")  # another page first: the values are dropped
    assert "甲公司" not in portal.client.get("/account/register").get_data(as_text=True)


def test_a_value_too_long_to_keep_is_told_at_its_field(portal):
    _switch(portal, portal.client.get("/account/register"), business_name="名" * 5000)
    page = text_of(portal.client.get("/account/register"))
    assert "Use at most 100 characters." in page and 'id="business_name-error"' in page


def test_the_buttons_need_no_javascript(portal):
    page = portal.client.get("/account/register").get_data(as_text=True)
    (button,) = _BUTTON.findall(page)
    assert 'type="submit"' in button and 'form="ia-form"' in button and "formaction=" in button
    assert re.search(r'<form [^>]*id="ia-form"', page)


def test_the_maximum_told_is_the_pages_own(portal):
    _switch(portal, portal.client.get("/account/register"), business_id="1" * 30)
    page = text_of(portal.client.get("/account/register"))
    assert "Use at most 8 characters." in page and 'id="business_id-error"' in page


def test_every_field_at_its_longest_still_fits_the_session_cookie(portal):
    # werkzeug warns (an error under filterwarnings) when a cookie passes 4093 bytes.
    longest = {"business_name": 100, "responsible_person": 50, "contact_person": 50}
    typed = {
        name: "".join(chr(0x4E00 + i * 7 + n) for i in range(size))
        for n, (name, size) in enumerate(longest.items())
    }
    typed["address"] = "".join(chr(0x5000 + i * 13) for i in range(200))
    typed["email"] = "a" * 240 + "@example.com"
    typed["phone"] = "0" * 40
    switched = _switch(portal, portal.client.get("/account/register"), **typed, business_id="0" * 8)
    assert len(switched.headers["Set-Cookie"]) < 4093
    page = portal.client.get("/account/register").get_data(as_text=True)
    assert typed["address"] in page and typed["business_name"] in page


def test_rare_characters_at_every_fields_longest_fit_and_a_full_cookie_gives_way(
    portal, signed_in, monkeypatch
):
    # Random characters outside the BMP (CJK Extension B, in some real names) take 12 bytes
    # each in the cookie's JSON: at every field's longest they still fit a logged-in cookie.
    rng = random.Random(16)
    typed = {
        name: "".join(chr(rng.randrange(0x20000, 0x2A6DF)) for _ in range(size))
        for name, size in {
            "business_name": 100,
            "responsible_person": 50,
            "contact_person": 50,
            "address": 200,
        }.items()
    }
    switched = _switch(portal, portal.client.get("/account/profile"), **typed)
    assert len(switched.headers["Set-Cookie"]) < 4093
    page = portal.client.get("/account/profile").get_data(as_text=True)
    assert all(value in page for value in typed.values())
    # Were the cookie full (another host's session keys), the largest values give way, their
    # fields say so, and the switch itself still happens.
    monkeypatch.setattr(language_switch, "CARRIED_BUDGET", 1500)
    switched = _switch(portal, portal.client.get("/account/profile"), locale="zh_Hant_TW", **typed)
    assert len(switched.headers["Set-Cookie"]) < 1500 + 200  # the cookie's name and attributes
    page = portal.client.get("/account/profile").get_data(as_text=True)
    assert '<html lang="zh-Hant-TW"' in page  # switched back: the switch was not lost
    assert typed["address"] not in page and "最多" in page  # the address gave way, and says so
    assert typed["contact_person"] in page


def test_a_card_accounts_change_waiting_for_its_signature_is_kept(portal, signed_in):
    from flask_industry_auth.models import BUSINESS_CERTIFICATE

    portal.set_account_type(signed_in["account_id"], BUSINESS_CERTIFICATE)
    changed = {**VALID, "contact_person": "陳小美", "action": "confirm"}
    changed.pop("business_id")
    confirm = portal.post("/account/profile", changed)
    assert "<dd>陳小美</dd>" in text_of(confirm) and 'value="sign"' in confirm.get_data(
        as_text=True
    )
    _switch(portal, confirm)
    page = portal.client.get("/account/profile").get_data(as_text=True)
    assert 'value="陳小美"' in page and "Edit basic data" in page


@pytest.mark.parametrize(
    ("url", "default"),
    [("/account/register", 'name="action" value="next"'), ("/account/login", "")],
)
def test_enter_in_a_field_presses_the_pages_button_not_a_language(portal, url, default):
    # Implicit submission presses the form's first submit button in document order.
    page = portal.client.get(url).get_data(as_text=True)
    form_id = "ia-form"
    first = re.search(rf'<button [^>]*form="{form_id}"[^>]*>', page).group(0)
    assert "hidden" in first and 'name="locale"' not in first and "formaction" not in first
    assert default in first
