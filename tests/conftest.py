"""Fixtures: a real SMTP server on 127.0.0.1, a real database (SQLite, or PostgreSQL when
INDUSTRY_AUTH_TEST_DATABASE_URL is set), and the host app of ``hostapp``."""

from __future__ import annotations

import os

import pytest

from examples.portal.mailsink import MailSink
from tests import helpers
from tests.hostapp import db, make_app

TEST_DATABASE_URL = os.environ.get("INDUSTRY_AUTH_TEST_DATABASE_URL")


def pytest_report_header(config):
    from tests.browser.conftest import CHROMIUM, browser_unavailable

    reason = browser_unavailable()
    return [
        f"industry_auth database: {TEST_DATABASE_URL or 'SQLite (temporary file)'}",
        f"browser tests: SKIPPED - {reason}"
        if reason
        else f"browser tests: Chromium at {CHROMIUM}",
    ]


@pytest.fixture
def smtp():
    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def database_url(tmp_path):
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture
def make(database_url, smtp):
    """Build a host app (with extra config) on the test database, tables created."""
    apps = []

    def factory(**config):
        app = make_app(database_url, smtp.port, **config)
        apps.append(app)  # torn down (engine disposed) even if creating the tables fails
        with app.app_context():
            db.drop_all()
            db.create_all()
        return app

    yield factory
    for app in apps:
        with app.app_context():
            from flask_industry_auth.mail import wait_for_delivery

            wait_for_delivery(10)
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def app(make):
    return make()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def portal(app, client, smtp):
    """Drive the pages as an applicant would (see ``helpers.Portal``)."""
    return helpers.Portal(app, client, smtp)


@pytest.fixture
def account(portal):
    """An activated account with a password of its own, logged out, its mails delivered."""
    details = portal.active_account()
    portal.logout()
    portal.forget_mails()
    return details


@pytest.fixture
def signed_in(portal):
    """An activated account with a password of its own, logged in, its mails delivered."""
    details = portal.active_account()
    portal.forget_mails()
    return details
