"""Filing rights: 全電子申辦 for certificate logins only, 紙本申辦 for everybody."""

from flask import Flask

from flask_industry_auth import current_account, electronic_filing_required
from flask_industry_auth.models import BUSINESS_CERTIFICATE, LOGIN_METHOD_KEY
from tests.helpers import text_of


def _electronic_page(app: Flask) -> None:
    @app.route("/file-electronically")
    @electronic_filing_required
    def file_electronically():
        return f"electronic filing for {current_account().account_id}"


def test_non_certificate_accounts_file_on_paper_only(make, smtp):
    from tests.helpers import Portal

    app = make()
    _electronic_page(app)
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    page = text_of(portal.client.get("/account/"))
    assert "僅能紙本申辦" in page
    refused = portal.client.get("/file-electronically")
    assert refused.status_code == 403
    assert "僅以憑證卡登入的工商憑證及自然人憑證帳號可進行全電子申辦" in text_of(refused)
    assert portal.account(details["account_id"]).can_file_electronically is False


def test_anonymous_visitors_are_sent_to_login(make):
    app = make()
    _electronic_page(app)
    response = app.test_client().get("/file-electronically")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_certificate_accounts_may_after_a_certificate_login(make, smtp):
    from tests.helpers import Portal

    app = make()
    _electronic_page(app)
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    portal.set_account_type(details["account_id"], BUSINESS_CERTIFICATE)
    # Same certificate account, but this session logged in with a password: paper only.
    assert portal.client.get("/file-electronically").status_code == 403
    # The certificate login (issue 3) marks the session; the rights follow the session.
    with portal.client.session_transaction() as session:
        session[LOGIN_METHOD_KEY] = "certificate"
    response = portal.client.get("/file-electronically")
    assert response.status_code == 200
    assert "紙本申辦及全電子申辦" in text_of(portal.client.get("/account/"))
