"""Races between real app processes on one PostgreSQL database: nothing done twice.

Two processes serve the test host on 127.0.0.1; threads released together by a barrier
send the same request to both.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from flask_industry_auth.testkit import Browser, free_port
from tests.conftest import TEST_DATABASE_URL
from tests.helpers import OWN_PASSWORD, VALID, temporary_password
from tests.hostapp import auth, db

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    not (TEST_DATABASE_URL or "").startswith("postgresql"),
    reason="process races need PostgreSQL (INDUSTRY_AUTH_TEST_DATABASE_URL)",
)


@pytest.fixture
def servers(app, tmp_path):
    processes, bases, logs = [], [], []
    for n in range(2):
        port = free_port()
        log = (tmp_path / f"server{n}.log").open("wb")
        logs.append(log)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "tests" / "race_host.py"),
                    TEST_DATABASE_URL,
                    str(port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        bases.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    for base in bases:
        while True:
            try:
                urllib.request.urlopen(base + "/account/login", timeout=2).close()  # noqa: S310
                break
            except OSError:
                assert time.monotonic() < deadline, "an app process did not start"
                time.sleep(0.2)
    yield bases
    for process in processes:
        process.terminate()
        process.wait(10)
    for log in logs:
        log.close()


def race(count: int, bases: list[str], action) -> list:
    """Run ``action(browser)`` in ``count`` threads at once, alternating the servers."""
    browsers = [Browser(bases[n % len(bases)]) for n in range(count)]
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(n):
        barrier.wait()
        results[n] = action(browsers[n])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _audit(app, event: str, outcome: str = "ok") -> int:
    with app.app_context():
        Audit = auth.models.AuditEvent
        return db.session.scalar(
            db.select(db.func.count())
            .select_from(Audit)
            .where(Audit.event == event, Audit.outcome == outcome)
        )


def test_the_same_application_at_once_creates_one_account(servers, portal):
    results = race(6, servers, lambda b: b.post("/account/register", {**VALID, "action": "apply"}))
    assert all(status == 302 for status, _, _ in results)  # the same answer for all
    assert len(portal.accounts()) == 1


def test_one_activation_link_used_twice_at_once_activates_once(servers, portal, app):
    details = portal.apply_and_read_mail()
    statuses = sorted(
        status for status, _, _ in race(2, servers, lambda b: b.activate(details["link"]))
    )
    assert statuses == [302, 410]
    assert _audit(app, "activate") == 1
    assert portal.account(details["account_id"]).state == "activated"


def test_parallel_wrong_passwords_lock_exactly_once(servers, portal, account, app):
    results = race(
        10,
        servers,
        lambda b: b.post(
            "/account/login",
            {
                "business_id": VALID["business_id"],
                "account_id": account["account_id"],
                "password": "wrong password!!",
            },
        ),
    )
    assert all(status == 200 for status, _, _ in results)
    stored = portal.account(account["account_id"])
    assert stored.state == "locked"
    assert stored.failed_logins == 10  # every failure counted (during the lock too), none lost
    assert _audit(app, "lock") == 1
    assert _audit(app, "login", "wrong_password") == 4
    assert _audit(app, "login", "locked") == 6


def test_a_temporary_password_sent_twice_at_once_completes_the_reset_once(
    servers, portal, account, app
):
    portal.post("/account/forgot-password", {"account_id": account["account_id"]})
    temp = temporary_password(portal.wait_mails(1)[0])
    results = race(
        2,
        servers,
        lambda b: b.post(
            "/account/login",
            {
                "business_id": VALID["business_id"],
                "account_id": account["account_id"],
                "password": temp,
            },
        ),
    )
    # It stays valid until the forced change replaces it: both log in, the reset completes once.
    assert [status for status, _, _ in results] == [302, 302]
    assert _audit(app, "complete_reset") == 1
    assert OWN_PASSWORD  # the old password was never involved
