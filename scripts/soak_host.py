"""The portal the soak test (``scripts/soak.py``) runs, its mail sent by worker processes only.

    python scripts/soak_host.py DATABASE_URL PORT     # one app process on 127.0.0.1:PORT
    flask --app 'scripts/soak_host.py:worker_app()' industry-auth deliver-mail --watch

A worker's database and SMTP port come from the environment that
``flask_industry_auth.testkit.start_mail_worker`` sets.
"""

from __future__ import annotations

import sys

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_industry_auth import IndustryAuth
from flask_industry_auth.testkit import host_config, worker_settings

db = SQLAlchemy()
auth = IndustryAuth(db=db)

#: The ``flask --app`` value of a mail worker, run from the repository's root.
WORKER_APP = "scripts/soak_host.py:worker_app()"


def make_app(database_url: str, smtp_port: int) -> Flask:
    app = Flask(__name__)
    app.config.update(
        host_config(database_url, smtp_port),
        INDUSTRY_AUTH_MAIL_DELIVERY="worker",
        INDUSTRY_AUTH_RATELIMIT_ENABLED=False,
    )
    db.init_app(app)
    auth.init_app(app)
    return app


def worker_app() -> Flask:
    """The app of a mail worker started by ``start_mail_worker(WORKER_APP, ...)``."""
    return make_app(*worker_settings())


if __name__ == "__main__":
    from werkzeug.serving import run_simple

    database_url, port = sys.argv[1], int(sys.argv[2])
    # SMTP port 9 (discard): the app processes queue mail, the workers send it.
    run_simple("127.0.0.1", port, make_app(database_url, 9), threaded=True)
