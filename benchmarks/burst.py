"""A filing-deadline burst: a mixed load at the highest rate two workers sustain (issue 17).

    .venv/bin/python -m benchmarks.burst                          # both argon2 settings
    .venv/bin/python -m benchmarks.burst --argon2 'ASVS floor' --seconds 20

Ours and the bare-Flask limit, each under run.py's gunicorn settings (2 sync workers) on a
PostgreSQL database of its own (``<prefix>_ours``, ``<prefix>_bare``), are driven by wrk with
the deadline mix of :data:`MIX`: every wrk thread walks a fixed cycle of 100 slots, so the
proportions are exact. Closed loop at 2, 4, 8, 16 connections: the sustained rate is the
highest error-free throughput, reported at the fewest connections that reach 95 % of it
(beyond that knee more connections only queue). Each path is also run alone to measure its
CPU cost; from those the capacity rule predicts the mix's CPU per request and its rate on
two cores, printed beside the measurement.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from benchmarks.run import (
    ARGON2,
    Server,
    cpu_seconds,
    peak_memory_mb,
    prepared,
)
from flask_industry_auth.testkit import VALID, Browser

APPS = ("ours", "bare")

#: The deadline mix, in % of requests. On a filing deadline nearly everyone arriving already
#: has an account: each login is a view of the login page and a POST (30 + 35, some retry),
#: about half of those go on to an account page (20), one in seven forgot the password (10,
#: half of them mistype the account id) and a late few apply for an account (5).
MIX: tuple[tuple[str, int], ...] = (
    ("GET login page", 30),
    ("GET profile", 20),
    ("POST login", 35),
    ("POST forgot (known)", 5),
    ("POST forgot (unknown)", 5),
    ("POST application", 5),
)

#: In a body, replaced per request: a token unique to the request, and a seeded account id.
UID, ACCOUNT = "BURSTUID", "BURSTACCOUNT"
#: Accounts below this are left to the prepared sessions (run.prepared logs in to the first).
FIRST_ACCOUNT = 100
#: What a page answering 200 or 302 but failing looks like, per app: a login refused, a
#: form with errors, a redirect to the login page (a profile whose session was lost).
FAILURE_MARKERS = {
    "ours": ('role="alert"><p>', 'class="ia-error"'),
    "bare": ("</h1>failed<", "</h1>invalid<"),
}
LOGIN_PATH = {"ours": "/account/login", "bare": "/login"}
CONNECTIONS = (2, 4, 8, 16)


def weighted_cycle(weights: Sequence[tuple[str, int]]) -> list[str]:
    """One slot per unit of weight, interleaved (smooth weighted round robin): each name
    appears exactly its weight's times and the heavy ones are spread, not bunched."""
    total = sum(weight for _, weight in weights)
    current = dict.fromkeys((name for name, _ in weights), 0)
    cycle = []
    for _ in range(total):
        for name, weight in weights:
            current[name] += weight
        chosen = max(current, key=current.get)  # first of the largest: deterministic
        current[chosen] -= total
        cycle.append(chosen)
    return cycle


@dataclass(frozen=True)
class Request:
    """One kind of request of the mix. ``body`` may hold :data:`UID` and :data:`ACCOUNT`."""

    method: str
    path: str
    cookie: str = ""
    body: str | None = None


