"""The portal the soak test (``scripts/soak.py``) runs, its mail sent by worker processes only.

    python scripts/soak_host.py DATABASE_URL PORT [SMTP_PORT [RATELIMIT_STORAGE_URI]]
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


def make_app(
    database_url: str, smtp_port: int, *, thread: bool = False, ratelimit: str | None = None
) -> Flask:
    """The soak's portal. Its mail is sent by worker processes, or with ``thread`` by the app
    process itself; ``ratelimit`` is the rate limits' storage (none: limits off)."""
    app = Flask(__name__)
    app.config.update(
        host_config(database_url, smtp_port),
        INDUSTRY_AUTH_MAIL_DELIVERY="thread" if thread else "worker",
        INDUSTRY_AUTH_RATELIMIT_ENABLED=ratelimit is not None,
        # A mail claimed by a sender that lost the database is claimed again within the run.
        INDUSTRY_AUTH_MAIL_CLAIM_SECONDS=20,
    )
    if ratelimit is not None:
        # Generous limits: the soak tests the storage, not the limits.
        app.config.update(
            INDUSTRY_AUTH_RATELIMIT_STORAGE_URI=ratelimit,
            INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="100000/minute",
            INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT="100000/minute",
            INDUSTRY_AUTH_RATELIMIT_REGISTER_PER_IP="100000/minute",
            INDUSTRY_AUTH_RATELIMIT_RESET_PER_IP="100000/minute",
            INDUSTRY_AUTH_RATELIMIT_RESET_PER_ACCOUNT="100000/minute",
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
    # Without an SMTP port (or 0): the app process queues mail, the workers send it.
    smtp_port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    ratelimit = sys.argv[4] if len(sys.argv) > 4 else None
    app = make_app(database_url, smtp_port or 9, thread=bool(smtp_port), ratelimit=ratelimit)
    run_simple("127.0.0.1", port, app, threaded=True)
