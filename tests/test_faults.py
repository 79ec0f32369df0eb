"""Faults: the database, Redis or SMTP unreachable or hung."""

import contextlib
import logging
import socket
import time

import pytest
import sqlalchemy as sa

from flask_industry_auth.mail import deliver_due, wait_for_delivery
from tests.helpers import VALID, Portal, text_of
from tests.hostapp import auth, db


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def database_down(app):
    """Point the app's engine at a port where no database answers, then restore it."""
    engines = app.extensions["sqlalchemy"]._app_engines[app]
    working = engines[None]
    engines[None] = sa.create_engine(
        f"postgresql+psycopg://nobody@127.0.0.1:{_dead_port()}/none?connect_timeout=2"
    )
    try:
        yield
    finally:
        engines[None].dispose()
        engines[None] = working


def test_database_unreachable_every_page_answers_503(make, smtp):
    app = make()
    portal = Portal(app, app.test_client(), smtp)
    portal.active_account()  # logged in: even the host's pages read the database
    with database_down(app):
        for path in ("/account/", "/account/profile", "/host-page", "/account/login"):
            response = portal.client.get(path)
            assert response.status_code == 503, path
            assert response.headers["Retry-After"] == "60"
            assert "系統暫時無法使用" in text_of(response)
    assert portal.client.get("/account/").status_code == 200  # and back when it is


def test_database_unreachable_an_application_saves_nothing(make, smtp):
    app = make()
    portal = Portal(app, app.test_client(), smtp)
    token = portal.csrf()
    with database_down(app):
        response = portal.client.post(
            "/account/register", data={**VALID, "action": "apply", "csrf_token": token}
        )
        assert response.status_code == 503
    assert portal.accounts() == []
    assert smtp.mails == []


def test_smtp_hung_the_attempt_times_out_and_the_mail_waits(make, smtp):
    app = make(INDUSTRY_AUTH_SMTP_TIMEOUT=1, INDUSTRY_AUTH_MAIL_DELIVERY="worker")
    portal = Portal(app, app.test_client(), smtp)
    smtp.stall_seconds = 3
    assert portal.apply().status_code == 302  # the application does not wait for SMTP
    with app.app_context():
        started = time.monotonic()
        assert deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
        assert time.monotonic() - started < 2.5  # given up after the 1 s timeout
        row = db.session.scalars(db.select(auth.models.OutboxMail)).one()
        assert row.status == "pending" and row.attempts == 1 and row.last_error
    smtp.stall_seconds = 0
    with app.app_context():
        assert deliver_due(include_deferred=True)["sent"] == 1
        wait_for_delivery()
    assert len(smtp.mails) == 1


def test_redis_unreachable_the_limits_fall_back_to_memory_and_say_so(make, smtp, caplog):
    app = make(
        INDUSTRY_AUTH_RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{_dead_port()}",
        INDUSTRY_AUTH_RATELIMIT_RESET_PER_IP="2/minute",
    )
    portal = Portal(app, app.test_client(), smtp)
    with caplog.at_level(logging.WARNING):
        statuses = [
            portal.post("/account/forgot-password", {"account_id": f"A{n}"}).status_code
            for n in range(3)
        ]
    assert statuses == [200, 200, 429]  # still limited, in memory
    assert any(
        "falling back" in r.getMessage().lower() or "unreachable" in r.getMessage().lower()
        for r in caplog.records
    )


@pytest.mark.parametrize("ignored", [None])
def test_registration_fails_cleanly_not_halfway(make, smtp, ignored):
    # A failure inside the transaction (here: a mail template missing) rolls back the
    # account with its mail: nothing half-written.
    app = make()
    portal = Portal(app, app.test_client(), smtp)
    app.jinja_env.globals["_industry_auth_break"] = True
    loader = app.jinja_loader
    original = loader.get_source

    def broken(environment, name):
        if name.endswith("activation_message.html"):
            raise RuntimeError("template store down")
        return original(environment, name)

    loader.get_source = broken
    app.jinja_env.cache.clear()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        token = portal.csrf()
        response = portal.client.post(
            "/account/register", data={**VALID, "action": "apply", "csrf_token": token}
        )
        assert response.status_code == 500
    finally:
        loader.get_source = original
    assert portal.accounts() == []
    with app.app_context():
        assert db.session.scalars(db.select(auth.models.OutboxMail)).all() == []
