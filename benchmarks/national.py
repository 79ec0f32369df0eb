"""National scale (issue 17): two million companies, three years of audit, side by side.

    make bench BENCH_ARGS="--national"            # 2,000,000 accounts (about 15 minutes)
    make bench BENCH_ARGS="--national --scale 0.05"   # a 5 % rehearsal

1. Builds ``bench_national`` on PostgreSQL at the package's first revision and bulk loads it
   (:mod:`benchmarks.dataset`), and ``bench_national_small`` the same way at 10,000 accounts.
2. Runs every later package migration on the full tables, one revision at a time, while a
   writer updates an account and inserts audit and outbox rows every 50 ms; prints each
   revision's time, the longest a strong table lock was held and the writer's longest wait.
3. Measures the applicant paths under gunicorn (2 sync workers, wrk) on both databases,
   alternating, and the bare-Flask limit beside them, and writes ``benchmarks/national.svg``.
4. Measures the operator side in process: search (exact and by two Chinese characters), the
   admin account page, then ``purge-mail``, ``disable-idle`` and ``prune-audit`` as the CLI
   runs them, each watched for its longest transaction and its peak memory.
"""

from __future__ import annotations

import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import sqlalchemy as sa

from benchmarks import dataset
from benchmarks.run import ARGON2, PASSWORD, ROOT, Server, databases, paths, prepared, run_wrk

SMALL = 10_000
#: Relations whose strong locks the migration watch reports (ShareUpdateExclusive, which a
#: concurrent index build takes, blocks no reader or writer and is left out).
WATCHED = ("industry_auth_account", "industry_auth_audit", "industry_auth_outbox")
BLOCKING = ("ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock")
APPLICANT_PATHS = (
    "GET login page",
    "POST login",
    "GET profile",
    "POST forgot (unknown)",
    "POST forgot (known)",
    "POST register",
)


def say(text: str) -> None:
    print(text, flush=True)


def _ours_app(url: str):
    from benchmarks.apps import ours

    return ours, ours.create_app(url)


# -- building ------------------------------------------------------------------------------


def build(url: str, sizes: dict[str, int], argon2: tuple[str, str, str]) -> dict[str, float]:
    """The data set at revision 0001 in ``url`` (an empty database)."""
    from argon2 import PasswordHasher

    from flask_industry_auth import migrate

    ours, app = _ours_app(url)
    t, m, p = (int(v) for v in argon2)
    digest = PasswordHasher(time_cost=t, memory_cost=m, parallelism=p).hash(PASSWORD)
    with app.app_context():
        migrate.upgrade("0001")
        took = dataset.build(ours.db.engine, sizes, digest, say)
        ours.db.engine.dispose()
    return took


# -- migrations ----------------------------------------------------------------------------


