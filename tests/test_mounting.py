"""Mounting in a host portal: layout, template overrides, app factory, CSRF, languages."""

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask_login import LoginManager, UserMixin
from flask_sqlalchemy import SQLAlchemy

from flask_industry_auth import IndustryAuth
from flask_industry_auth.i18n import catalog_dir
from tests.helpers import VALID, Portal, text_of
from tests.hostapp import auth, db, make_app


def test_every_page_extends_the_host_layout(make, tmp_path):
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "base.html").write_text(
        "<html><body><header>HOST HEADER</header>{% block content %}{% endblock %}"
        "<title>{% block title %}{% endblock %}</title></body></html>"
    )
    app = make(INDUSTRY_AUTH_BASE_TEMPLATE="host/base.html")
    app.template_folder = str(tmp_path)
    client = app.test_client()
    for path in (
        "/account/login",
        "/account/register",
        "/account/forgot-password",
        "/account/activate-again",
    ):
        page = text_of(client.get(path))
        assert "HOST HEADER" in page, path


def test_a_host_overrides_one_page(make, tmp_path):
    (tmp_path / "industry_auth").mkdir()
    (tmp_path / "industry_auth" / "forgot_password.html").write_text(
        '{% extends "industry_auth/_layout.html" %}'
        "{% block page_title %}AGENCY FORGOT PAGE{% endblock %}"
    )
    app = make()
    app.template_folder = str(tmp_path)
    client = app.test_client()
    assert "AGENCY FORGOT PAGE" in text_of(client.get("/account/forgot-password"))
    assert "非憑證帳號登入" in text_of(client.get("/account/login"))  # others untouched


def test_url_prefix_is_configurable(make):
    app = make(INDUSTRY_AUTH_URL_PREFIX="/applicants")
    assert app.test_client().get("/applicants/login").status_code == 200
    assert app.test_client().get("/account/login").status_code == 404


def test_two_apps_in_one_process(make, smtp, tmp_path):
    first = make()
    second = make_app(
        f"sqlite:///{tmp_path / 'second.sqlite'}", smtp.port, INDUSTRY_AUTH_MAX_FAILED_LOGINS=3
    )
    with second.app_context():
        db.create_all()
    try:
        a = Portal(first, first.test_client(), smtp)
        b = Portal(second, second.test_client(), smtp)
        a.apply_and_read_mail()
        b.apply_and_read_mail(email="other@example.com")
        assert [x.email for x in a.accounts()] == [VALID["email"]]
        assert [x.email for x in b.accounts()] == ["other@example.com"]
        assert first.config["INDUSTRY_AUTH_MAX_FAILED_LOGINS"] == 5
        assert second.extensions["industry_auth"] is not first.extensions["industry_auth"]
    finally:
        with second.app_context():
            from flask_industry_auth.mail import wait_for_delivery

            wait_for_delivery()
            db.session.remove()
            db.engine.dispose()


def test_init_app_twice_is_an_error(app):
    with pytest.raises(RuntimeError, match="already registered"):
        auth.init_app(app)


def test_mail_links_need_a_configured_address(tmp_path):
    app = Flask("nolinks")
    app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI="sqlite://")
    local_db = SQLAlchemy(app)
    with pytest.raises(RuntimeError, match="INDUSTRY_AUTH_EXTERNAL_URL"):
        IndustryAuth(app, db=local_db)


def test_the_hosts_login_manager_and_user_loader_keep_working(database_url, smtp):
    class Staff(UserMixin):
        def __init__(self, user_id):
            self.id = user_id

    host = Flask("withlogin")
    host.config.update(
        SECRET_KEY="x",
        SQLALCHEMY_DATABASE_URI=database_url,
        INDUSTRY_AUTH_EXTERNAL_URL="https://portal.example.gov.tw",
    )
    manager = LoginManager(host)
    manager.login_view = "staff_login"
    manager.user_loader(lambda user_id: Staff(user_id) if user_id.startswith("staff-") else None)
    local_db = SQLAlchemy(host)
    local_auth = IndustryAuth(host, db=local_db)
    assert host.login_manager is manager
    with host.test_request_context():
        local_db.create_all()
        try:
            assert manager._user_callback("staff-7").id == "staff-7"
            assert manager._user_callback("ia:999:nope") is None
        finally:
            local_db.session.remove()  # its open transaction would block the DROP
            local_db.drop_all()
            local_db.engine.dispose()
    assert local_auth.account_model.__tablename__ == "industry_auth_account"


