"""Security controls of SECURITY.md that are not a feature of their own: sessions, headers,
enumeration, password storage, notifications."""

import re
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher

from flask_industry_auth.passwords import Hasher
from flask_industry_auth.testkit import FAST_ARGON2
from tests.helpers import OWN_PASSWORD, VALID, Portal, text_of
from tests.hostapp import make_app

# -- sessions ------------------------------------------------------------------------------


def test_idle_timeout_ends_the_session(portal, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=False)
    portal.active_account()
    time_machine.move_to("2026-11-28 09:29:00", tick=False)
    assert portal.client.get("/account/").status_code == 200  # activity resets the clock
    time_machine.move_to("2026-11-28 09:58:00", tick=False)
    assert portal.client.get("/host-page").status_code == 200
    time_machine.move_to("2026-11-28 10:28:01", tick=False)
    expired = portal.client.get("/account/")
    assert expired.headers["Location"] == "/account/login"
    assert "因閒置過久已自動登出" in text_of(portal.client.get("/account/login"))
    assert portal.client.get("/host-page").status_code == 302


def test_absolute_lifetime_ends_even_an_active_session(portal, time_machine):
    start = datetime(2026, 11, 28, 9, 0, 0)
    time_machine.move_to(start, tick=False)
    portal.active_account()
    for step in range(1, 29):  # a request every 25 minutes for 11 h 40 min
        time_machine.move_to(start + timedelta(minutes=25 * step), tick=False)
        assert portal.client.get("/account/").status_code == 200
    time_machine.move_to(start + timedelta(hours=12, seconds=1), tick=False)
    assert portal.client.get("/account/").status_code == 302


def test_the_warning_endpoint_reports_and_extends(portal, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=False)
    portal.active_account()
    time_machine.move_to("2026-11-28 09:28:30", tick=False)
    status = portal.client.get("/account/session").get_json()
    assert status == {"active": True, "seconds_left": 90}  # a status check is no activity
    assert portal.post("/account/session").get_json()["seconds_left"] == 1800
    page = text_of(portal.client.get("/account/"))
    assert 'role="alertdialog"' in page and "industry_auth_session.js" in page
    assert "繼續使用" in page


def test_cookie_flags(make, database_url, smtp):
    app = make()
    client = app.test_client()
    portal = Portal(app, client, smtp)
    portal.csrf()
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"
    production = make_app(database_url, smtp.port, INDUSTRY_AUTH_SECURE_COOKIES=True)
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["REMEMBER_COOKIE_SECURE"] is True
    assert production.config["INDUSTRY_AUTH_REMEMBER_ME"] is False


def test_no_remember_me_cookie_by_default(portal):
    portal.active_account()
    assert portal.client.get_cookie("remember_token") is None
    assert portal.client.get_cookie("session").expires is None  # ends with the browser


def test_remember_me_keeps_the_session_cookie_past_the_browser(make, smtp):
    app = make(INDUSTRY_AUTH_REMEMBER_ME=True)
    portal = Portal(app, app.test_client(), smtp)
    portal.active_account()
    assert portal.client.get_cookie("session").expires is not None
    assert portal.client.get("/account/").status_code == 200


# -- headers -------------------------------------------------------------------------------


def test_security_headers_on_every_page(portal):
    portal.active_account()
    for path in ("/account/login", "/account/", "/account/profile", "/account/register"):
        headers = portal.client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"


def test_no_inline_script_or_style_in_any_page(portal):
    portal.active_account()
    for path in (
        "/account/login",
        "/account/",
        "/account/profile",
        "/account/change-password",
        "/account/register",
        "/account/forgot-password",
        "/account/activate-again",
    ):
        page = portal.client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert " style=" not in page and "<style" not in page, path


def test_token_pages_send_no_referrer(portal):
    details = portal.apply_and_read_mail()
    path = details["link"].split("portal.example.gov.tw")[1]
    assert portal.client.get(path).headers["Referrer-Policy"] == "no-referrer"
    assert (
        portal.client.get("/account/activate/confirm").headers["Referrer-Policy"] == "no-referrer"
    )


# -- enumeration -----------------------------------------------------------------------------


def test_login_costs_the_same_for_unknown_and_known_accounts(portal, account, app):
    hasher = app.extensions["industry_auth"].hasher
    costs = []
    for account_id in (account["account_id"], "NOSUCHAC"):
        before = hasher.computations
        response = portal.login(VALID["business_id"], account_id, "wrong password!!")
        costs.append(hasher.computations - before)
        assert "登入失敗" in text_of(response)
    assert costs == [2, 2]  # the password and the temporary password, or dummies (test_timing)


def test_registration_answers_and_costs_the_same_for_a_duplicate(portal, app):
    hasher = app.extensions["industry_auth"].hasher
    answers, costs = [], []
    for _ in range(2):  # a new application, then the same one again
        before = hasher.computations
        response = portal.apply()
        costs.append(hasher.computations - before)
        answers.append((response.status_code, response.headers["Location"]))
    assert answers[0] == answers[1] == (302, "/account/register/done")
    assert costs[0] == costs[1] == 1
    assert len(portal.accounts()) == 1


# -- password storage --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("memory", "passes", "accepted"),
    [
        (65536, 3, True),  # argon2-cffi's default
        (47104, 1, True),
        (47103, 1, False),
        (19456, 2, True),
        (19456, 1, False),
        (12288, 3, True),
        (12287, 3, False),
        (9216, 4, True),
        (7168, 5, True),
        (7168, 4, False),
    ],
)
def test_argon2_below_the_floor_is_refused_outside_tests(
    database_url, smtp, memory, passes, accepted
):
    config = {
        "INDUSTRY_AUTH_ARGON2_TIME_COST": passes,
        "INDUSTRY_AUTH_ARGON2_MEMORY_COST": memory,
        "INDUSTRY_AUTH_ARGON2_PARALLELISM": 1,
    }
    if accepted:
        app = make_app(database_url, smtp.port, TESTING=False, **config)
        assert app.extensions["industry_auth"].hasher is not None
    else:
        with pytest.raises(RuntimeError, match="below the floor"):
            make_app(database_url, smtp.port, TESTING=False, **config)


def test_hashes_are_upgraded_at_login_when_parameters_change(portal, account, app):
    before = portal.account(account["account_id"]).password_hash
    assert f"m={FAST_ARGON2['INDUSTRY_AUTH_ARGON2_MEMORY_COST']},t=1,p=1" in before
    app.extensions["industry_auth"].hasher = Hasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert (
        portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD).status_code == 302
    )
    after = portal.account(account["account_id"]).password_hash
    assert "m=2048,t=2,p=1" in after
    assert PasswordHasher().verify(after, OWN_PASSWORD)


# -- notifications -------------------------------------------------------------------------------


def test_lockout_is_notified_without_secrets(portal, account):
    for _ in range(5):
        portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
    (mail,) = portal.settle()
    assert mail.subject == "您的帳號已暫時鎖定"
    assert account["account_id"] in mail.text
    assert "wrong password" not in mail.text + mail.html
    assert mail.recipients == [VALID["email"]]


def test_email_change_is_notified_to_both_addresses(portal, signed_in):
    portal.post(
        "/account/profile",
        {
            **{k: VALID[k] for k in VALID if k != "business_id"},
            "email": "new@example.com",
            "current_password": OWN_PASSWORD,
            "action": "save",
        },
    )
    mails = portal.settle()
    assert sorted(r for m in mails for r in m.recipients) == [
        "applicant@example.com",
        "new@example.com",
    ]
    assert all(OWN_PASSWORD not in m.text for m in mails)
