"""The package's pages in a host's world: its layout's own scripts, and Secure cookies that
meet plain HTTP."""

from __future__ import annotations

import logging
import re

from tests.helpers import text_of
from tests.hostapp import make_app


def test_a_host_layout_allows_its_own_inline_script_with_the_nonce(make, tmp_path):
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "base.html").write_text(
        '<html lang="{{ industry_auth_lang }}"><head><title>{% block title %}{% endblock %}'
        "</title>"
        '<script nonce="{{ industry_auth_csp_nonce() }}">window.hostReady = true;</script>'
        "</head><body>{% block content %}{% endblock %}</body></html>"
    )
    app = make(INDUSTRY_AUTH_BASE_TEMPLATE="host/base.html")
    app.template_folder = str(tmp_path)
    response = app.test_client().get("/account/login")
    page = text_of(response)
    (nonce,) = re.findall(r'<script nonce="([^"]+)">', page)
    policy = response.headers["Content-Security-Policy"]
    assert f"script-src 'self' 'nonce-{nonce}'" in policy
    assert f"style-src 'self' 'nonce-{nonce}'" in policy
    assert '<html lang="zh-Hant-TW">' in page
    # Pages that ask for no nonce keep the strict policy, and a nonce is never reused.
    second = app.test_client().get("/account/login")
    assert nonce not in second.headers["Content-Security-Policy"]
    plain = make().test_client().get("/account/login").headers["Content-Security-Policy"]
    assert "nonce-" not in plain


def test_secure_cookies_on_a_plain_http_address_are_warned_about_at_start(
    database_url, smtp, caplog
):
    with caplog.at_level(logging.WARNING, logger="flask_industry_auth"):
        make_app(
            database_url,
            smtp.port,
            INDUSTRY_AUTH_SECURE_COOKIES=True,
            INDUSTRY_AUTH_EXTERNAL_URL="http://portal.example.gov.tw",
        )
    assert "session cookie is Secure but the portal's address" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="flask_industry_auth"):
        make_app(database_url, smtp.port, INDUSTRY_AUTH_SECURE_COOKIES=True)  # https://
    assert "Secure" not in caplog.text


def test_a_post_refused_because_the_secure_cookie_never_came_back_is_logged(make, caplog):
    app = make(INDUSTRY_AUTH_SECURE_COOKIES=True)
    client = app.test_client()
    page = text_of(client.get("/account/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.delete_cookie("session")  # a browser never sends a Secure cookie over plain HTTP
    with caplog.at_level(logging.WARNING, logger="flask_industry_auth"):
        response = client.post("/account/login", data={"csrf_token": token})
    assert response.status_code == 400
    assert "came over plain HTTP" in caplog.text
    assert "INDUSTRY_AUTH_SECURE_COOKIES" in caplog.text


def test_the_nonce_reaches_a_policy_with_only_default_src(make, tmp_path):
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "base.html").write_text(
        '<script nonce="{{ industry_auth_csp_nonce() }}"></script>{% block content %}{% endblock %}'
    )
    app = make(
        INDUSTRY_AUTH_BASE_TEMPLATE="host/base.html",
        INDUSTRY_AUTH_CSP="default-src 'self'; frame-ancestors 'none'",
    )
    app.template_folder = str(tmp_path)
    response = app.test_client().get("/account/login")
    (nonce,) = re.findall(r'<script nonce="([^"]+)">', text_of(response))
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'self'; frame-ancestors 'none'; ")
    assert f"script-src 'self' 'nonce-{nonce}'" in policy
    assert f"style-src 'self' 'nonce-{nonce}'" in policy
