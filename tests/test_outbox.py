"""Mail is never lost: written with the account, sent after commit, once."""

import socket

import sqlalchemy as sa

from flask_industry_auth.mail import deliver_due, wait_for_delivery
from flask_industry_auth.models import utcnow
from tests.helpers import VALID, Portal
from tests.hostapp import auth, db


def _outbox(app):
    with app.app_context():
        return db.session.scalars(db.select(auth.models.OutboxMail)).all()


def test_mail_is_queued_in_the_accounts_transaction_and_sent_once(portal, app):
    portal.apply_and_read_mail()
    with app.app_context():
        wait_for_delivery()
    (row,) = _outbox(app)
    assert row.status == "sent" and row.body is None  # the secret-bearing body is erased
    assert row.attempts == 1
    # Another delivery run finds nothing to send.
    with app.app_context():
        assert deliver_due(include_deferred=True) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(portal.smtp.mails) == 1


def test_smtp_down_the_application_succeeds_and_the_mail_waits(make, smtp):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    app = make(MAIL_PORT=dead_port)
    portal = Portal(app, app.test_client(), smtp)
    assert portal.apply().status_code == 302
    with app.app_context():
        wait_for_delivery()
    (account,) = portal.accounts()
    (row,) = _outbox(app)
    assert row.status == "pending" and row.attempts == 1 and "Connection" in row.last_error
    assert account.state == "requested"

    # SMTP is back: the operator's command sends what waited, once.
    app.config["MAIL_PORT"] = smtp.port
    app.extensions["mail"].port = smtp.port
    result = app.test_cli_runner().invoke(args=["industry-auth", "deliver-mail", "--now"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert len(smtp.mails) == 1 and account.account_id in smtp.mails[0].text
    result = app.test_cli_runner().invoke(args=["industry-auth", "deliver-mail", "--now"])
    assert "sent 0" in result.output
    assert len(smtp.mails) == 1


def test_smtp_refuses_then_recovers(portal, app, smtp, time_machine):
    smtp.refuse_with = "451 4.3.0 try again later"
    time_machine.move_to("2026-11-28 10:00:00", tick=True)
    assert portal.apply().status_code == 302
    with app.app_context():
        wait_for_delivery()
        (row,) = _outbox(app)
        assert row.status == "pending" and "451" in row.last_error
        # Backing off: the same worker run does not hammer the server.
        assert deliver_due() == {"sent": 0, "retry": 0, "failed": 0}
    smtp.refuse_with = None
    time_machine.move_to("2026-11-28 10:01:00", tick=True)
    with app.app_context():
        assert deliver_due()["sent"] == 1
    assert len(smtp.mails) == 1


def test_a_mail_that_keeps_failing_is_marked_failed_not_retried_forever(make, smtp):
    app = make(INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS=2, INDUSTRY_AUTH_MAIL_DELIVERY="worker")
    smtp.refuse_with = "550 5.1.1 mailbox unavailable"
    Portal(app, app.test_client(), smtp).apply()
    with app.app_context():
        assert deliver_due(include_deferred=True)["retry"] == 1
        assert deliver_due(include_deferred=True)["failed"] == 1
        assert deliver_due(include_deferred=True) == {"sent": 0, "retry": 0, "failed": 0}
    (row,) = _outbox(app)
    assert row.status == "failed" and "550" in row.last_error


def test_worker_mode_leaves_mail_for_the_worker(make, smtp):
    app = make(INDUSTRY_AUTH_MAIL_DELIVERY="worker")
    Portal(app, app.test_client(), smtp).apply()
    assert smtp.mails == []
    result = app.test_cli_runner().invoke(args=["industry-auth", "deliver-mail"])
    assert "sent 1" in result.output
    assert len(smtp.mails) == 1


def test_a_claim_left_by_a_dead_worker_is_taken_again(make, smtp, time_machine):
    app = make(INDUSTRY_AUTH_MAIL_DELIVERY="worker")
    time_machine.move_to("2026-11-28 10:00:00", tick=True)
    Portal(app, app.test_client(), smtp).apply()
    with app.app_context():
        outbox = auth.models.OutboxMail.__table__
        # A worker claimed it and died before sending.
        db.session.execute(sa.update(outbox).values(status="sending", claimed_at=utcnow()))
        db.session.commit()
        assert deliver_due()["sent"] == 0
    time_machine.move_to("2026-11-28 10:10:00", tick=True)
    with app.app_context():
        assert deliver_due()["sent"] == 1
    assert len(smtp.mails) == 1


def test_nothing_is_queued_when_the_transaction_fails(portal, app):
    # Same 統一編號 + email at once: the unique constraint keeps one account and one mail.
    portal.apply_and_read_mail()
    with app.app_context():
        Account = auth.account_model
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Account))
    assert before == 1
    assert VALID["email"] in portal.smtp.mails[0].recipients
