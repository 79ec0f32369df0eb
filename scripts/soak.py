"""A bounded soak test: several app processes and mail workers on one PostgreSQL database,
driven by a load generator on 127.0.0.1 while a fault injector stops and restarts the SMTP
server and a mail worker. Not part of `make test`; CI runs a short version.

    python scripts/soak.py --database postgresql+psycopg://postgres@127.0.0.1/test --seconds 60

At the end it checks and prints: accounts created = applications accepted, mails delivered =
mails queued, no mail twice, no 500. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import soak_host  # noqa: E402 (beside this file)

from examples.portal.mailsink import MailSink  # noqa: E402
from flask_industry_auth.testkit import (  # noqa: E402
    Browser,
    activation_link,
    free_port,
    start_mail_worker,
)

UBNS = ["04595257", "22099131", "10458575", "12345670", "62140097", "00000074", "04595252"]


class Soak:
    def __init__(self, database: str, apps: int, workers: int, seconds: float) -> None:
        self.database, self.seconds = database, seconds
        self.sink = MailSink()
        self.sink.start()
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.stats = collections.Counter()
        self.lock = threading.Lock()
        self.bases = []
        self.processes = []
        for _ in range(apps):
            port = free_port()
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, soak_host.__file__, database, str(port)],
                    env=self.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            self.bases.append(f"http://127.0.0.1:{port}")
        self.workers = [self.start_worker() for _ in range(workers)]

    def start_worker(self) -> subprocess.Popen:
        return start_mail_worker(
            soak_host.WORKER_APP, self.database, self.sink.port, root=ROOT, interval=0.5
        )

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.stats[key] += n

    # -- load ----------------------------------------------------------------------------
    def applicant(self, deadline: float, number: int) -> None:
        rng = random.Random(number)
        while time.monotonic() < deadline:
            browser = Browser(rng.choice(self.bases))
            email = f"soak{number}-{self.stats['applications'] + rng.random()}@example.com"
            data = {
                "business_name": "耐久測試公司",
                "business_id": rng.choice(UBNS),
                "responsible_person": "王",
                "contact_person": "林",
                "phone": "02-2311-2345",
                "address": "臺北市",
                "email": email,
            }
            status, _, _ = browser.post("/account/register", {**data, "action": "apply"})
            self.count(f"status {status}")
            if status == 302:
                self.count("applications")
            # Log in with a wrong password, ask for a reset of an unknown id: more load.
            status, _, _ = browser.post(
                "/account/login",
                {
                    "business_id": data["business_id"],
                    "account_id": "NOSUCHID",
                    "password": "wrong password!!",
                },
            )
            self.count(f"status {status}")
            status, _, _ = browser.post("/account/forgot-password", {"account_id": "NOSUCH"})
            self.count(f"status {status}")

    def activator(self, deadline: float) -> None:
        done = 0
        while time.monotonic() < deadline + 20:
            mails = [m for m in list(self.sink.mails) if "/activate/" in m.text]
            for mail in mails[done:]:
                browser = Browser(random.choice(self.bases))
                status, _, _ = browser.activate(activation_link(mail))
                self.count(f"status {status}")
                self.count("activations" if status == 302 else "activation_refused")
            done = len(mails)
            time.sleep(0.5)

    # -- faults ----------------------------------------------------------------------------
    def injector(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            time.sleep(min(5, max(0, deadline - time.monotonic())))
            self.sink.refuse_with = "421 4.3.2 service shutting down"  # SMTP "down"
            self.count("smtp outages")
            time.sleep(2)
            self.sink.refuse_with = None
            victim = self.workers.pop(0)
            victim.send_signal(signal.SIGTERM)  # a worker restarts (deploy, crash)
            victim.wait(30)
            self.workers.append(self.start_worker())
            self.count("worker restarts")

    # -- run and check ----------------------------------------------------------------------
    def run(self, app, users: int) -> int:
        """Drive the apps for the time given, then :meth:`check` on ``app`` (the database's)."""
        self.wait_for_apps()
        deadline = time.monotonic() + self.seconds
        threads = [
            threading.Thread(target=self.applicant, args=(deadline, n)) for n in range(users)
        ]
        threads += [
            threading.Thread(target=self.activator, args=(deadline,)),
            threading.Thread(target=self.injector, args=(deadline,)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.check(app)

    def wait_for_apps(self) -> None:
        import urllib.request

        for base in self.bases:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/account/login", timeout=2).close()  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.2)

    def check(self, app) -> int:
        from flask_industry_auth.mail import deliver_due

        auth, db = soak_host.auth, soak_host.db
        with app.app_context():
            # Drain what waits out a back-off, as an operator would.
            while deliver_due(include_deferred=True)["sent"]:
                pass
            Account, Outbox = auth.account_model, auth.models.OutboxMail
            accounts = db.session.scalar(db.select(db.func.count()).select_from(Account))
            queued = db.session.scalar(db.select(db.func.count()).select_from(Outbox))
            unsent = db.session.scalar(
                db.select(db.func.count()).select_from(Outbox).where(Outbox.status != "sent")
            )
        delivered = len(self.sink.mails)
        unique = len({(tuple(m.recipients), m.subject, m.text) for m in self.sink.mails})
        errors = sum(v for k, v in self.stats.items() if k.startswith("status 5"))
        checks = {
            "accounts created = applications accepted": accounts == self.stats["applications"],
            "mails delivered = mails queued": delivered == queued and unsent == 0,
            "no mail twice": unique == delivered,
            "no 500": errors == 0,
        }
        for key, value in sorted(self.stats.items()):
            print(f"{key:24} {value}")
        print(
            f"{'accounts':24} {accounts}\n{'mails queued':24} {queued}\n"
            f"{'mails delivered':24} {delivered}"
        )
        for name, ok in checks.items():
            print(f"{'PASS' if ok else 'FAIL'}  {name}")
        return 0 if all(checks.values()) else 1

    def stop(self) -> None:
        for process in self.processes + self.workers:
            process.terminate()
        for process in self.processes + self.workers:
            process.wait(30)
        self.sink.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        default=os.environ.get("INDUSTRY_AUTH_TEST_DATABASE_URL"),
        required="INDUSTRY_AUTH_TEST_DATABASE_URL" not in os.environ,
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--apps", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=4)
    args = parser.parse_args()
    db = soak_host.db
    app = soak_host.make_app(args.database, 0)
    with app.app_context():  # a clean schema for the run
        db.drop_all()
        db.create_all()
    soak = Soak(args.database, args.apps, args.workers, args.seconds)
    app.config["MAIL_PORT"] = soak.sink.port
    app.extensions["mail"].port = soak.sink.port
    try:
        return soak.run(app, args.users)
    finally:
        soak.stop()
        with app.app_context():
            db.session.remove()
            db.drop_all()


if __name__ == "__main__":
    sys.exit(main())
