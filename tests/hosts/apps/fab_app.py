"""A Flask-AppBuilder portal with flask_industry_auth mounted at /account.

FAB as its documentation sets it up (``SQLA``, ``AppBuilder(app, db.session)``, the default
security manager, an admin from ``flask fab create-admin``), the package as the README's
Quickstart does, and nothing else: no glue between the two.

Environment: ``HOST_DATABASE_URL``, ``HOST_SMTP_PORT``, ``HOST_EXTERNAL_URL`` and
``HOST_INIT_ORDER``: ``fab-first`` (default) or ``package-first``.
"""

import os

from flask import Flask
from flask_appbuilder import AppBuilder
from flask_appbuilder.models.sqla.base import SQLA
from host_settings import from_environment

from flask_industry_auth import IndustryAuth

db = SQLA()
auth = IndustryAuth(db=db)
appbuilder = AppBuilder()


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="fab-host-secret", **from_environment())
    db.init_app(app)
    order = os.environ.get("HOST_INIT_ORDER", "fab-first")
    with app.app_context():  # FAB's init_app works on current_app
        if order == "fab-first":
            appbuilder.init_app(app, db.session)
            auth.init_app(app)
        elif order == "package-first":
            auth.init_app(app)
            appbuilder.init_app(app, db.session)
        else:
            raise RuntimeError(f"unknown HOST_INIT_ORDER {order!r}")
    return app
