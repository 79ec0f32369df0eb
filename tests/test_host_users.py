"""A portal with users of its own: applicants are not its users unless it says so.

The host has its own ``LoginManager``, user loader, ``@login_required`` pages, session keys and
Flask-Babel; the package's pages and ``current_account()`` work beside them, whatever the order
in which the host sets them up.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, jsonify, render_template_string, request, session
from flask_babel import Babel
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_login import logout_user as host_logout_user
from flask_sqlalchemy import SQLAlchemy

from flask_industry_auth import IndustryAuth, account_required, current_account
from flask_industry_auth.testkit import FAST_ARGON2
from tests.helpers import Portal, text_of


class Staff(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def _host(database_url, smtp_port, *, order: str, babel: bool = False, **config):
    """A portal with its own staff users. ``order`` says what the host sets up first."""
    app = Flask(f"host_{order}")
    app.config.update(
        SECRET_KEY="host-secret",
        TESTING=True,
        MAIL_SUPPRESS_SEND=False,
        SQLALCHEMY_DATABASE_URI=database_url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_port,
        MAIL_DEFAULT_SENDER="no-reply@portal.example.gov.tw",
        INDUSTRY_AUTH_EXTERNAL_URL="https://portal.example.gov.tw",
        INDUSTRY_AUTH_SECURE_COOKIES=False,
        **FAST_ARGON2,
        **config,
    )
    db = SQLAlchemy(app)
    auth = IndustryAuth(db=db)

    def load_staff(user_id):
        return Staff(user_id) if user_id.startswith("staff-") else None

    if babel:
        # The host owns Flask-Babel: English by default, its own selector for its own pages.
        app.config["BABEL_DEFAULT_LOCALE"] = "en"
        Babel(app, locale_selector=lambda: "en")
    if order == "host-first":
        manager = LoginManager(app)
        manager.user_loader(load_staff)
        auth.init_app(app)
    elif order == "loader-after":
        manager = LoginManager(app)
        auth.init_app(app)
        manager.user_loader(load_staff)  # registered after init_app
    else:  # the package first, then the host's own LoginManager (as Flask-AppBuilder does)
        auth.init_app(app)
        manager = LoginManager(app)
        manager.user_loader(load_staff)
    manager.login_view = "staff_login"

    @app.route("/staff/login", methods=["GET", "POST"])
    def staff_login():
        if request.method == "POST":
            login_user(Staff("staff-" + request.form["name"]))
            return "staff logged in"
        return "staff login page"

    @app.route("/staff/logout", methods=["POST"])
    def staff_logout():
        host_logout_user()
        return "staff logged out"

    @app.route("/staff/home")
    @login_required
    def staff_home():
        return render_template_string("staff home of {{ current_user.id }}")

    @app.route("/api/me")
    @login_required
    def api_me():
        return jsonify(user=current_user.get_id())

    @app.route("/cart", methods=["GET", "POST"])
    def cart():
        if request.method == "POST":
            session["host_cart"] = "three forms"
        return f"cart: {session.get('host_cart')}"

    @app.route("/paper")
    @account_required
    def paper():
        return "paper filing"

    @app.route("/whoami")
    def whoami():
        account = current_account()
        user = current_user.get_id() if current_user.is_authenticated else None
        return jsonify(account=account.account_id if account else None, user=user)

    with app.app_context():
        db.create_all()
    return app, db


@pytest.fixture(params=["host-first", "loader-after", "package-first"])
def host(request, database_url, smtp):
    app, db = _host(database_url, smtp.port, order=request.param)
    yield app
    _drop(app, db)


def _drop(app, db):
    with app.app_context():
        from flask_industry_auth.mail import wait_for_delivery

        wait_for_delivery(10)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _no_server_errors(response):
    assert response.status_code < 500, text_of(response)
    return response


def test_an_applicant_is_not_the_hosts_user(host, smtp):
    portal = Portal(host, host.test_client(), smtp)
    details = portal.active_account()  # logged in as an applicant
    client = portal.client
    response = _no_server_errors(client.get("/staff/home"))
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert _no_server_errors(client.get("/api/me")).status_code in (302, 401)
    assert client.get("/whoami").get_json() == {"account": details["account_id"], "user": None}
    assert client.get("/account/").status_code == 200
    assert client.get("/account/profile").status_code == 200


def test_a_staff_user_and_an_applicant_at_once(host, smtp):
    portal = Portal(host, host.test_client(), smtp)
    client = portal.client
    client.post("/cart")
    details = portal.active_account()
    assert client.get("/cart").get_data(as_text=True) == "cart: three forms"  # login kept it
    client.post("/staff/login", data={"name": "chen"})
    assert client.get("/staff/home").get_data(as_text=True) == "staff home of staff-chen"
    assert client.get("/whoami").get_json() == {
        "account": details["account_id"],
        "user": "staff-chen",
    }
    # The applicant logs out: the staff user and the host's own key stay.
    assert portal.logout().status_code == 302
    assert client.get("/whoami").get_json() == {"account": None, "user": "staff-chen"}
    assert client.get("/cart").get_data(as_text=True) == "cart: three forms"
    # The applicant logs in again, then the staff user logs out: the applicant stays.
    portal.login(details["business_id"], details["account_id"], details["password"])
    client.post("/staff/logout")
    assert client.get("/whoami").get_json() == {"account": details["account_id"], "user": None}
    assert client.get("/account/").status_code == 200


def test_anonymous_visitors_of_package_pages_go_to_the_package_login(host):
    client = host.test_client()
    for path in ("/account/", "/account/profile", "/account/change-password"):
        response = _no_server_errors(client.get(path))
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/account/login?next=")
    # A JSON client gets a JSON answer, not a redirect to an HTML page.
    response = client.get("/account/", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.get_json()["error"] == "login_required"


def test_forced_password_change_answers_json_to_host_json_routes(host, smtp):
    portal = Portal(host, host.test_client(), smtp)
    details = portal.apply_and_read_mail()
    portal.activate(details["link"])
    portal.login("04595257", details["account_id"], details["password"])  # must change it now
    response = portal.client.get("/whoami", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "password_change_required"
    response = portal.client.get("/whoami")  # a page: sent to the form
    assert response.headers["Location"] == "/account/change-password"


@pytest.mark.parametrize("order", ["host-first", "loader-after", "package-first"])
def test_a_host_can_share_its_current_user_with_applicants(order, database_url, smtp):
    app, db = _host(database_url, smtp.port, order=order, INDUSTRY_AUTH_SHARE_LOGIN=True)
    try:
        portal = Portal(app, app.test_client(), smtp)
        details = portal.active_account()
        whoami = portal.client.get("/whoami").get_json()
        assert whoami["account"] == details["account_id"]
        assert whoami["user"].startswith("ia:")
        assert portal.client.get("/staff/home").status_code == 200
        portal.logout()
        assert portal.client.get("/whoami").get_json() == {"account": None, "user": None}
        # The host's own logout_user() ends the shared login on the package's pages too.
        portal.login(details["business_id"], details["account_id"], details["password"])
        assert portal.client.get("/account/").status_code == 200
        portal.client.post("/staff/logout")
        assert portal.client.get("/whoami").get_json() == {"account": None, "user": None}
        assert portal.client.get("/account/").status_code == 302
    finally:
        _drop(app, db)


def test_a_flask_login_id_alone_is_nobody(host, smtp):
    # A cookie holding only Flask-Login's id for an account (an older release's, say) has no
    # login time: it must not pass the host's @login_required nor reach the package's pages.
    portal = Portal(host, host.test_client(), smtp)
    portal.active_account()
    with portal.client.session_transaction() as session:
        account_id = session["_industry_auth_account"]  # "ia:<pk>:<uniquifier>"
    with portal.client.session_transaction() as session:
        for key in [k for k in session if k.startswith("_industry_auth_")]:
            del session[key]
        session["_user_id"] = account_id  # a live id, only without the package's login
    assert _no_server_errors(portal.client.get("/staff/home")).status_code == 302
    assert portal.client.get("/whoami").get_json() == {"account": None, "user": None}
    assert portal.client.get("/account/").status_code == 302


def test_the_way_back_after_login_keeps_the_mount_point_and_the_encoding(host, smtp):
    portal = Portal(host, host.test_client(), smtp)
    response = portal.client.get("/paper?file=a%2Fb%3Fc", base_url="http://localhost/portal/")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/portal/account/login"
    assert parse_qs(location.query)["next"] == ["/portal/paper?file=a%2Fb%3Fc"]


def test_an_expired_applicant_leaves_the_staff_users_json_alone(host, smtp):
    portal = Portal(host, host.test_client(), smtp)
    portal.active_account()
    portal.client.post("/staff/login", data={"name": "chen"})
    with portal.client.session_transaction() as session:
        session["_industry_auth_seen_at"] -= 3600  # idle for an hour
    response = portal.client.get("/api/me", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.get_json() == {"user": "staff-chen"}
    assert portal.client.get("/whoami").get_json() == {"account": None, "user": "staff-chen"}


def test_package_pages_speak_the_applicants_language_when_the_host_owns_babel(database_url, smtp):
    app, db = _host(database_url, smtp.port, order="host-first", babel=True)
    try:
        portal = Portal(app, app.test_client(), smtp)
        page = text_of(portal.client.get("/account/login"))
        assert '<html lang="zh-Hant-TW">' in page and "非憑證帳號登入" in page
        portal.post("/account/language", {"locale": "en", "next": "/account/login"})
        page = text_of(portal.client.get("/account/login"))
        assert '<html lang="en">' in page and "Log in with a non-certificate account" in page
    finally:
        _drop(app, db)
