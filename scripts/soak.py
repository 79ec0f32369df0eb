"""A bounded soak test: several app processes and mail workers on one PostgreSQL database,
driven by a load generator on 127.0.0.1 while a fault injector stops and restarts the SMTP
server and a mail worker. Not part of `make test`; CI runs a short version.

    python scripts/soak.py --database postgresql+psycopg://postgres@127.0.0.1/test --seconds 60

At the end it checks and prints: accounts created = applications accepted, mails delivered =
mails queued (counted at the SMTP server, sent by the package's processes: the check sends
nothing itself, it waits for the workers), no mail twice, no 500, and that no process or
thread it started (app, worker, load, fault injector) died unexpectedly. Exit status 1 when
a check fails.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import soak_host  # noqa: E402 (beside this file)
from sqlalchemy.engine import make_url  # noqa: E402

from examples.portal.mailsink import MailSink  # noqa: E402
from flask_industry_auth.testkit import (  # noqa: E402
    Browser,
    activation_link,
    free_port,
    start_mail_worker,
)

#: The faults the injector can cause, besides the SMTP outages and worker restarts it always
#: does: ``database`` (every database connection cut and refused for 2 s, through a TCP proxy),
#: ``poison`` (an applicant whose address the relay cannot take: 測試@example.com).
FAULTS = ("database", "poison", "thread-mail", "redis-hung")
#: ``thread-mail``: every app process sends its own mail (thread delivery) through the SMTP
#: outages, and no worker runs to help. ``redis-hung``: one more app process keeps its rate
#: limits in a "Redis" that accepts connections and never answers.
#: The slowest answer the soak accepts from any app process (seconds).
SLOWEST = 5.0


class Hung:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (a hung Redis)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)

    def stop(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


#: The poison applicant's address: a non-ASCII local part, which needs SMTPUTF8.
POISON = "測試@example.com"


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of the database, which :meth:`outage` cuts: every
    open connection dropped, new ones refused, for ``seconds`` (a database restart)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.up = threading.Event()
        self.up.set()
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()

    def outage(self, seconds: float) -> None:
        self.up.clear()
        with self.lock:
            dropped, self.connections = self.connections, []
        for connection in dropped:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
        time.sleep(seconds)
        self.up.set()

    def stop(self) -> None:
        self.listener.close()


def through(proxy: Proxy, database: str) -> str:
    """``database`` with its host and port replaced by the proxy's."""
    url = make_url(database)
    return url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


UBNS = ["04595257", "22099131", "10458575", "12345670", "62140097", "00000074", "04595252"]