class LockWatch:
    """Polls ``pg_locks`` for strong locks on :data:`WATCHED` held by other sessions, and
    runs a writer beside it; both on their own connections."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_size=2)
        self.stop = threading.Event()
        self.spans: list[tuple] = []  # ((pid, relation, mode), first seen, last seen)
        self.waits: list[float] = []
        self.threads = [
            threading.Thread(target=self._poll, daemon=True),
            threading.Thread(target=self._write, daemon=True),
        ]

    def __enter__(self) -> LockWatch:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.engine.dispose()

    def _poll(self) -> None:
        query = sa.text(
            "SELECT l.pid, c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = "
            "l.relation WHERE l.granted AND c.relname = ANY(:rels) AND l.mode = ANY(:modes) "
            "AND l.pid <> pg_backend_pid()"
        )
        # Each uninterrupted holding is its own span: a revision that locks a table briefly,
        # builds an index concurrently, then locks it briefly again held it twice, not long.
        open_spans: dict[tuple, list[float]] = {}
        with self.engine.connect() as connection:
            while not self.stop.is_set():
                now = time.monotonic()
                seen = {
                    tuple(row)
                    for row in connection.execute(
                        query, {"rels": list(WATCHED), "modes": list(BLOCKING)}
                    )
                }
                for key in list(open_spans):
                    if key not in seen:
                        self.spans.append((key, *open_spans.pop(key)))
                for key in seen:
                    open_spans.setdefault(key, [now, now])[1] = now
                time.sleep(0.01)
        self.spans += [(key, *span) for key, span in open_spans.items()]

    def _write(self) -> None:
        # A login's writes: the account row, an audit row, a mail.
        statements = [
            sa.text("UPDATE industry_auth_account SET failed_logins = 0 WHERE id = 1"),
            sa.text(
                "INSERT INTO industry_auth_audit (account_pk, event, outcome, created_at) "
                "VALUES (1, 'login', 'ok', now())"
            ),
            sa.text(
                "INSERT INTO industry_auth_outbox (kind, recipient, subject, status, attempts, "
                "next_attempt_at, created_at) VALUES ('probe', 'p@example.com', 'probe', "
                "'sent', 1, now(), now())"
            ),
        ]
        with self.engine.connect() as connection:
            while not self.stop.is_set():
                started = time.monotonic()
                with connection.begin():
                    for statement in statements:
                        connection.execute(statement)
                self.waits.append(time.monotonic() - started)
                time.sleep(0.05)

    def longest_lock(self) -> tuple[float, str]:
        if not self.spans:
            return 0.0, "none"
        (_pid, relation, mode), first, last = max(self.spans, key=lambda s: s[2] - s[1])
        # Seen at two polls 10 ms apart means held at least that long; once, at most a poll.
        return max(last - first, 0.01), f"{mode} on {relation}"


def migrations(url: str) -> list[dict]:
    """Every revision after 0001, one at a time, on the loaded tables."""
    from alembic.script import ScriptDirectory

    from flask_industry_auth import migrate

    ours, app = _ours_app(url)
    results = []
    with app.app_context():
        script = ScriptDirectory.from_config(migrate.alembic_config())
        revisions = [r.revision for r in reversed(list(script.walk_revisions()))][1:]
        for revision in revisions:
            with LockWatch(url) as watch:
                time.sleep(0.2)
                started = time.monotonic()
                migrate.upgrade(revision)
                took = time.monotonic() - started
                time.sleep(0.2)
            lock, what = watch.longest_lock()
            results.append(
                {
                    "revision": revision,
                    "doc": (script.get_revision(revision).doc or "").splitlines()[0],
                    "seconds": took,
                    "lock": lock,
                    "what": what,
                    "wait": max(watch.waits, default=0.0),
                }
            )
            say(f"  migration {revision}: {took:.1f} s, longest lock {lock:.2f} s ({what})")
        ours.db.engine.dispose()
    return results


# -- applicant paths -----------------------------------------------------------------------


def register_script(server: Server, run: str) -> str:
    """A wrk script whose every request is a new application (its own email)."""
    from flask_industry_auth.testkit import VALID

    cookie, body = prepared(server, "POST", "/account/register", {**VALID, "action": "apply"})
    body = re.sub(r"email=[^&]*", f"email=b{run}-TID-N%40example.com", body)
    return f"""
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", tostring(threads))
end
local n = 0
request = function()
  n = n + 1
  local body = string.gsub(string.gsub("{body}", "TID", tid), "-N%%", "-" .. n .. "%%")
  local headers = {{}}
  headers["Cookie"] = "{cookie}"
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", "/account/register", headers, body)
end
"""


def _measure(server: Server, name: str, seconds: float) -> dict:
    if name == "POST register":
        if server.app != "ours":
            return {}
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(register_script(server, f"{time.time_ns() % 10**9}"))
        return run_wrk(server, "POST", "/account/register", None, seconds, script=script.name)
    method, path, form = paths(server.app)[name]
    return run_wrk(server, method, path, form, seconds)


def applicant_paths(servers: dict, rounds: int, seconds: float) -> dict:
    """(app, accounts, path) -> medians; the servers alternate within each path and round."""
    results: dict[tuple, list[dict]] = {}
    for _ in range(rounds):
        for name in APPLICANT_PATHS:
            for key, server in servers.items():
                measured = _measure(server, name, seconds)
                if measured:
                    results.setdefault((*key, name), []).append(measured)
    return {
        key: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for key, runs in results.items()
    }


# -- operators -----------------------------------------------------------------------------


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _timed(function, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - started))
    return {"p50": _p(times, 0.5), "p95": _p(times, 0.95), "n": repeat}


def operators(url: str, repeat: int = 100) -> dict:
    """Search, the account page and the CLI's search, in process on the national data."""
    from flask_industry_auth.admin import AccountAdmin
    from flask_industry_auth.flows import operations

    ours, app = _ours_app(url)
    AccountAdmin(app, can_access=lambda: True, actor=lambda: "staff:bench")
    rng = random.Random(17)  # noqa: S311 (reproducible samples)
    results = {}
    with app.app_context():
        engine = ours.db.engine
        with engine.connect() as connection:
            total = connection.scalar(sa.text("SELECT max(id) FROM industry_auth_account"))
            sample = connection.execute(
                sa.text(
                    "SELECT account_id, business_id, email_key, business_name FROM "
                    "industry_auth_account WHERE id = ANY(:ids) AND state <> 'deleted'"
                ),
                {"ids": [rng.randint(dataset.FIXED + 1, total) for _ in range(repeat * 2)]},
            ).all()
        rows = [sample[i % len(sample)] for i in range(repeat)]
        # Two Chinese characters from a name: the shop-name part, as a clerk would type it.
        pieces = []
        for row in rows:
            name = re.sub(r"(股份有限公司|有限公司|企業社|商行|工作室)$", "", row.business_name)
            start = rng.randrange(len(name) - 1)
            pieces.append(name[start : start + 2])
        client = app.test_client()
        cycle = iter(range(10**9))

        def each(values):
            return lambda: values[next(cycle) % len(values)]

        def search(field):
            pick = each([getattr(r, field) for r in rows])
            return lambda: operations.search(text=pick())

        results["search by 統一編號"] = _timed(search("business_id"), repeat)
        results["search by account id"] = _timed(search("account_id"), repeat)
        results["search by email"] = _timed(search("email_key"), repeat)
        pick_piece = each(pieces)
        results["search by 2 Chinese characters"] = _timed(
            lambda: operations.search(text=pick_piece()), repeat
        )
        prefix = "/account-admin"
        pick_account = each([r.account_id for r in rows])

        def page(url_for_row):
            response = client.get(url_for_row())
            assert response.status_code == 200, response.status_code

        results["admin search page, 2 characters"] = _timed(
            lambda: page(lambda: f"{prefix}/?q={urllib.parse.quote(pick_piece())}"), repeat
        )
        results["admin account page with history"] = _timed(
            lambda: page(lambda: f"{prefix}/accounts/{pick_account()}"), repeat
        )
        runner = app.test_cli_runner()
        pick_ubn = each([r.business_id for r in rows])

        def cli(*args):
            result = runner.invoke(args=["industry-auth", *args])
            assert result.exit_code == 0, result.output

        results["CLI search by 統一編號"] = _timed(lambda: cli("search", pick_ubn()), repeat)
        results["CLI search, 2 characters"] = _timed(lambda: cli("search", pick_piece()), repeat)
        with engine.connect() as connection:
            results["hits per 2-character search (median)"] = {
                "value": statistics.median(
                    connection.scalar(
                        sa.text(
                            "SELECT count(*) FROM industry_auth_account WHERE business_name LIKE :p"
                        ),
                        {"p": f"%{piece}%"},
                    )
                    for piece in pieces[:20]
                )
            }
            plans = []
            for query in _due_queries(app):
                plans += connection.execute(sa.text("EXPLAIN (ANALYZE) " + query)).scalars()
                plans.append("")
            results["outbox due query plan"] = {"plan": "\n".join(plans).strip()}
        engine.dispose()
    return results


