"""The host portal the tests mount the package in: an app factory, like a real portal."""

from __future__ import annotations

from flask import Flask, render_template_string
from flask_login import login_required
from flask_sqlalchemy import SQLAlchemy

from flask_industry_auth import IndustryAuth

db = SQLAlchemy()
auth = IndustryAuth(db=db)

#: Fast argon2id for tests; production keeps argon2-cffi's defaults.
FAST_ARGON2 = {
    "INDUSTRY_AUTH_ARGON2_TIME_COST": 1,
    "INDUSTRY_AUTH_ARGON2_MEMORY_COST": 1024,
    "INDUSTRY_AUTH_ARGON2_PARALLELISM": 1,
}


def make_app(database_url: str, smtp_port: int, **config) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="test-secret-key-not-for-production",
        TESTING=True,
        MAIL_SUPPRESS_SEND=False,  # Flask-Mail suppresses under TESTING; we want real SMTP
        SQLALCHEMY_DATABASE_URI=database_url,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_port,
        MAIL_DEFAULT_SENDER="no-reply@portal.example.gov.tw",
        INDUSTRY_AUTH_EXTERNAL_URL="https://portal.example.gov.tw",
        INDUSTRY_AUTH_SMTP_TIMEOUT=5,
        INDUSTRY_AUTH_SECURE_COOKIES=False,  # the test client speaks plain HTTP
        # The lockout and recovery tests fail logins on purpose, more often than the
        # production limits allow; test_ratelimit.py tests the limits themselves.
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT="100/5minutes",
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="100/minute",
        **FAST_ARGON2,
    )
    app.config.update(config)
    db.init_app(app)
    auth.init_app(app)

    @app.route("/host-page")
    @login_required
    def host_page():
        return render_template_string("host page for {{ current_user.account_id }}")

    return app