class Soak:
    def __init__(self, database: str, apps: int, workers: int, seconds: float, faults=()) -> None:
        self.faults = set(faults)
        self.proxy = None
        if "database" in self.faults:
            url = make_url(database)
            self.proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
            database = through(self.proxy, database)
        self.database, self.seconds = database, seconds
        self.sink = MailSink()
        self.sink.start()
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.stats = collections.Counter()
        self.lock = threading.Lock()
        #: What went wrong in the soak's own machinery (a thread that died, a process gone).
        self.broken: list[str] = []
        #: The slowest application answer seen (seconds).
        self.slowest = 0.0
        self.bases = []
        self.processes = []
        self.hung = Hung() if "redis-hung" in self.faults else None
        own_mail = "thread-mail" in self.faults
        smtp = str(self.sink.port) if own_mail else "0"
        extra = [[smtp, f"redis://127.0.0.1:{self.hung.port}/0"]] if self.hung else []
        if own_mail:
            workers = 0
        for arguments in [[smtp]] * apps + extra:
            port = free_port()
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, soak_host.__file__, database, str(port), *arguments],
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
            started = time.monotonic()
            status, _, _ = browser.post("/account/register", {**data, "action": "apply"})
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.count(f"status {status}")
            if status == 302:
                self.count("applications")
            elif status == 503:
                # The database went away around the commit: saved or not, nobody can tell.
                self.count("applications uncertain")
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

    def poison(self, deadline: float) -> None:
        """Apply with an address the relay cannot take: refused at the form, or queued and
        then failed or sent; either way the other applicants' mail goes on."""
        browser = Browser(self.bases[0])
        data = {
            "business_name": "毒信測試公司",
            "business_id": UBNS[0],
            "responsible_person": "王",
            "contact_person": "林",
            "phone": "02-2311-2345",
            "address": "臺北市",
            "email": POISON,
        }
        status, _, _ = browser.post("/account/register", {**data, "action": "apply"})
        self.count(f"status {status}")
        self.count("poison applications" if status == 302 else "poison refused at the form")
        if status == 302:
            self.count("applications")

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
            if self.proxy is not None:
                self.proxy.outage(2)  # the database restarts
                self.count("database outages")
            if not self.workers:
                continue  # thread delivery: no worker to restart
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
            threading.Thread(target=self.guarded, args=(self.applicant, deadline, n))
            for n in range(users)
        ]
        if "poison" in self.faults:
            threads.append(threading.Thread(target=self.guarded, args=(self.poison, deadline)))
        threads += [
            threading.Thread(target=self.guarded, args=(self.activator, deadline)),
            threading.Thread(target=self.guarded, args=(self.injector, deadline)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.wait_for_delivery(app)
        return self.check(app)

    def guarded(self, target, *args) -> None:
        """Run ``target``; if it raises, the soak has lost a part of itself: say so."""
        try:
            target(*args)
        except BaseException as exc:  # reported: the run fails
            with self.lock:
                self.broken.append(f"{target.__name__} died: {exc!r}")

    def gone(self) -> list[str]:
        """The processes the soak started that are no longer running (none should be)."""
        return [
            f"{' '.join(map(str, p.args[-4:]))} exited with {p.returncode}"
            for p in self.processes + self.workers
            if p.poll() is not None
        ]

    def unsent(self, app) -> int:
        auth, db = soak_host.auth, soak_host.db
        with app.app_context():
            Outbox = auth.models.OutboxMail
            count = db.session.scalar(
                db.select(db.func.count())
                .select_from(Outbox)
                .where(Outbox.status.not_in(("sent", "failed")))
            )
            db.session.remove()
            return count

    def wait_for_delivery(self, app, limit: float = 150) -> None:
        # Deferred mail waits out its back-off (30 s, then 60 s): the workers send it.
        deadline = time.monotonic() + limit
        while self.unsent(app) and time.monotonic() < deadline and not self.gone():
            time.sleep(1)

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
        auth, db = soak_host.auth, soak_host.db
        with app.app_context():
            Account, Outbox = auth.account_model, auth.models.OutboxMail
            accounts = db.session.scalar(db.select(db.func.count()).select_from(Account))
            # The poison address may fail for good (with its error recorded): nothing else.
            refused = Outbox.recipient == POISON
            queued = db.session.scalar(db.select(db.func.count()).select_from(Outbox))
            poisoned = db.session.scalar(
                db.select(db.func.count())
                .select_from(Outbox)
                .where(refused, Outbox.status == "failed", Outbox.last_error.is_not(None))
            )
            unsent = db.session.scalar(
                db.select(db.func.count()).select_from(Outbox).where(Outbox.status != "sent")
            )
            sender = app.config["MAIL_DEFAULT_SENDER"]
            # A database cut between the SMTP answer and the row's update leaves a mail
            # that went out still claimed ("sending") until its claim expires.
            claimed = db.session.execute(
                db.select(Outbox.recipient, Outbox.subject).where(Outbox.status == "sending")
            ).all()
        # Only what the package's processes sent counts as delivered.
        mails = [m for m in self.sink.mails if m.mail_from == sender]
        arrived = {(r, m.subject) for m in mails for r in m.recipients}
        unrecorded = sum(1 for row in claimed if (row.recipient, row.subject) in arrived)
        unsent -= unrecorded
        delivered = len(mails)
        unique = len({(tuple(m.recipients), m.subject, m.text) for m in mails})
        # A 503 during a database outage is the right answer; any other 5xx is not.
        errors = sum(
            v for k, v in self.stats.items() if k.startswith("status 5") and k != "status 503"
        )
        broken = self.broken + self.gone()
        checks = {
            "accounts created = applications accepted": self.stats["applications"]
            <= accounts
            <= self.stats["applications"] + self.stats["applications uncertain"],
            "mails delivered = mails queued": delivered == queued - poisoned and unsent == poisoned,
            "no mail twice": unique == delivered,
            "no 500": errors == 0,
            "no part of the soak died": not broken,
            f"every application answered within {SLOWEST:g} s": self.slowest < SLOWEST,
        }
        for key, value in sorted(self.stats.items()):
            print(f"{key:24} {value}")
        print(
            f"{'accounts':24} {accounts}\n{'mails queued':24} {queued}\n"
            f"{'mails delivered':24} {delivered}\n"
            f"{'sent, not yet recorded':24} {unrecorded} (the database was cut mid-send)\n"
            f"{'mails not sent':24} {unsent}"
            f" ({poisoned} to the poison address, failed for good)\n"
            f"{'slowest answer (s)':24} {self.slowest:.2f}"
        )
        for problem in broken:
            print(f"BROKEN  {problem}")
        for name, ok in checks.items():
            print(f"{'PASS' if ok else 'FAIL'}  {name}")
        return 0 if all(checks.values()) else 1

    def stop(self) -> None:
        for process in self.processes + self.workers:
            process.terminate()
        for process in self.processes + self.workers:
            process.wait(30)
        self.sink.stop()
        if self.proxy is not None:
            self.proxy.stop()
        if self.hung is not None:
            self.hung.stop()


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
    parser.add_argument(
        "--faults",
        default="",
        help=f"comma-separated extra faults: {', '.join(FAULTS)}",
    )
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    db = soak_host.db
    app = soak_host.make_app(args.database, 0)
    with app.app_context():  # a clean schema for the run
        db.drop_all()
        db.create_all()
    soak = Soak(args.database, args.apps, args.workers, args.seconds, faults)
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