def _due_queries(app) -> list[str]:
    """The SQL of the outbox sender's looks, as it runs them, with literal values."""
    from flask_industry_auth import mail
    from flask_industry_auth.models import utcnow
    from flask_industry_auth.state import get_state

    outbox = get_state().models.OutboxMail.__table__
    dialect = sa.dialects.postgresql.dialect()
    return [
        str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        for query in mail.due_queries(outbox, utcnow(), False, 100)
    ]


class JobWatch:
    """The longest transaction a job's sessions keep open (``pg_stat_activity``)."""

    def __init__(self, url: str, name: str) -> None:
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.name, self.longest, self.stop = name, 0.0, threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        query = sa.text(
            "SELECT max(extract(epoch FROM now() - xact_start)) FROM pg_stat_activity "
            "WHERE application_name = :name AND xact_start IS NOT NULL"
        )
        with self.engine.connect() as connection:
            while not self.stop.is_set():
                value = connection.scalar(query, {"name": self.name})
                self.longest = max(self.longest, float(value or 0))
                time.sleep(0.02)

    def __enter__(self) -> JobWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.engine.dispose()


def job(url: str, *args: str) -> dict:
    """One CLI command in a process of its own: seconds, longest transaction, peak RSS."""
    name = "bench-" + args[0]
    env = {
        **os.environ,
        "BENCH_DATABASE": url,
        "PGAPPNAME": name,
        "PYTHONPATH": str(ROOT),
    }
    with JobWatch(url, name) as watch:
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "benchmarks.apps.ours",
                "industry-auth",
                *args,
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        took = time.monotonic() - started
    if "No such command" in done.stderr:
        return {
            "seconds": 0,
            "longest transaction": 0,
            "peak MB (largest child so far)": 0,
            "output": ["(this version has no such command)"],
        }
    if done.returncode != 0:
        raise RuntimeError(f"{args}: {done.stdout}{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "seconds": took,
        "longest transaction": watch.longest,
        "peak MB (largest child so far)": peak,
        "output": done.stdout.strip().splitlines()[-1:] or [""],
    }


