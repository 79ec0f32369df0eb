"""Measure the package against Flask-Security-Too and a bare-Flask limit (issue 7).

    make bench                     # or: .venv/bin/python -m benchmarks.run --seconds 5

Three apps under the same gunicorn settings (2 sync workers) on 127.0.0.1, each on its own
PostgreSQL database seeded with the same number of accounts, driven in turn by wrk
(8 connections) for: GET login page, POST login, GET an authenticated page, POST forgot
password for an unknown and for a known account. Rounds alternate the apps; the table shows
medians. Run once with argon2-cffi's defaults and once with the ASVS floor.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_industry_auth.testkit import Browser, free_port  # noqa: E402

APPS = ("ours", "fst", "bare")
ARGON2 = {"argon2-cffi defaults": ("3", "65536", "4"), "ASVS floor": ("2", "19456", "1")}
PASSWORD = "benchmark passphrase 2026"


def paths(app: str) -> dict[str, tuple[str, str, dict | None]]:
    """(method, path, form) per measured path; forms get the session's CSRF token."""
    if app == "ours":
        login = {"business_id": "04595257", "account_id": "BENCH0000001", "password": PASSWORD}
        return {
            "GET login page": ("GET", "/account/login", None),
            "POST login": ("POST", "/account/login", login),
            "GET profile": ("GET", "/account/profile", None),
            "POST forgot (unknown)": (
                "POST",
                "/account/forgot-password",
                {"account_id": "NOSUCHID"},
            ),
            "POST forgot (known)": (
                "POST",
                "/account/forgot-password",
                {"account_id": "BENCH0000002"},
            ),
        }
    if app == "fst":
        return {
            "GET login page": ("GET", "/login", None),
            "POST login": ("POST", "/login", {"email": "user1@example.com", "password": PASSWORD}),
            "GET profile": ("GET", "/profile", None),
            "POST forgot (unknown)": ("POST", "/reset", {"email": "nobody@example.com"}),
            "POST forgot (known)": ("POST", "/reset", {"email": "user2@example.com"}),
        }
    login = {"business_id": "04595257", "account_id": "BENCH0000001", "password": PASSWORD}
    return {
        "GET login page": ("GET", "/login", None),
        "POST login": ("POST", "/login", login),
        "GET profile": ("GET", "/profile", None),
        "POST forgot (unknown)": ("POST", "/forgot", {"account_id": "NOSUCHID"}),
        "POST forgot (known)": ("POST", "/forgot", {"account_id": "BENCH0000002"}),
    }