def _post_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("industry_auth.") and "POST" in rule.methods:
            values = {arg: "confirm" for arg in rule.arguments}
            yield rule.endpoint, rule.build(values)[1]


# Generated from the blueprint's URL map: a new POST route gets its CSRF test by itself.
POST_ROUTES = sorted(_post_routes(make_app("sqlite://", 0)))


def test_csrf_routes_are_found():
    endpoints = {endpoint for endpoint, _ in POST_ROUTES}
    assert {
        "industry_auth.register",
        "industry_auth.login",
        "industry_auth.logout",
        "industry_auth.activate",
        "industry_auth.forgot_password",
        "industry_auth.profile",
        "industry_auth.change_password",
        "industry_auth.certificate_login",
        "industry_auth.session_status",
    } <= endpoints


@pytest.mark.parametrize(("endpoint", "path"), POST_ROUTES, ids=[e for e, _ in POST_ROUTES])
@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["missing", "wrong"])
def test_every_post_needs_a_valid_csrf_token(portal, endpoint, path, token):
    details = portal.active_account()  # logged in, so profile and password pages are live
    account = portal.account(details["account_id"])
    before = (
        account.session_uniquifier,
        account.password_hash,
        account.business_name,
        len(portal.accounts()),
        len(portal.settle()),
    )
    form = {
        **VALID,
        "account_id": details["account_id"],
        "password": details["password"],
        "old_password": details["password"],
        "new_password": "x" * 20,
        "confirm_password": "x" * 20,
        "action": "apply",
        "locale": "en",
        "purpose": "login",
        "business_name": "changed",
    }
    if token is not None:
        form["csrf_token"] = token
    response = portal.client.post(path, data=form)
    assert response.status_code == 400
    assert "表單已逾時或並非由本網站送出" in text_of(response)
    account = portal.account(details["account_id"])
    assert (
        account.session_uniquifier,
        account.password_hash,
        account.business_name,
        len(portal.accounts()),
        len(portal.settle()),
    ) == before
    assert portal.client.get("/account/").status_code == 200  # still logged in


def test_traditional_chinese_by_default_english_on_request(portal):
    page = text_of(portal.client.get("/account/login"))
    assert '<html lang="zh-Hant-TW">' in page and "非憑證帳號登入" in page
    portal.post("/account/language", {"locale": "en", "next": "/account/register"})
    page = text_of(portal.client.get("/account/login"))
    assert '<html lang="en">' in page and "Log in with a non-certificate account" in page
    assert "Unified business number" in page
    # An unknown locale is ignored; an unsafe next is not followed.
    response = portal.post("/account/language", {"locale": "fr", "next": "//evil.example"})
    assert response.headers["Location"] == "/account/login"
    assert "Log in with a non-certificate account" in text_of(portal.client.get("/account/login"))


def test_shipped_catalogs_are_compiled_from_the_sources():
    for locale in ("zh_Hant_TW", "en"):
        folder = catalog_dir() / locale / "LC_MESSAGES"
        with (
            open(folder / "industry_auth.po", "rb") as po,
            open(folder / "industry_auth.mo", "rb") as mo,
        ):
            source, compiled = read_po(po), read_mo(mo)
        expected = {m.id: m.string for m in source if m.id and m.string}
        shipped = {m.id: m.string for m in compiled if m.id and m.string}
        assert shipped == expected, locale


def test_every_message_has_a_chinese_translation():
    with open(catalog_dir() / "zh_Hant_TW" / "LC_MESSAGES" / "industry_auth.po", "rb") as po:
        catalog = read_po(po)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []
