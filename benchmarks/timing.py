"""Does the time of an answer tell anything about the account? (ASVS V6.3.8, issue 15)

    .venv/bin/python -m benchmarks.timing                       # ASVS floor, 7 rounds
    .venv/bin/python -m benchmarks.timing --argon2 defaults --rounds 5

In process, through the Flask test client, on a temporary SQLite database: one account per
login branch (unknown account id, another business's 統一編號, unactivated, locked, disabled,
a temporary password pending, a certificate account, a normal account), each logged in to
with a wrong password and with its right one, the branches interleaved in each round and
every account put back as it was before each request. Then applications, with and without
``INDUSTRY_AUTH_REQUIRE_APPROVAL``: a new one and a duplicate. Prints the median ms of each
branch side by side, and the argon2 computations each cost (the tests' count,
``tests/test_timing.py``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_industry_auth import IndustryAuth
from flask_industry_auth.models import BUSINESS_CERTIFICATE, utcnow
from flask_industry_auth.testkit import VALID, Applicant, host_config

ARGON2 = {"ASVS floor": (2, 19456, 1), "defaults": (3, 65536, 4), "fast": (1, 1024, 1)}
BUSINESS_ID = VALID["business_id"]
PASSWORD = "benchmark passphrase 2026"
TEMPORARY = "K7QX-BENC-HMAR-KTMP-PASS-WORD-2026"
WRONG = "wrong password!!"


def make_app(database: str, argon2: tuple[int, int, int], **config) -> tuple[Flask, SQLAlchemy]:
    db = SQLAlchemy()
    auth = IndustryAuth(db=db)
    app = Flask(__name__)
    time_cost, memory_cost, parallelism = argon2
    app.config.update(
        host_config(database, 9),
        INDUSTRY_AUTH_MAIL_DELIVERY="worker",  # queued in the outbox, never sent
        INDUSTRY_AUTH_RATELIMIT_ENABLED=False,
        INDUSTRY_AUTH_ARGON2_TIME_COST=time_cost,
        INDUSTRY_AUTH_ARGON2_MEMORY_COST=memory_cost,
        INDUSTRY_AUTH_ARGON2_PARALLELISM=parallelism,
        **config,
    )
    db.init_app(app)
    auth.init_app(app)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app, db


def seed(app: Flask, db: SQLAlchemy) -> dict[str, dict]:
    """One account per branch; returns each one's row as it must be before each request."""
    state = app.extensions["industry_auth"]
    own, temporary = state.hasher.hash(PASSWORD), state.hasher.hash(TEMPORARY)
    later = utcnow() + timedelta(days=1)
    base = {"password_hash": own, "temp_password_hash": None, "temp_password_expires_at": None}
    rows = {
        "NORMAL01": {**base, "state": "activated"},
        "LOCKED01": {**base, "state": "locked", "locked_until": later, "failed_logins": 5},
        "DISABLE1": {**base, "state": "disabled"},
        "RESET001": {
            **base,
            "state": "reset",
            "temp_password_hash": temporary,
            "temp_password_expires_at": later,
        },
        "PENDING1": {
            "state": "requested",
            "password_hash": None,
            "temp_password_hash": temporary,
            "temp_password_expires_at": later,
        },
        "CARD0001": {**base, "state": "activated", "account_type": BUSINESS_CERTIFICATE},
    }
    with app.app_context():
        table = state.models.Account.__table__
        for n, (account_id, row) in enumerate(rows.items()):
            row.setdefault("failed_logins", 0)
            row.setdefault("locked_until", None)
            db.session.execute(
                sa.insert(table).values(
                    account_id=account_id,
                    account_type=row.get("account_type", "non_certificate"),
                    business_name=VALID["business_name"],
                    business_id=BUSINESS_ID,
                    responsible_person="王大明",
                    contact_person="林小華",
                    phone="+886223112345",
                    address=VALID["address"],
                    email=f"user{n}@example.com",
                    email_key=f"user{n}@example.com",
                    locale="zh_Hant_TW",
                    must_change_password=False,
                    session_uniquifier=f"u{n}",
                    **{k: v for k, v in row.items() if k != "account_type"},
                )
            )
        db.session.commit()
    return rows


