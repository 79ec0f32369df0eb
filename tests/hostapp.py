"""The host portal the tests mount the package in: an app factory, like a real portal."""

from __future__ import annotations

from flask import Flask, render_template_string
from flask_login import login_required
from flask_sqlalchemy import SQLAlchemy

from flask_industry_auth import IndustryAuth
from flask_industry_auth.testkit import host_config

db = SQLAlchemy()
auth = IndustryAuth(db=db)


def make_app(database_url: str, smtp_port: int, **config) -> Flask:
    app = Flask(__name__)
    app.config.update(
        host_config(database_url, smtp_port),
        # The lockout and recovery tests fail logins on purpose, more often than the
        # production limits allow; test_ratelimit.py tests the limits themselves.
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT="100/5minutes",
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="100/minute",
    )
    app.config.update(config)
    db.init_app(app)
    auth.init_app(app)

    @app.route("/host-page")
    @login_required
    def host_page():
        return render_template_string("host page for {{ current_user.account_id }}")

    return app
