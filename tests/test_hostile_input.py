"""Every form of the blueprint under arbitrary input (hypothesis): never a 500, nothing stored
from an invalid form, every stored value rendered escaped, no header injected into mail."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import OWN_PASSWORD, VALID, Portal

NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\r\nBcc: victim@example.com",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "x" * 5000,
        "０４５９５２５７",
        "\u202e\u200b",
        "%00",
        "{{7*7}}",
        "' OR 1=1 --",
        "\ud7ff",
        "😀" * 50,
        "名" * 101,
    ]
)
TEXT = st.one_of(
    NASTY,
    st.text(max_size=300),
    st.text(
        alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Lo", "Nd", "P"]),
        max_size=60,
    ),
)
FIELDS = st.fixed_dictionaries({name: TEXT for name in VALID})

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _assert_sane(response):
    assert response.status_code < 500, response.status_code
    page = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x onerror" not in page


@pytest.fixture
def fresh(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_ENABLED=False)
    return Portal(app, app.test_client(), smtp)


@SETTINGS
@given(fields=FIELDS, action=st.sampled_from(["next", "apply", "edit", "", "x"]))
def test_registration(fresh, fields, action):
    before = len(fresh.accounts())
    response = fresh.post("/account/register", {**fields, "action": action})
    _assert_sane(response)
    if response.status_code != 302:
        assert len(fresh.accounts()) == before  # nothing stored from an invalid form


@SETTINGS
@given(business_id=TEXT, account_id=TEXT, password=TEXT)
def test_login(fresh, business_id, account_id, password):
    _assert_sane(
        fresh.post(
            "/account/login",
            {"business_id": business_id, "account_id": account_id, "password": password},
        )
    )


@SETTINGS
@given(
    fields=FIELDS,
    step=st.sampled_from(["confirm", "", "x"]),
    page=st.sampled_from(["/account/register", "/account/register/certificate", "/account/login"]),
)
def test_language_switch_keeps_anything_safely(fresh, fields, step, page):
    switched = fresh.post(
        f"/account/language?next={page}", {**fields, "step": step, "locale": "en"}
    )
    assert switched.status_code == 302
    assert len(switched.headers.get("Set-Cookie", "")) < 4093  # the kept values fit the cookie
    _assert_sane(fresh.client.get(page))
    assert fresh.accounts() == []  # kept, never stored


@SETTINGS
@given(account_id=TEXT, business_id=TEXT, email=TEXT)
def test_forgot_password_and_resend(fresh, account_id, business_id, email):
    _assert_sane(fresh.post("/account/forgot-password", {"account_id": account_id}))
    _assert_sane(
        fresh.post("/account/activate-again", {"business_id": business_id, "email": email})
    )
    assert fresh.settle() == []  # no account exists: no mail, whatever was typed


@SETTINGS
@given(signature=TEXT, purpose=TEXT)
def test_certificate_endpoints(fresh, signature, purpose):
    _assert_sane(fresh.post("/account/certificate/challenge", {"purpose": purpose}))
    _assert_sane(fresh.post("/account/certificate/login", {"signature": signature}))


@pytest.fixture
def signed_in_portal(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_ENABLED=False)
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    portal.forget_mails()
    return portal, details


@SETTINGS
@given(fields=FIELDS, password=TEXT)
def test_profile_and_password(signed_in_portal, fields, password):
    portal, details = signed_in_portal
    stored_before = portal.account(details["account_id"])
    response = portal.post(
        "/account/profile", {**fields, "current_password": password, "action": "save"}
    )
    _assert_sane(response)
    if response.status_code != 302:
        assert portal.account(details["account_id"]).business_name == stored_before.business_name
    _assert_sane(portal.client.get("/account/profile"))  # whatever was stored, escaped
    _assert_sane(portal.change_password(password, old="not the password"))
    assert portal.account(details["account_id"]).password_hash == stored_before.password_hash


def test_stored_markup_is_escaped_everywhere_and_mail_headers_stay_clean(portal):
    nasty = '<script>alert(1)</script>"><b>'
    details = portal.apply_and_read_mail(business_name=nasty, contact_person=nasty, address=nasty)
    mail = details["mail"]
    assert "<script>alert(1)</script>" not in mail.html
    assert "&lt;script&gt;" in mail.html
    portal.activate(details["link"])
    portal.login(VALID["business_id"], details["account_id"], details["password"])
    portal.change_password(OWN_PASSWORD)
    for path in ("/account/", "/account/profile"):
        page = portal.client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    # Subjects are single lines built from templates: no data reaches a header.
    for received in portal.settle():
        assert "\n" not in received.subject and "Bcc" not in received.subject