class Server:
    def __init__(
        self,
        app: str,
        database: str,
        argon2: tuple[str, str, str],
        accounts: int,
        *,
        seed: bool = True,
    ) -> None:
        self.app, self.port = app, free_port()
        self.env = {
            **os.environ,
            "BENCH_DATABASE": database,
            "BENCH_ACCOUNTS": str(accounts),
            "BENCH_ARGON2_T": argon2[0],
            "BENCH_ARGON2_M": argon2[1],
            "BENCH_ARGON2_P": argon2[2],
            "PYTHONPATH": str(ROOT),
        }
        if seed:  # else the database is loaded already (the national data set)
            subprocess.run(
                [sys.executable, "-c", f"from benchmarks.apps import {app} as m; m.seed(m.app)"],
                env=self.env,
                check=True,
                cwd=ROOT,
            )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{self.port}",
                f"benchmarks.apps.{app}:app",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                Browser(self.base).get("/")
                break
            except OSError:
                time.sleep(0.2)

    def workers(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


def peak_memory_mb(pids: list[int]) -> float:
    peaks = []
    for pid in pids:
        match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        peaks.append(int(match.group(1)) / 1024)
    return max(peaks)


def prepared(server: Server, method: str, path: str, form: dict | None) -> tuple[str, str]:
    """A logged-in or fresh session cookie and, for POSTs, a body with its CSRF token."""
    browser = Browser(server.base)
    login = paths(server.app)["POST login"]
    page = browser.get(login[1])[1]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if path in ("/account/profile", "/profile"):
        browser.submit(login[1], {**login[2], "csrf_token": token.group(1) if token else ""})
    if method == "GET":
        # Replay the cookie a browser would hold after one visit: the first visit's cookie
        # gets rewritten once more by Flask-Login (``_fresh``), in every app alike.
        browser.get(path)
    cookie = browser.cookie_header()
    body = ""
    if form is not None:
        body = urllib.parse.urlencode({**form, "csrf_token": token.group(1) if token else ""})
    return cookie, body


def run_wrk(
    server: Server, method: str, path: str, form, seconds: float, script: str | None = None
) -> dict:
    """wrk on one path (or with a ready ``script``, e.g. one that varies each request)."""
    if script is None:
        cookie, body = prepared(server, method, path, form)
        lines = [f'wrk.method = "{method}"', f'wrk.headers["Cookie"] = "{cookie}"']
        if method == "POST":
            lines += [
                f'wrk.body = "{body}"',
                'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"',
            ]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
            file.write("\n".join(lines) + "\n")
        script = file.name
    pids = server.workers()
    before = cpu_seconds(pids)
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c8",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            script,
            server.base + path,
        ],
        capture_output=True,
        text=True,
    )
    out = done.stdout
    used = cpu_seconds(pids) - before
    if "requests in" not in out:
        raise RuntimeError(f"wrk failed for {server.app} {method} {path}:\n{out}{done.stderr}")
    os.unlink(script)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "cpu_ms": 1000 * used / max(requests, 1),
        "mem_mb": peak_memory_mb(pids),
        "errors": int(errors.group(1)) if errors else 0,
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def databases(server_url: str, names=APPS) -> dict[str, str]:
    engine = sa.create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for app in names:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS bench_{app}"))
            connection.execute(sa.text(f"CREATE DATABASE bench_{app}"))
    engine.dispose()
    return {app: f"{server_url}/bench_{app}" for app in names}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--argon2", choices=list(ARGON2), action="append")
    parser.add_argument(
        "--growth",
        action="store_true",
        help="only the cost growth: our login and profile at 1,000 and 100,000 accounts",
    )
    parser.add_argument(
        "--hash-only", action="store_true", help="only the argon2id cost table (no servers)"
    )
    parser.add_argument(
        "--national",
        action="store_true",
        help="2,000,000 accounts, 50 M audit rows, 5 M mails: migrations, paths, operators",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="with --national: a fraction of its size"
    )
    parser.add_argument(
        "--migrations-again",
        action="store_true",
        help="with --national: time the migrations again on the data set left by a run",
    )
    args = parser.parse_args()
    if args.national:
        from benchmarks import national

        return national.main(args)
    argon2_costs()
    if args.hash_only:
        return 0
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    if args.growth:
        growth(databases(args.postgres, [f"ours_{n}" for n in GROWTH]), args)
        return 0
    urls = databases(args.postgres)
    for label in args.argon2 or list(ARGON2):
        servers = {app: Server(app, urls[app], ARGON2[label], args.accounts) for app in APPS}
        results: dict[tuple[str, str], list[dict]] = {}
        try:
            for _ in range(args.rounds):
                for name in paths("ours"):
                    for app in APPS:  # alternate the apps within each path and round
                        method, path, form = paths(app)[name]
                        results.setdefault((app, name), []).append(
                            run_wrk(servers[app], method, path, form, args.seconds)
                        )
        finally:
            for server in servers.values():
                server.stop()
        report(label, results, args)
    return 0


GROWTH = (1_000, 100_000)
GROWTH_PATHS = ("POST login", "GET profile")


