"""Rate limits: per client address and per target account, 429 with Retry-After, shared
across app instances through Redis."""

import os
import uuid

import pytest

from tests.helpers import OWN_PASSWORD, VALID, Portal, temporary_password, text_of

REDIS_URL = os.environ.get("INDUSTRY_AUTH_TEST_REDIS_URL")


def _wrong_login(portal, account_id, **headers):
    return portal.client.post(
        "/account/login",
        data={
            "csrf_token": portal.csrf(),
            "business_id": VALID["business_id"],
            "account_id": account_id,
            "password": "wrong password!!",
        },
        headers=headers,
    )


def test_defaults_are_those_of_the_security_reference():
    from flask_industry_auth.config import DEFAULTS

    assert DEFAULTS["INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP"] == "10/minute"
    # Above the lockout's 5 failures: the owner's right password after a lock reaches the
    # lock's message, not the limit (tests/test_lock.py).
    assert DEFAULTS["INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT"] == "10/15minutes"
    assert DEFAULTS["INDUSTRY_AUTH_MAX_FAILED_LOGINS"] < 10
    assert DEFAULTS["INDUSTRY_AUTH_RATELIMIT_REGISTER_PER_IP"] == "20/minute"
    assert DEFAULTS["INDUSTRY_AUTH_RATELIMIT_RESET_PER_IP"] == "20/minute"
    assert DEFAULTS["INDUSTRY_AUTH_RATELIMIT_RESET_PER_ACCOUNT"] == "5/minute"
    assert DEFAULTS["INDUSTRY_AUTH_TRUSTED_PROXIES"] == 0


def test_failed_logins_per_account_are_limited(make, smtp):
    app = make(
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT="3/5minutes", INDUSTRY_AUTH_MAX_FAILED_LOGINS=10
    )
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    portal.logout()
    for _ in range(3):
        assert _wrong_login(portal, details["account_id"]).status_code == 200
    limited = _wrong_login(portal, details["account_id"])
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "嘗試次數過多" in text_of(limited)
    # Even the right password waits: the limit is on the target account.
    right = portal.login(VALID["business_id"], details["account_id"], OWN_PASSWORD)
    assert right.status_code == 429
    # Another account from the same address is not affected.
    assert _wrong_login(portal, "OTHERACC").status_code == 200


def test_successful_logins_do_not_count(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT="2/5minutes")
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    for _ in range(4):
        portal.logout()
        assert (
            portal.login(VALID["business_id"], details["account_id"], OWN_PASSWORD).status_code
            == 302
        )


def test_the_emailed_temporary_password_gets_past_a_limit_an_attacker_filled(make, smtp):
    # ASVS V6.1.1, NIST SP 800-63B-4 3.2.2: the limit on failures is no lever to keep the
    # owner out; the owner's way back is the temporary password from forgot-password.
    app = make(INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT="5/5minutes")
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    portal.logout()
    portal.forget_mails()
    for _ in range(5):
        assert _wrong_login(portal, details["account_id"]).status_code == 200
    assert _wrong_login(portal, details["account_id"]).status_code == 429
    assert portal.account(details["account_id"]).state == "locked"  # the 5th failure locked it
    portal.post("/account/forgot-password", {"account_id": details["account_id"]})
    temp = next(temporary_password(m) for m in portal.wait_mails(2) if "臨時密碼：" in m.text)
    assert _wrong_login(portal, details["account_id"]).status_code == 429  # still full
    assert (
        portal.login(VALID["business_id"], details["account_id"], "Wrong1" + temp).status_code
        == 429
    )
    owner = portal.login(VALID["business_id"], details["account_id"], temp)
    assert owner.status_code == 302
    assert owner.headers["Location"] == "/account/change-password"
    # Still full for everyone else: the owner's way in did not empty the attacker's count.
    portal.logout()
    assert _wrong_login(portal, details["account_id"]).status_code == 429


def test_the_temporary_password_is_still_limited_per_address(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="3/minute")
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    portal.logout()
    portal.forget_mails()
    portal.post("/account/forgot-password", {"account_id": details["account_id"]})
    temp = temporary_password(portal.wait_mails(1)[0])
    for n in range(3):
        assert _wrong_login(portal, f"OTHER{n}").status_code == 200
    assert portal.login(VALID["business_id"], details["account_id"], temp).status_code == 429


@pytest.mark.parametrize(
    ("path", "setting", "data", "extra"),
    [
        (
            "/account/forgot-password",
            "INDUSTRY_AUTH_RATELIMIT_RESET_PER_ACCOUNT",
            {"account_id": "SAMEACCT"},
            {"email": "victim@example.com", "business_id": "12345675"},
        ),
        (
            "/account/activate-again",
            "INDUSTRY_AUTH_RATELIMIT_RESEND_PER_ACCOUNT",
            {"business_id": VALID["business_id"], "email": VALID["email"]},
            {"account_id": "ANYTHING"},
        ),
    ],
)
def test_fields_the_form_does_not_have_are_no_fresh_counter(make, smtp, path, setting, data, extra):
    app = make(**{setting: "2/minute"})
    portal = Portal(app, app.test_client(), smtp)
    for _ in range(2):
        assert portal.post(path, data).status_code == 200
    assert portal.post(path, {**data, **extra}).status_code == 429
    for value in ("extra", "x" * 50):
        assert portal.post(path, {**data, **dict.fromkeys(extra, value)}).status_code == 429


