"""Several mail workers on one PostgreSQL database: every mail sent once, none lost."""

import signal
import time
from pathlib import Path

import pytest

from flask_industry_auth.testkit import start_mail_worker
from tests.conftest import TEST_DATABASE_URL
from tests.hostapp import auth, db

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL or "").startswith("postgresql"),
    reason="several worker processes need PostgreSQL (INDUSTRY_AUTH_TEST_DATABASE_URL)",
)


def _queue(app, count: int) -> None:
    from flask_industry_auth.mail import queue_mail

    # As in a deployment with workers: the app that queues leaves the sending to them.
    app.config["INDUSTRY_AUTH_MAIL_DELIVERY"] = "worker"

    with app.test_request_context():
        Account = auth.account_model
        account = Account(
            account_id="WORKERS1",
            account_type="non_certificate",
            state="activated",
            business_name="測試",
            business_id="04595257",
            responsible_person="王",
            contact_person="林",
            phone="+886223112345",
            address="臺北市",
            email="many@example.com",
            email_key="many@example.com",
            session_uniquifier="x",
            failed_logins=0,
            locale="zh_Hant_TW",
        )
        db.session.add(account)
        db.session.flush()
        for _ in range(count):
            queue_mail("password_changed", account)
        db.session.commit()


def _workers(n: int, smtp_port: int, tmp_path):
    logs = [(tmp_path / f"worker{i}.log").open("wb") for i in range(n)]
    processes = [
        start_mail_worker(
            "tests.worker_app", TEST_DATABASE_URL, smtp_port, root=ROOT, interval=0.2, output=log
        )
        for log in logs
    ]
    return processes, logs


def _wait(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_three_workers_send_every_mail_exactly_once(app, smtp, tmp_path):
    _queue(app, 60)
    processes, logs = _workers(3, smtp.port, tmp_path)
    try:
        _wait(lambda: len(smtp.mails) >= 60)
        time.sleep(1)  # would a second copy arrive?
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)  # finishes the current mail, then stops
        for process in processes:
            assert process.wait(20) == 0
        for log in logs:
            log.close()
    assert len(smtp.mails) == 60
    with app.app_context():
        rows = db.session.scalars(db.select(auth.models.OutboxMail)).all()
        assert {r.status for r in rows} == {"sent"} and all(r.attempts == 1 for r in rows)
    outputs = [(tmp_path / f"worker{i}.log").read_text() for i in range(3)]
    sent = [int(o.rsplit("sent ", 1)[1].split(",")[0]) for o in outputs]
    assert sum(sent) == 60


def test_a_killed_worker_loses_nothing(app, smtp, tmp_path):
    _queue(app, 20)
    smtp.stall_seconds = 0.3  # slow enough to kill a worker in the middle of a mail
    processes, logs = _workers(1, smtp.port, tmp_path)
    try:
        _wait(lambda: len(smtp.mails) >= 3)
        processes[0].kill()  # SIGKILL: no chance to finish or clean up
        processes[0].wait(10)
    finally:
        for log in logs:
            log.close()
    smtp.stall_seconds = 0
    with app.app_context():
        Outbox = auth.models.OutboxMail
        stuck = db.session.scalars(db.select(Outbox).where(Outbox.status == "sending")).all()
        pending = db.session.scalars(db.select(Outbox).where(Outbox.status == "pending")).all()
        assert len(stuck) <= 1 and pending  # at most the one in flight is claimed
    # A fresh worker, once the dead one's claim has expired, sends the rest.
    app.config["INDUSTRY_AUTH_MAIL_CLAIM_SECONDS"] = 0
    from flask_industry_auth.mail import deliver_due

    with app.app_context():
        while deliver_due(include_deferred=True)["sent"]:
            pass
        rows = db.session.scalars(db.select(auth.models.OutboxMail)).all()
        assert {r.status for r in rows} == {"sent"}
    recipients_seen = len(smtp.mails)
    assert 20 <= recipients_seen <= 21  # the mail in flight may go twice, never zero times