def jobs(url: str) -> dict:
    """The retention and idle jobs at national size, in the order an operator's timers run."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        oldest = connection.scalar(sa.text("SELECT min(created_at) FROM industry_auth_audit"))
        total = connection.scalar(sa.text("SELECT count(*) FROM industry_auth_audit"))
        # The retention that removes the oldest fifth of the trail (10 M of 50 M rows).
        cutoff = connection.scalar(
            sa.text(
                "SELECT created_at FROM industry_auth_audit ORDER BY created_at OFFSET :n LIMIT 1"
            ),
            {"n": total // 5},
        )
        idle = connection.scalar(
            sa.text(
                "SELECT count(*) FROM industry_auth_account WHERE state IN ('activated', "
                "'locked', 'reset') AND coalesce(last_login_at, activated_at, created_at) < "
                "now() AT TIME ZONE 'UTC' - interval '365 days'"
            )
        )
    engine.dispose()
    now = dataset.NOW
    audit_days = (now - cutoff).days
    results = {
        "purge-mail --days 30": job(url, "purge-mail", "--days", "30"),
        f"disable-idle --days 365 ({idle:,} accounts)": job(url, "disable-idle", "--days", "365"),
        f"prune-audit --days {audit_days} (of {total:,} rows, from {oldest:%Y-%m-%d})": job(
            url, "prune-audit", "--days", str(audit_days)
        ),
    }
    return results


def limit_table(url: str) -> None:
    """The bare-Flask limit's users in the same database: one row per account."""
    from benchmarks.apps import bare

    engine = sa.create_engine(url)
    bare.User.__table__.drop(engine, checkfirst=True)
    bare.User.__table__.create(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO bare_user (id, account_id, business_id, name, password_hash) "
                "SELECT id, account_id, business_id, business_name, password_hash "
                "FROM industry_auth_account ORDER BY id"
            )
        )
        connection.execute(sa.text("ANALYZE bare_user"))
    engine.dispose()