def test_an_account_id_spelt_otherwise_is_the_same_counter(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_RESET_PER_ACCOUNT="2/minute")
    portal = Portal(app, app.test_client(), smtp)
    for _ in range(2):
        assert (
            portal.post("/account/forgot-password", {"account_id": "SAMEACCT"}).status_code == 200
        )
    for spelling in ("sameacct", " SameAcct ", "ＳＡＭＥＡＣＣＴ"):
        limited = portal.post("/account/forgot-password", {"account_id": spelling})
        assert limited.status_code == 429


def test_failed_logins_per_address_are_limited(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="4/minute")
    portal = Portal(app, app.test_client(), smtp)
    for n in range(4):
        assert _wrong_login(portal, f"ACCOUNT{n}").status_code == 200
    assert _wrong_login(portal, "ACCOUNT9").status_code == 429


def test_the_hosts_ratelimit_keys_do_not_reach_the_package(make, smtp):
    # Flask-AppBuilder sets RATELIMIT_ENABLED = False; a host's own default limit is its own.
    app = make(
        RATELIMIT_ENABLED=False,
        RATELIMIT_DEFAULT="1/day",
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="4/minute",
    )
    assert app.config["RATELIMIT_ENABLED"] is False  # the host's value is left as it was
    portal = Portal(app, app.test_client(), smtp)
    for _ in range(3):
        assert portal.client.get("/account/login").status_code == 200  # no 1/day limit
    for n in range(4):
        assert _wrong_login(portal, f"ACCOUNT{n}").status_code == 200
    assert _wrong_login(portal, "ACCOUNT9").status_code == 429


def test_x_forwarded_for_is_ignored_without_trusted_proxies(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="2/minute")
    portal = Portal(app, app.test_client(), smtp)
    for n in range(2):
        _wrong_login(portal, f"A{n}", **{"X-Forwarded-For": f"203.0.113.{n}"})
    spoofed = _wrong_login(portal, "A9", **{"X-Forwarded-For": "198.51.100.7"})
    assert spoofed.status_code == 429  # a new header value is not a new client


def test_behind_one_trusted_proxy_the_last_hop_is_the_client(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="2/minute", INDUSTRY_AUTH_TRUSTED_PROXIES=1)
    portal = Portal(app, app.test_client(), smtp)
    for n in range(2):
        # The client forges a first entry; the proxy appends the real address.
        _wrong_login(portal, f"A{n}", **{"X-Forwarded-For": f"10.9.9.{n}, 203.0.113.5"})
    assert (
        _wrong_login(portal, "A8", **{"X-Forwarded-For": "1.1.1.1, 203.0.113.5"}).status_code == 429
    )
    assert _wrong_login(portal, "A9", **{"X-Forwarded-For": "203.0.113.6"}).status_code == 200


@pytest.mark.parametrize(
    ("path", "setting", "data"),
    [
        (
            "/account/forgot-password",
            "INDUSTRY_AUTH_RATELIMIT_RESET_PER_ACCOUNT",
            {"account_id": "SAMEACCT"},
        ),
        (
            "/account/activate-again",
            "INDUSTRY_AUTH_RATELIMIT_RESEND_PER_ACCOUNT",
            {"business_id": VALID["business_id"], "email": VALID["email"]},
        ),
        (
            "/account/register",
            "INDUSTRY_AUTH_RATELIMIT_REGISTER_PER_IP",
            {**VALID, "action": "apply"},  # applications count (tests/test_register_limit.py)
        ),
    ],
)
def test_other_forms_are_limited(make, smtp, path, setting, data):
    app = make(**{setting: "2/minute"})
    portal = Portal(app, app.test_client(), smtp)
    for _ in range(2):
        assert portal.post(path, data).status_code in (200, 302)  # served (an application: 302)
    limited = portal.post(path, data)
    assert limited.status_code == 429 and "Retry-After" in limited.headers


def test_the_limit_page_is_translated(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_RESET_PER_IP="1/minute")
    portal = Portal(app, app.test_client(), smtp)
    portal.post("/account/language", {"locale": "en", "next": "/account/login"})
    portal.post("/account/forgot-password", {"account_id": "A1"})
    limited = portal.post("/account/forgot-password", {"account_id": "A2"})
    assert limited.status_code == 429 and "Too many attempts" in text_of(limited)


@pytest.mark.skipif(not REDIS_URL, reason="set INDUSTRY_AUTH_TEST_REDIS_URL (CI sets Redis)")
def test_two_app_instances_share_the_counters_in_redis(make, smtp):
    config = {
        "INDUSTRY_AUTH_RATELIMIT_STORAGE_URI": REDIS_URL,
        "INDUSTRY_AUTH_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP": "3/minute",
        "INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK": False,
    }
    first, second = make(**config), make(**config)
    a = Portal(first, first.test_client(), smtp)
    b = Portal(second, second.test_client(), smtp)
    assert _wrong_login(a, "X1").status_code == 200
    assert _wrong_login(b, "X2").status_code == 200
    assert _wrong_login(a, "X3").status_code == 200
    assert _wrong_login(b, "X4").status_code == 429  # the fourth, counted across both
    storage = first.extensions["industry_auth"].limiter.storage
    assert type(storage).__name__ == "RedisStorage"