#: (branch, 統一編號, 電子身分帳號, the right password)
BRANCHES = (
    ("unknown account id", BUSINESS_ID, "NOSUCHAC", PASSWORD),
    ("wrong 統一編號", "22099131", "NORMAL01", PASSWORD),
    ("unactivated", BUSINESS_ID, "PENDING1", TEMPORARY),
    ("locked", BUSINESS_ID, "LOCKED01", PASSWORD),
    ("disabled", BUSINESS_ID, "DISABLE1", PASSWORD),
    ("temporary password pending", BUSINESS_ID, "RESET001", PASSWORD),
    ("certificate account", BUSINESS_ID, "CARD0001", PASSWORD),
    ("normal", BUSINESS_ID, "NORMAL01", PASSWORD),
)


def restore(app: Flask, db: SQLAlchemy, rows: dict[str, dict]) -> None:
    with app.app_context():
        table = app.extensions["industry_auth"].models.Account.__table__
        for account_id, row in rows.items():
            values = {k: v for k, v in row.items() if k != "account_type"}
            db.session.execute(
                sa.update(table).where(table.c.account_id == account_id).values(values)
            )
        db.session.commit()


def timed(app: Flask, url: str, form: dict) -> tuple[float, int, int]:
    """(ms, argon2 computations, status) of one POST from a fresh browser."""
    client = app.test_client()
    token = Applicant(app, client, None).csrf()
    hasher = app.extensions["industry_auth"].hasher
    before = hasher.computations
    start = time.perf_counter()
    response = client.post(url, data={"csrf_token": token, **form})
    return (time.perf_counter() - start) * 1000, hasher.computations - before, response.status_code


def logins(database: str, argon2, rounds: int) -> list[tuple]:
    app, db = make_app(database, argon2)
    rows = seed(app, db)
    times: dict[tuple[str, str], list[float]] = {}
    hashes: dict[tuple[str, str], set[int]] = {}
    for _ in range(rounds):
        for name, business_id, account_id, right in BRANCHES:
            for which, password in (("wrong", WRONG), ("right", right)):
                restore(app, db, rows)
                form = {"business_id": business_id, "account_id": account_id}
                ms, cost, _ = timed(app, "/account/login", {**form, "password": password})
                times.setdefault((name, which), []).append(ms)
                hashes.setdefault((name, which), set()).add(cost)
    return [
        (
            name,
            statistics.median(times[name, "wrong"]),
            _cost(hashes[name, "wrong"]),
            statistics.median(times[name, "right"]),
            _cost(hashes[name, "right"]),
        )
        for name, *_ in BRANCHES
    ]


def applications(database: str, argon2, rounds: int) -> list[tuple]:
    results = []
    for approval in (False, True):
        app, _ = make_app(database, argon2, INDUSTRY_AUTH_REQUIRE_APPROVAL=approval)
        times: dict[str, list[float]] = {"new": [], "duplicate": []}
        hashes: dict[str, set[int]] = {"new": set(), "duplicate": set()}
        form = {**VALID, "action": "apply"}
        timed(app, "/account/register", form)  # the duplicate's original
        for n in range(rounds):
            for kind, email in (("new", f"new{n}@example.com"), ("duplicate", VALID["email"])):
                ms, cost, status = timed(app, "/account/register", {**form, "email": email})
                assert status == 302, status
                times[kind].append(ms)
                hashes[kind].add(cost)
        label = "with approval" if approval else "without approval"
        results.append(
            (
                f"application {label}",
                statistics.median(times["new"]),
                _cost(hashes["new"]),
                statistics.median(times["duplicate"]),
                _cost(hashes["duplicate"]),
            )
        )
    return results


def _cost(values: set[int]) -> str:
    return "/".join(str(v) for v in sorted(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--argon2", choices=list(ARGON2), default="ASVS floor")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    argon2 = ARGON2[args.argon2]
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{Path(tmp) / 'timing.sqlite'}"
        login_rows = logins(database, argon2, args.rounds)
        application_rows = applications(database, argon2, args.rounds)
    t, m, p = argon2
    print(f"argon2id {args.argon2} (t={t}, m={m} KiB, p={p}); {args.rounds} rounds, medians\n")
    print("| login branch | wrong password ms | hashes | right password ms | hashes |")
    print("|---|---:|---:|---:|---:|")
    for name, wrong_ms, wrong_cost, right_ms, right_cost in login_rows:
        print(f"| {name} | {wrong_ms:.1f} | {wrong_cost} | {right_ms:.1f} | {right_cost} |")
    print("\n| application | new ms | hashes | duplicate ms | hashes |")
    print("|---|---:|---:|---:|---:|")
    for name, new_ms, new_cost, dup_ms, dup_cost in application_rows:
        print(f"| {name} | {new_ms:.1f} | {new_cost} | {dup_ms:.1f} | {dup_cost} |")


if __name__ == "__main__":
    main()