# -- the chart -----------------------------------------------------------------------------


def chart(results: dict, sizes: tuple[int, int], path: Path) -> None:
    """CPU ms per request against the number of accounts, per path: ours (solid) beside the
    limit (dashed), one small panel per path, as a hand-written SVG."""
    names = [n for n in APPLICANT_PATHS if ("ours", sizes[0], n) in results]
    width, height, cols = 300, 190, 3
    rows = (len(names) + cols - 1) // cols
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * cols}" '
        f'height="{height * rows + 40}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="20" font-size="14">CPU ms per request against accounts '
        f"({sizes[0]:,} and {sizes[1]:,}): ours solid, the bare-Flask limit dashed</text>",
    ]
    for index, name in enumerate(names):
        x0, y0 = (index % cols) * width + 50, (index // cols) * height + 60
        plot_w, plot_h = width - 80, height - 70
        series = {
            app: [results[(app, n, name)]["cpu_ms"] for n in sizes]
            for app in ("ours", "bare")
            if all((app, n, name) in results for n in sizes)
        }
        top = max(max(v) for v in series.values()) * 1.25
        out.append(f'<text x="{x0}" y="{y0 - 8}" font-weight="bold">{name}</text>')
        out.append(
            f'<rect x="{x0}" y="{y0}" width="{plot_w}" height="{plot_h}" fill="none" '
            'stroke="#999"/>'
        )
        for tick in (0, 0.5, 1):
            y = y0 + plot_h - tick * plot_h
            out.append(
                f'<text x="{x0 - 4}" y="{y + 4:.0f}" text-anchor="end">{tick * top:.2g}</text>'
            )
        for i, n in enumerate(sizes):
            x = x0 + 20 + i * (plot_w - 40)
            out.append(f'<text x="{x}" y="{y0 + plot_h + 14}" text-anchor="middle">{n:,}</text>')
        for app, values in series.items():
            colour = "#1f5fa8" if app == "ours" else "#b5452a"
            dash = "" if app == "ours" else ' stroke-dasharray="5,4"'
            points = [
                (x0 + 20 + i * (plot_w - 40), y0 + plot_h - v / top * plot_h)
                for i, v in enumerate(values)
            ]
            line = " ".join(f"{x:.0f},{y:.1f}" for x, y in points)
            out.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
            )
            for (x, y), v in zip(points, values, strict=True):
                out.append(f'<circle cx="{x:.0f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
                out.append(f'<text x="{x + 5:.0f}" y="{y - 5:.1f}" fill="{colour}">{v:.2f}</text>')
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


# -- report --------------------------------------------------------------------------------


def report(sizes, built, migrated, measured, ops, ran) -> None:
    large = sizes[1]
    say(f"\n### Built ({large:,} accounts)\n")
    say("| table | seconds |\n|---|---:|")
    for table, seconds in built.items():
        say(f"| {table} | {seconds:.0f} |")
    report_migrations(migrated)
    report_rest(sizes, measured, ops, ran)


def report_migrations(migrated) -> None:
    say("\n### Migrations on the full tables (a writer every 50 ms beside them)\n")
    say("| revision | what | seconds | longest strong lock | on | writer's longest wait |")
    say("|---|---|---:|---:|---|---:|")
    for m in migrated:
        say(
            f"| {m['revision']} | {m['doc']} | {m['seconds']:.1f} | {m['lock']:.2f} s "
            f"| {m['what']} | {1000 * m['wait']:.0f} ms |"
        )


def report_rest(sizes, measured, ops, ran) -> None:
    small, large = sizes
    say(f"\n### Applicant paths at {small:,} and at {large:,} accounts (same run, medians)\n")
    say(
        "| path | app | req/s at small | req/s at national | change | CPU ms/req small "
        "| national | p99 ms small | national |"
    )
    say("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in APPLICANT_PATHS:
        for app in ("ours", "bare"):
            if (app, small, name) not in measured:
                continue
            a, b = measured[(app, small, name)], measured[(app, large, name)]
            change = 100 * (b["rps"] - a["rps"]) / a["rps"]
            say(
                f"| {name} | {app} | {a['rps']:.0f} | {b['rps']:.0f} | {change:+.1f} % "
                f"| {a['cpu_ms']:.2f} | {b['cpu_ms']:.2f} | {a['p99']:.1f} | {b['p99']:.1f} |"
            )
    say(f"\n### Operators at {large:,} accounts (in process)\n")
    say("| what | p50 ms | p95 ms | n |\n|---|---:|---:|---:|")
    plan = ""
    for what, r in ops.items():
        if "p95" in r:
            say(f"| {what} | {r['p50']:.1f} | {r['p95']:.1f} | {r['n']} |")
        elif "value" in r:
            say(f"| {what} | {r['value']:,} | | |")
        else:
            plan = r["plan"]
    say("\nThe outbox's due query:\n\n```\n" + plan + "\n```")
    say("\n### Jobs at national size (the CLI, a process each)\n")
    say("| command | seconds | longest transaction s | peak MB | said |")
    say("|---|---:|---:|---:|---|")
    for what, r in ran.items():
        say(
            f"| `{what}` | {r['seconds']:.0f} | {r['longest transaction']:.2f} "
            f"| {r['peak MB (largest child so far)']:.0f} | {r['output'][0]} |"
        )


def again(args) -> int:
    """``--national --migrations-again``: on the data set a national run left, take the
    package's revisions back to 0001 and time them again, then the operators' searches and
    pages (the applicant paths and the jobs, which changed the data, are not measured)."""
    from flask_industry_auth import migrate

    url = f"{args.postgres}/bench_national"
    ours, app = _ours_app(url)
    with app.app_context():
        migrate.downgrade("0001")
        ours.db.engine.dispose()
    report_migrations(migrations(url))
    # What autovacuum does after the jobs' mass deletes: without it the counts' index-only
    # scans visit the heap for every row the visibility map no longer vouches for.
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    ops = operators(url)
    say("\n### Operators (in process)\n")
    say("| what | p50 ms | p95 ms | n |\n|---|---:|---:|---:|")
    for what, r in ops.items():
        if "p95" in r:
            say(f"| {what} | {r['p50']:.1f} | {r['p95']:.1f} | {r['n']} |")
    return 0


def main(args) -> int:
    """``benchmarks.run --national``: see the module's docstring."""
    if args.migrations_again:
        return again(args)
    scale = args.scale
    sizes = {k: max(1000, int(v * scale)) for k, v in dataset.NATIONAL.items()}
    small_sizes = {
        k: int(v * SMALL / dataset.NATIONAL["accounts"]) for k, v in dataset.NATIONAL.items()
    }
    argon2 = ARGON2[args.argon2[0] if args.argon2 else "ASVS floor"]
    urls = databases(args.postgres, ["national", "national_small"])
    say(f"building {sizes} and {small_sizes} …")
    built = build(urls["national"], sizes, argon2)
    build(urls["national_small"], small_sizes, argon2)
    say("migrations …")
    migrated = migrations(urls["national"])
    _ours, small_app = _ours_app(urls["national_small"])
    with small_app.app_context():
        from flask_industry_auth import migrate

        migrate.upgrade()
        _ours.db.engine.dispose()
    for url in urls.values():
        limit_table(url)
    counts = (small_sizes["accounts"], sizes["accounts"])
    servers = {}
    try:
        for app in ("ours", "bare"):
            for n, key in zip(counts, ("national_small", "national"), strict=True):
                servers[(app, n)] = Server(app, urls[key], argon2, n, seed=False)
        say("applicant paths …")
        measured = applicant_paths(servers, args.rounds, args.seconds)
    finally:
        for server in servers.values():
            server.stop()
    chart(measured, counts, ROOT / "benchmarks" / "national.svg")
    say("operators …")
    ops = operators(urls["national"])
    say("jobs …")
    ran = jobs(urls["national"])
    report(counts, built, migrated, measured, ops, ran)
    return 0