def lua_string(value: str) -> str:
    """``value`` as a Lua string literal (bytes outside printable ASCII as decimal escapes)."""
    out = []
    for byte in value.encode():
        char = chr(byte)
        if char in '"\\' or not 32 <= byte < 127:
            out.append(f"\\{byte}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def lua_body(body: str) -> str:
    """A Lua function of the request counter ``n`` returning ``body``, its placeholders
    replaced by ``uid(n)`` and ``account(n)``."""
    parts = re.split(f"({UID}|{ACCOUNT})", body)
    pieces = [
        {UID: "uid(n)", ACCOUNT: "account(n)"}.get(part, lua_string(part)) for part in parts if part
    ]
    return "function(n) return " + " .. ".join(pieces or ['""']) + " end"


def lua_script(
    requests: dict[str, Request],
    cycle: Sequence[str],
    *,
    nonce: str,
    accounts: int,
    markers: Sequence[str] = (),
    login_path: str = "/login",
) -> str:
    """A wrk script sending ``requests`` in the order of ``cycle`` (names), counting the
    answers that are errors: status >= 400, a redirect to ``login_path``, a body holding a
    failure marker. Its ``done`` prints one ``BURST key=value ...`` line."""
    names = list(requests)
    span = max(1, accounts - FIRST_ACCOUNT) if accounts > 2 * FIRST_ACCOUNT else accounts
    first = FIRST_ACCOUNT if accounts > 2 * FIRST_ACCOUNT else 0
    lines = ["local requests = {"]
    for name in names:
        request = requests[name]
        headers = {}
        if request.cookie:
            headers["Cookie"] = request.cookie
        if request.method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        header_items = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        body = lua_body(request.body) if request.body is not None else "nil"
        lines.append(
            f"  {{ method = {lua_string(request.method)}, path = {lua_string(request.path)},"
            f" headers = {{ {header_items} }}, body = {body} }},  -- {name}"
        )
    lines.append("}")
    order = ", ".join(str(names.index(name) + 1) for name in cycle)
    lines += [
        f"local cycle = {{ {order} }}",
        f"local markers = {{ {', '.join(lua_string(m) for m in markers)} }}",
        f"local login_path = {lua_string(login_path)}",
        f"local nonce = {lua_string(nonce)}",
        "local threads = {}",
        "local slot, n = 0, 0",
        "id = 0",  # set by setup() in each thread's state; globals are what thread:get reads
        "http_errors, login_redirects, failed_pages, answers = 0, 0, 0, 0",
        "",
        "function setup(thread)",
        "  thread:set('id', #threads)",
        "  table.insert(threads, thread)",
        "end",
        "",
        "function init(args)",
        "  slot = (id * 37) % #cycle  -- the threads start at different points of the cycle",
        "end",
        "",
        "function uid(n) return nonce .. 't' .. id .. 'n' .. n end",
        "function account(n)",
        f"  return string.format('BENCH%07d', {first} + (n + id * 7919) % {span})",
        "end",
        "",
        "function request()",
        "  slot = slot % #cycle + 1",
        "  n = n + 1",
        "  local r = requests[cycle[slot]]",
        "  local body = nil",
        "  if r.body then body = r.body(n) end",
        "  return wrk.format(r.method, r.path, r.headers, body)",
        "end",
        "",
        "function response(status, headers, body)",
        "  answers = answers + 1",
        "  if status >= 400 then http_errors = http_errors + 1 return end",
        "  local location = headers['Location'] or headers['location']",
        "  if location and location:find(login_path, 1, true) then",
        "    login_redirects = login_redirects + 1 return",
        "  end",
        "  for _, marker in ipairs(markers) do",
        "    if body:find(marker, 1, true) then failed_pages = failed_pages + 1 return end",
        "  end",
        "end",
        "",
        "function done(summary, latency, requests)",
        "  local totals = { http_errors = 0, login_redirects = 0, failed_pages = 0, answers = 0 }",
        "  for _, thread in ipairs(threads) do",
        "    for key, _ in pairs(totals) do totals[key] = totals[key] + thread:get(key) end",
        "  end",
        "  local e = summary.errors",
        "  io.write(string.format('BURST requests=%d duration_us=%d p50_us=%d p99_us=%d '",
        "    .. 'http_errors=%d login_redirects=%d failed_pages=%d answers=%d '",
        "    .. 'connect=%d read=%d write=%d timeout=%d status=%d\\n',",
        "    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),",
        "    totals.http_errors, totals.login_redirects, totals.failed_pages, totals.answers,",
        "    e.connect, e.read, e.write, e.timeout, e.status))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def forms(app: str) -> dict[str, tuple[str, str, dict | None]]:
    """(method, path, form) per kind of request of :data:`MIX`, for ``app``."""
    prefix = "/account" if app == "ours" else ""
    login = {"business_id": VALID["business_id"], "account_id": ACCOUNT}
    login["password"] = "benchmark passphrase 2026"
    application = {**VALID, "email": f"b{UID}@example.com"}
    if app == "ours":
        # The confirmation step's 申請帳號 button: the fields again, and its action.
        application = {**application, "step": "confirm", "action": "apply"}
    forgot = f"{prefix}/forgot-password" if app == "ours" else "/forgot"
    return {
        "GET login page": ("GET", f"{prefix}/login", None),
        "GET profile": ("GET", f"{prefix}/profile", None),
        "POST login": ("POST", f"{prefix}/login", login),
        "POST forgot (known)": ("POST", forgot, {"account_id": ACCOUNT}),
        "POST forgot (unknown)": ("POST", forgot, {"account_id": "NOSUCHID"}),
        "POST application": ("POST", f"{prefix}/register", application),
    }


def app_requests(server: Server) -> dict[str, Request]:
    """The mix's requests for ``server``: a logged-in session for the profile, a fresh
    visitor's cookie and its CSRF token for the POSTs (as run.py prepares them)."""
    requests = {}
    for name, (method, path, form) in forms(server.app).items():
        cookie, body = prepared(server, method, path, form)
        requests[name] = Request(method, path, cookie, body if method == "POST" else None)
    return requests


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def wait_for_quiet(limit: float = 0.3, patience: float = 180) -> float:
    """Wait (up to ``patience`` s) until the machine is nearly idle before a run: other
    benchmarks share its two cores. Returns the busy cores of the last second seen."""
    deadline = time.monotonic() + patience
    while True:
        before = machine_busy_seconds()
        time.sleep(1)
        busy, total = (a - b for a, b in zip(machine_busy_seconds(), before, strict=True))
        cores = busy / total * os.cpu_count()
        if cores <= limit or time.monotonic() > deadline:
            if cores > limit:
                print(f"(machine still busy: {cores:.2f} cores before this run)", file=sys.stderr)
            return cores


def run_mix(
    server: Server,
    requests: dict[str, Request],
    cycle: Sequence[str],
    connections: int,
    seconds: float,
    args,
) -> dict:
    """Drive ``server`` with ``cycle`` over ``connections`` for ``seconds``; wrk's figures,
    the workers' CPU per request, their peak memory, and the errors."""
    nonce = f"{int(time.time() * 1000) % 10**10:x}{os.getpid() % 1000}"
    script = lua_script(
        requests,
        cycle,
        nonce=nonce,
        accounts=args.accounts,
        markers=FAILURE_MARKERS[server.app],
        login_path=LOGIN_PATH[server.app],
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    idle_before = wait_for_quiet(patience=args.patience)
    pids = server.workers()
    before, busy_before = cpu_seconds(pids), machine_busy_seconds()
    done = subprocess.run(
        [
            *("wrk", f"-t{min(2, connections)}", f"-c{connections}"),
            *(f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", file.name),
            server.base + "/",
        ],
        capture_output=True,
        text=True,
    )
    used = cpu_seconds(pids) - before
    busy = [
        after - earlier for after, earlier in zip(machine_busy_seconds(), busy_before, strict=True)
    ]
    match = re.search(r"^BURST (.*)$", done.stdout, re.M)
    if match is None:
        raise RuntimeError(f"wrk failed for {server.app}:\n{done.stdout}{done.stderr}")
    os.unlink(file.name)
    got = {k: int(v) for k, v in (item.split("=") for item in match.group(1).split())}
    seconds_run = got["duration_us"] / 1e6
    socket_errors = got["connect"] + got["read"] + got["write"] + got["timeout"]
    return {
        "connections": connections,
        "rps": got["requests"] / seconds_run,
        "p50": got["p50_us"] / 1000,
        "p99": got["p99_us"] / 1000,
        "cpu_ms": 1000 * used / max(got["requests"], 1),
        "worker_cores": used / seconds_run,
        "machine_cores": busy[0] / busy[1] * os.cpu_count(),
        "mem_mb": peak_memory_mb(pids),
        "busy_before": idle_before,
        "errors": got["http_errors"] + got["login_redirects"] + got["failed_pages"] + socket_errors,
        "detail": got,
    }


def rss_mb(pids: list[int]) -> float:
    """The largest current resident set of ``pids``, in MB."""
    sizes = []
    for pid in pids:
        match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        sizes.append(int(match.group(1)) / 1024)
    return max(sizes)


def measure(servers: dict[str, Server], args) -> dict[str, dict]:
    """Each path alone (its CPU cost), then the mix at each connection count; the apps
    alternate within each step, so a disturbance of the machine falls on both alike (an
    idle server costs nothing)."""
    results, requests = {}, {}
    for app, server in servers.items():
        # The workers' resident size once warm, before any argon2 hash: the memory rule's base.
        browser = Browser(server.base)
        for _ in range(20):
            browser.get(LOGIN_PATH[app])
        results[app] = {"alone": {}, "sweep": [], "baseline_mb": rss_mb(server.workers())}
        requests[app] = app_requests(server)
    for name, _ in MIX:
        for app, server in servers.items():
            results[app]["alone"][name] = run_mix(
                server, requests[app], [name], 8, args.calibrate_seconds, args
            )
    cycle = weighted_cycle(MIX)
    for connections in args.connections:
        for app, server in servers.items():
            results[app]["sweep"].append(
                run_mix(server, requests[app], cycle, connections, args.seconds, args)
            )
    return results


def sustained(sweep: list[dict]) -> dict | None:
    """The highest error-free rate, at the fewest connections reaching 95 % of it."""
    clean = [run for run in sweep if run["errors"] == 0]
    if not clean:
        return None
    best = max(run["rps"] for run in clean)
    return min((run for run in clean if run["rps"] >= 0.95 * best), key=lambda r: r["connections"])


def mix_share() -> dict[str, float]:
    total = sum(weight for _, weight in MIX)
    return {name: weight / total for name, weight in MIX}


def predicted_cpu_ms(alone: dict[str, dict]) -> float:
    """The capacity rule's mix CPU per request: Σ share × the path's CPU measured alone."""
    return sum(share * alone[name]["cpu_ms"] for name, share in mix_share().items())


def databases(server_url: str, prefix: str, names=APPS) -> dict[str, str]:
    """Fresh databases ``<prefix>_<app>`` (never run.py's ``bench_*`` nor ``test``)."""
    if prefix in ("bench", "test") or not re.fullmatch(r"[a-z][a-z0-9_]*", prefix):
        sys.exit(f"--database-prefix {prefix!r}: choose a name of your own (e.g. burst)")
    engine = sa.create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for app in names:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {prefix}_{app}"))
            connection.execute(sa.text(f"CREATE DATABASE {prefix}_{app}"))
    engine.dispose()
    return {app: f"{server_url}/{prefix}_{app}" for app in names}


def report(label: str, results: dict[str, dict], args) -> None:
    """Markdown tables: the sweep, the sustained rate with ours / limit, the prediction."""
    m_mib = int(ARGON2[label][1]) // 1024
    print(
        f"\n### Deadline burst, argon2id {label}; {args.accounts} accounts; gunicorn 2 sync "
        f"workers; closed loop, {args.seconds:g} s per connection count\n"
    )
    print("Mix: " + ", ".join(f"{name} {weight} %" for name, weight in MIX) + ".")
    print(
        "Worker cores: the two gunicorn workers' CPU; machine cores: every process's "
        "(PostgreSQL, wrk, and any other load on the machine); busy before: the machine's "
        "busy cores in the second before the run (another load if well above 0).\n"
    )
    print(
        "| app | connections | req/s | logins/s | p50 ms | p99 ms | CPU ms/req"
        " | worker cores | machine cores | busy before | peak MB/worker | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    login_share = mix_share()["POST login"]
    for app in APPS:
        for run in results[app]["sweep"]:
            print(
                f"| {app} | {run['connections']} | {run['rps']:.1f} | "
                f"{run['rps'] * login_share:.1f} | {run['p50']:.0f} | {run['p99']:.0f} | "
                f"{run['cpu_ms']:.2f} | {run['worker_cores']:.2f} | "
                f"{run['machine_cores']:.2f} | {run['busy_before']:.2f} | "
                f"{run['mem_mb']:.0f} | {run['errors']} |"
            )
    print("\n#### The highest rate sustained (no errors; fewest connections within 5 %)\n")
    print(
        "| app | connections | req/s | logins/s | p50 ms | p99 ms | CPU ms/req"
        " | peak MB/worker | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    best = {app: sustained(results[app]["sweep"]) for app in APPS}
    for app in APPS:
        run = best[app]
        if run is None:
            print(f"| {app} | – | no error-free run | | | | | | |")
            continue
        print(
            f"| {app} | {run['connections']} | {run['rps']:.1f} | "
            f"{run['rps'] * login_share:.1f} | {run['p50']:.0f} | {run['p99']:.0f} | "
            f"{run['cpu_ms']:.2f} | {run['mem_mb']:.0f} | {run['errors']} |"
        )
    if best["ours"] and best["bare"]:
        ours, bare = best["ours"], best["bare"]
        print(
            f"\nours / limit: rate {ours['rps'] / bare['rps']:.2f}x, CPU per request "
            f"{ours['cpu_ms'] / bare['cpu_ms']:.2f}x, p99 {ours['p99'] / bare['p99']:.2f}x"
        )
    print("\n#### Each path alone (8 connections): CPU ms per request\n")
    print("| path | share | ours | bare | ours / bare |")
    print("|---|---:|---:|---:|---:|")
    shares = mix_share()
    for name in shares:
        ours, bare = (results[app]["alone"][name]["cpu_ms"] for app in APPS)
        print(f"| {name} | {shares[name]:.0%} | {ours:.2f} | {bare:.2f} | {ours / bare:.2f}x |")
    print("\n#### The capacity rule against the measurement\n")
    print(
        "| app | mix CPU ms/req predicted | measured | error | req/s on 2 cores predicted"
        " | measured | error | peak MB/worker predicted | measured |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for app in APPS:
        run = best[app]
        if run is None:
            continue
        cpu = predicted_cpu_ms(results[app]["alone"])
        rate = 2 * 1000 / cpu
        memory = results[app]["baseline_mb"] + m_mib  # one hash in flight per sync worker
        print(
            f"| {app} | {cpu:.2f} | {run['cpu_ms']:.2f} | "
            f"{100 * (cpu - run['cpu_ms']) / run['cpu_ms']:+.0f} % | {rate:.1f} | "
            f"{run['rps']:.1f} | {100 * (rate - run['rps']) / run['rps']:+.0f} % | "
            f"{memory:.0f} | {run['mem_mb']:.0f} |"
        )
    login = results["ours"]["alone"]["POST login"]["cpu_ms"]
    mix_cpu = predicted_cpu_ms(results["ours"]["alone"])
    print(
        f"\nCapacity rule (ours, {label}): CPU ms per login {login:.1f}, logins/s per core "
        f"{1000 / login:.1f}; the deadline mix costs {mix_cpu:.2f} ms per request, "
        f"{mix_cpu / login_share:.1f} ms per login in it: cores for 50 logins/s "
        f"{50 * mix_cpu / login_share / 1000:.1f} (logins alone {50 * login / 1000:.1f}), for "
        f"200 logins/s {200 * mix_cpu / login_share / 1000:.1f} (logins alone "
        f"{200 * login / 1000:.1f}); memory per worker {results['ours']['baseline_mb']:.0f} MB "
        f"+ {m_mib} MiB per hash in flight."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the burst for ours and the limit at each argon2 setting asked; print tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="per connection count")
    parser.add_argument(
        "--calibrate-seconds", type=float, default=5, help="per path run alone (CPU costs)"
    )
    parser.add_argument(
        "--connections",
        type=lambda value: tuple(int(c) for c in value.split(",")),
        default=CONNECTIONS,
        help="closed-loop connection counts, comma-separated (default 2,4,8,16)",
    )
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument(
        "--patience",
        type=float,
        default=120,
        help="seconds to wait for an idle machine before each run (then it runs anyway)",
    )
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--database-prefix", default="burst")
    parser.add_argument(
        "--ours-database",
        help="an existing, seeded database for ours (used as it is: not dropped, not seeded; "
        "--accounts says how many BENCH accounts it holds)",
    )
    parser.add_argument("--bare-database", help="the same for the limit")
    parser.add_argument("--argon2", choices=list(ARGON2), action="append")
    args = parser.parse_args(argv)
    # A TERM (make interrupted, a timeout) stops the gunicorn servers too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    given = {"ours": args.ours_database, "bare": args.bare_database}
    fresh = [app for app in APPS if not given[app]]
    urls = {**(databases(args.postgres, args.database_prefix, fresh) if fresh else {})}
    urls.update({app: url for app, url in given.items() if url})
    for label in args.argon2 or list(ARGON2):
        servers = {}
        try:
            for app in APPS:
                servers[app] = Server(
                    app, urls[app], ARGON2[label], args.accounts, seed=app in fresh
                )
            results = measure(servers, args)
        finally:
            for server in servers.values():
                server.stop()
        report(label, results, args)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
