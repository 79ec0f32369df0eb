"""Issue 15: nothing jams the mail, and delivery needs no luck.

Real SMTP servers on 127.0.0.1 (aiosmtpd, with and without SMTPUTF8), the real CLI worker loop,
a real database outage (the engine pointed at a file that cannot be opened)."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from flask_industry_auth import mail as outbox_mail
from flask_industry_auth.admin import AccountAdmin
from flask_industry_auth.mail import (
    _fernet,
    deliver_due,
    mail_counts,
    queue_mail,
    wait_for_delivery,
)
from flask_industry_auth.testkit import csrf_token, free_port
from tests.helpers import Portal, text_of
from tests.hostapp import auth, db, make_app

UTF8_ADDRESS = "測試@example.com"


class _Relay:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def _relay(enable_smtputf8: bool):
    handler = _Relay()
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=enable_smtputf8
    )
    controller.start()
    return controller, handler


@pytest.fixture
def utf8_relay():
    """A relay that offers SMTPUTF8 (RFC 6531), as Postfix 3 does."""
    controller, handler = _relay(True)
    yield controller, handler
    controller.stop()


@pytest.fixture
def ascii_relay():
    """A relay that does not offer SMTPUTF8 (aiosmtpd offers it unless told not to)."""
    controller, handler = _relay(False)
    yield controller, handler
    controller.stop()


def _rows(app):
    with app.app_context():
        rows = db.session.scalars(
            db.select(auth.models.OutboxMail).order_by(auth.models.OutboxMail.id)
        ).all()
        db.session.expunge_all()
        return rows


def _wait(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _watch(app, *args, until, timeout=20.0):
    """Run ``deliver-mail --watch`` in this process and SIGTERM it once ``until()`` holds."""
    ours = []

    def stopper():
        deadline = time.monotonic() + timeout
        while not until() and time.monotonic() < deadline:
            time.sleep(0.02)
        # Only while the worker's own handler is installed (never kill pytest).
        while time.monotonic() < deadline + 5:
            if signal.getsignal(signal.SIGTERM) not in ours:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.02)

    ours.append(signal.getsignal(signal.SIGTERM))
    thread = threading.Thread(target=stopper, daemon=True)
    thread.start()
    result = app.test_cli_runner().invoke(
        args=["industry-auth", "deliver-mail", "--watch", "--interval", "0.1", *args]
    )
    thread.join(10)
    assert signal.getsignal(signal.SIGTERM) in ours  # the worker put pytest's handler back
    return result


def _queue_more(app, count: int, kind: str = "password_changed") -> None:
    with app.test_request_context():
        account = db.session.scalars(db.select(auth.account_model)).first()
        for _ in range(count):
            queue_mail(kind, account)
        db.session.commit()


# -- 1. nothing jams the mail ---------------------------------------------------------------


def test_a_non_ascii_local_part_goes_with_smtputf8_where_the_relay_offers_it(make, utf8_relay):
    controller, handler = utf8_relay
    app = make(MAIL_PORT=controller.port)
    portal = Portal(app, app.test_client(), None)
    assert portal.apply(email=UTF8_ADDRESS).status_code == 302  # the form accepts it
    with app.app_context():
        wait_for_delivery()
    (row,) = _rows(app)
    assert row.status == "sent", row.last_error
    (envelope,) = handler.envelopes
    assert envelope.rcpt_tos == [UTF8_ADDRESS]
    assert envelope.smtp_utf8  # MAIL FROM … SMTPUTF8
    content = envelope.original_content.decode("utf-8")
    assert f"To: {UTF8_ADDRESS}" in content


def test_a_relay_without_smtputf8_fails_that_mail_at_once_and_the_rest_goes_on(make, ascii_relay):
    controller, handler = ascii_relay
    app = make(INDUSTRY_AUTH_MAIL_DELIVERY="worker", MAIL_PORT=controller.port)
    portal = Portal(app, app.test_client(), None)
    assert portal.apply(email=UTF8_ADDRESS).status_code == 302
    assert portal.apply(business_id="22099131", email="later@example.com").status_code == 302
    result = _watch(app, until=lambda: len(handler.envelopes) >= 1)
    assert result.exit_code == 1, result.output  # a mail failed for good in this run
    assert "sent 1, deferred 0, failed 1" in result.output
    first, later = _rows(app)
    assert first.status == "failed" and first.attempts == 1  # not retried: it cannot go
    assert "SMTPUTF8" in first.last_error and UTF8_ADDRESS in first.last_error
    assert later.status == "sent"
    assert [e.rcpt_tos for e in handler.envelopes] == [["later@example.com"]]


def test_an_internationalised_domain_alone_goes_in_its_ascii_form(make, smtp):
    app = make()
    portal = Portal(app, app.test_client(), smtp)
    assert portal.apply(email="applicant@測試.tw").status_code == 302
    (mail,) = portal.settle()
    assert mail.recipients == ["applicant@xn--g6w251d.tw"]


def test_any_error_with_one_mail_is_recorded_and_the_batch_goes_on(make, smtp):
    app = make(INDUSTRY_AUTH_MAIL_DELIVERY="worker", INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS=2)
    portal = Portal(app, app.test_client(), smtp)
    portal.apply()
    with app.app_context():
        # A body that decrypts but is no mail (not JSON): an error nobody anticipated.
        db.session.execute(
            sa.update(auth.models.OutboxMail.__table__).values(body=_fernet().encrypt(b"not json"))
        )
        db.session.commit()
    _queue_more(app, 1)
    with app.app_context():
        assert deliver_due() == {"sent": 1, "retry": 1, "failed": 0}
        assert deliver_due(include_deferred=True) == {"sent": 0, "retry": 0, "failed": 1}
    broken, good = _rows(app)
    assert broken.status == "failed" and broken.last_error.startswith("JSONDecodeError")
    assert good.status == "sent"


# -- 2. delivery needs no luck ---------------------------------------------------------------


def test_thread_mode_retries_deferred_mail_by_itself(make, smtp, monkeypatch):
    monkeypatch.setattr(outbox_mail, "RETRY_BASE_SECONDS", 1)  # 1 s, 2 s … instead of 30 s
    app = make()  # INDUSTRY_AUTH_MAIL_DELIVERY = "thread", no worker
    portal = Portal(app, app.test_client(), smtp)
    smtp.refuse_with = "451 4.3.0 try again later"  # the relay is down
    assert portal.apply().status_code == 302
    with app.app_context():
        wait_for_delivery()
    # Nothing else happens in the app: no request, no worker. The process retries alone.
    _wait(lambda: (_rows(app)[0].attempts, _rows(app)[0].status) == (2, "pending"))
    assert smtp.mails == []
    smtp.refuse_with = None  # the relay is back
    _wait(lambda: len(smtp.mails) == 1)
    # The relay has the mail a moment before the sender records it as sent.
    _wait(lambda: _rows(app)[0].status != "sending")
    (row,) = _rows(app)
    assert row.status == "sent" and row.attempts >= 3


def test_a_fresh_process_sends_what_another_left_deferred_at_its_first_request(
    make, smtp, database_url
):
    first = make(INDUSTRY_AUTH_MAIL_DELIVERY="worker")  # it queued, and went away
    Portal(first, first.test_client(), smtp).apply()
    assert smtp.mails == []
    second = make_app(database_url, smtp.port)  # thread mode: a restarted app server
    try:
        started = time.monotonic()
        second.test_client().get("/account/login")  # one request, which queues nothing
        _wait(lambda: len(smtp.mails) == 1)
        assert time.monotonic() - started >= outbox_mail._FIRST_LOOK_DELAY - 0.5
    finally:
        with second.app_context():
            wait_for_delivery(10)
            db.session.remove()
            db.engine.dispose()
    assert _rows(first)[0].status == "sent"


def test_no_transaction_stays_open_between_looks(make, smtp, database_url):
    app = make(INDUSTRY_AUTH_MAIL_DELIVERY="worker")
    Portal(app, app.test_client(), smtp).apply()
    with app.app_context():
        for _ in range(2):  # a look that sends, then an idle look
            deliver_due()
            assert not db.session().in_transaction()
            if database_url.startswith("sqlite:///"):
                other = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0)
                try:
                    other.execute("BEGIN EXCLUSIVE")  # nobody holds a lock on the outbox
                    other.rollback()
                finally:
                    other.close()
    assert len(smtp.mails) == 1


def test_a_worker_waits_out_a_database_outage_and_reconnects(make, smtp, tmp_path):
    app = make(INDUSTRY_AUTH_MAIL_DELIVERY="worker")
    Portal(app, app.test_client(), smtp).apply()
    engines = app.extensions["sqlalchemy"]._app_engines[app]
    working = engines[None]
    down = sa.create_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.sqlite'}")
    engines[None] = down  # the database is unreachable

    def back_up():
        time.sleep(2.5)
        engines[None] = working

    threading.Thread(target=back_up, daemon=True).start()
    try:
        result = _watch(app, until=lambda: len(smtp.mails) >= 1, timeout=30)
    finally:
        engines[None] = working
        down.dispose()
    assert result.exit_code == 0, result.output
    assert "sent 1, deferred 0, failed 0" in result.output
    # Back-off 1 s, 2 s …: a couple of looks while it was down, no exit, no busy loop.
    waits = result.output.count("database unreachable")
    assert 2 <= waits <= 3, result.output
    assert "next look in 1 s" in result.output and "next look in 2 s" in result.output
    assert "database reachable again" in result.output


def test_sigterm_stops_the_worker_after_the_mail_in_hand(make, smtp):
    app = make(INDUSTRY_AUTH_MAIL_DELIVERY="worker")
    Portal(app, app.test_client(), smtp).apply()
    _queue_more(app, 5)
    smtp.stall_seconds = 0.3
    result = _watch(app, until=lambda: len(smtp.mails) >= 1)
    assert result.exit_code == 0, result.output
    sent = len(smtp.mails)
    assert 1 <= sent <= 2  # the mail in hand when SIGTERM came was finished
    assert f"sent {sent}," in result.output
    statuses = [row.status for row in _rows(app)]
    assert statuses.count("pending") == 6 - sent and "sending" not in statuses


def test_failed_mail_is_requeued_from_the_cli(make, smtp):
    app = make(INDUSTRY_AUTH_MAIL_DELIVERY="worker", INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS=1)
    Portal(app, app.test_client(), smtp).apply()
    runner = app.test_cli_runner()
    smtp.refuse_with = "550 5.1.1 mailbox unavailable"
    result = runner.invoke(args=["industry-auth", "deliver-mail"])
    assert result.exit_code == 1 and "failed 1" in result.output
    (row,) = _rows(app)
    assert row.status == "failed"
    smtp.refuse_with = None

    assert runner.invoke(args=["industry-auth", "requeue-mail"]).exit_code == 2
    result = runner.invoke(args=["industry-auth", "requeue-mail", "--id", "999"])
    assert result.exit_code == 1 and "#999" in result.output
    result = runner.invoke(args=["industry-auth", "requeue-mail", "--id", str(row.id)])
    assert result.exit_code == 0 and f"requeued 1 mail(s) #{row.id}" in result.output
    (row,) = _rows(app)
    assert row.status == "pending" and row.attempts == 0
    result = runner.invoke(args=["industry-auth", "deliver-mail"])
    assert result.exit_code == 0 and "sent 1" in result.output
    assert len(smtp.mails) == 1


def test_requeue_in_thread_mode_sends_at_once(make, smtp):
    app = make(INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS=1)
    portal = Portal(app, app.test_client(), smtp)
    smtp.refuse_with = "550 5.1.1 mailbox unavailable"
    portal.apply()
    portal.settle()
    assert _rows(app)[0].status == "failed"
    smtp.refuse_with = None
    result = app.test_cli_runner().invoke(args=["industry-auth", "requeue-mail", "--failed"])
    assert result.exit_code == 0, result.output
    assert "requeued 1 mail(s)" in result.output and "sent 1" in result.output
    assert len(smtp.mails) == 1


def test_the_admin_pages_count_the_mail_and_requeue_failed_mail(make, ascii_relay):
    staff = {"allowed": True}
    app = make(INDUSTRY_AUTH_MAIL_DELIVERY="worker", MAIL_PORT=ascii_relay[0].port)
    AccountAdmin(app, can_access=lambda: staff["allowed"], actor=lambda: "admin:lin")
    portal = Portal(app, app.test_client(), None)
    portal.apply(email=UTF8_ADDRESS)  # fails at once: the relay offers no SMTPUTF8
    with app.app_context():
        deliver_due()
    _queue_more(app, 2)  # two pending
    with app.app_context():  # and one deferred
        outbox = auth.models.OutboxMail.__table__
        last = db.session.scalar(sa.select(sa.func.max(outbox.c.id)))
        db.session.execute(
            sa.update(outbox)
            .where(outbox.c.id == last)
            .values(next_attempt_at=sa.func.datetime("now", "+1 hour"))
            if db.engine.dialect.name == "sqlite"
            else sa.update(outbox)
            .where(outbox.c.id == last)
            .values(next_attempt_at=sa.text("now() + interval '1 hour'"))
        )
        db.session.commit()
        assert mail_counts() == {"pending": 1, "deferred": 1, "failed": 1}

    client = app.test_client()
    index = client.get("/account-admin/").get_data(as_text=True)
    assert 'data-pending="1" data-deferred="1" data-failed="1"' in index
    assert "延後重試的郵件" in index  # the staff's language
    page = client.get("/account-admin/mail")
    text = text_of(page)
    assert UTF8_ADDRESS in text and "SMTPUTF8" in text
    failed_id = _rows(app)[0].id
    assert client.post("/account-admin/mail/requeue", data={"id": failed_id}).status_code == 400
    token = csrf_token(page.get_data(as_text=True))
    response = client.post(
        "/account-admin/mail/requeue",
        data={"csrf_token": token, "id": failed_id},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert _rows(app)[0].status == "pending"
    with app.app_context():
        assert mail_counts() == {"pending": 2, "deferred": 1, "failed": 0}
    response = client.post(
        "/account-admin/mail/requeue", data={"csrf_token": token, "id": failed_id}
    )
    assert response.status_code == 302  # nothing failed any more: said so, nothing changed
    staff["allowed"] = False
    assert client.get("/account-admin/mail").status_code == 403
    response = client.post("/account-admin/mail/requeue", data={"csrf_token": token, "all": 1})
    assert response.status_code == 403