def growth(urls: dict[str, str], args) -> None:
    """Our app seeded with 1,000 and with 100,000 accounts, driven alternately."""
    servers = {n: Server("ours", urls[f"ours_{n}"], ARGON2["ASVS floor"], n) for n in GROWTH}
    results: dict[tuple[int, str], list[dict]] = {}
    try:
        for _ in range(args.rounds):
            for name in GROWTH_PATHS:
                method, path, form = paths("ours")[name]
                for accounts, server in servers.items():
                    results.setdefault((accounts, name), []).append(
                        run_wrk(server, method, path, form, args.seconds)
                    )
    finally:
        for server in servers.values():
            server.stop()
    print(
        f"\n### Cost growth: ours, argon2id ASVS floor, {args.seconds:g} s x {args.rounds} "
        "rounds (medians)\n"
    )
    print(
        "| path | req/s at 1,000 | req/s at 100,000 | change | CPU ms/req at 1,000 | at 100,000 |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name in GROWTH_PATHS:
        small, large = (
            {k: statistics.median(r[k] for r in results[(n, name)]) for k in ("rps", "cpu_ms")}
            for n in GROWTH
        )
        change = 100 * (large["rps"] - small["rps"]) / small["rps"]
        print(
            f"| {name} | {small['rps']:.0f} | {large['rps']:.0f} | {change:+.1f} % "
            f"| {small['cpu_ms']:.2f} | {large['cpu_ms']:.2f} |"
        )


#: argon2id settings a portal might choose (OWASP's equivalent set, argon2-cffi's default).
ARGON2_CHOICES = (
    ("argon2-cffi default (RFC 9106 low-memory)", 3, 65536, 4),
    ("OWASP: m=46 MiB, t=1", 1, 47104, 1),
    ("OWASP / ASVS floor: m=19 MiB, t=2", 2, 19456, 1),
    ("OWASP: m=12 MiB, t=3", 3, 12288, 1),
    ("OWASP: m=7 MiB, t=5", 5, 7168, 1),
)


def argon2_costs(repeat: int = 15) -> None:
    """Time one argon2id verification per setting on this machine (one thread, in process)."""
    from argon2 import PasswordHasher

    print("\n### argon2id: the cost of one verification on this machine\n")
    print("| setting | t | m (MiB) | p | CPU ms / verify | logins/s per core |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, t, m, p in ARGON2_CHOICES:
        hasher = PasswordHasher(time_cost=t, memory_cost=m, parallelism=p)
        digest = hasher.hash(PASSWORD)
        started = time.process_time()
        for _ in range(repeat):
            hasher.verify(digest, PASSWORD)
        ms = 1000 * (time.process_time() - started) / repeat
        print(f"| {label} | {t} | {m // 1024} | {p} | {ms:.1f} | {1000 / ms:.0f} |")


def report(label: str, results, args) -> None:
    def med(app, name, key):
        return statistics.median(r[key] for r in results[(app, name)])

    print(
        f"\n### argon2id: {label}; {args.accounts} accounts; gunicorn 2 sync workers; "
        f"wrk 8 connections, {args.seconds:g} s x {args.rounds} rounds (medians)\n"
    )
    print("| path | app | req/s | p50 ms | p99 ms | CPU ms/req | peak MB/worker | non-2xx/3xx |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in paths("ours"):
        for app in APPS:
            print(
                f"| {name} | {app} | {med(app, name, 'rps'):.0f} | {med(app, name, 'p50'):.1f}"
                f" | {med(app, name, 'p99'):.1f} | {med(app, name, 'cpu_ms'):.2f}"
                f" | {med(app, name, 'mem_mb'):.0f} | {med(app, name, 'errors'):.0f} |"
            )
    print("\n| path | ours / Flask-Security-Too | ours / limit |")
    print("|---|---:|---:|")
    for name in paths("ours"):
        ours = med("ours", name, "rps")
        print(
            f"| {name} | {ours / med('fst', name, 'rps'):.2f}x"
            f" | {ours / med('bare', name, 'rps'):.2f}x |"
        )
    unknown = med("ours", "POST forgot (unknown)", "cpu_ms")
    known = med("ours", "POST forgot (known)", "cpu_ms")
    print(f"\nforgot-password CPU, unknown / known account: {unknown / known:.2f}")


if __name__ == "__main__":
    sys.exit(main())
