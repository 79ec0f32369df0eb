"""Two portals in one process, each with its own IndustryAuth, database and secret key,
mounted at /a and /b by werkzeug's DispatcherMiddleware.

Environment: ``HOST_DATABASE_URL_A``, ``HOST_DATABASE_URL_B``, ``HOST_SMTP_PORT`` and
``HOST_EXTERNAL_URL`` (the server's root; portal A's links are under /a, B's under /b).
For the CLI: ``flask --app "two_apps.py:create_portal('a')" industry-auth migrate``.
"""

import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from host_settings import from_environment
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from flask_industry_auth import IndustryAuth


def create_portal(name: str) -> Flask:
    db = SQLAlchemy()
    auth = IndustryAuth(db=db)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=f"portal-{name}-secret", **from_environment(f"HOST_DATABASE_URL_{name.upper()}")
    )
    root = os.environ.get("HOST_EXTERNAL_URL", "http://127.0.0.1")
    app.config["INDUSTRY_AUTH_EXTERNAL_URL"] = f"{root}/{name}"
    # Two apps on one origin: each keeps its session cookie to its own path (plain Flask).
    app.config["SESSION_COOKIE_PATH"] = f"/{name}"
    db.init_app(app)
    auth.init_app(app)

    @app.get("/")
    def home():
        return f"portal {name}"

    return app


def create_app():
    return DispatcherMiddleware(NotFound(), {"/a": create_portal("a"), "/b": create_portal("b")})
