"""Rate limits under load: parallel requests against a real threaded server never get past a
limit together, and a hung Redis costs a request a fraction of a second, not the site."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid

import pytest
from werkzeug.serving import make_server

from flask_industry_auth import ratelimit
from flask_industry_auth.testkit import Browser, csrf_token
from tests.helpers import OWN_PASSWORD, VALID, Portal

REDIS_URL = os.environ.get("INDUSTRY_AUTH_TEST_REDIS_URL")
PARALLEL = 30


@contextlib.contextmanager
def serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def at_once(base: str, path: str, data_for) -> list[int]:
    """POST ``data_for(n)`` to ``path`` from PARALLEL browsers released together."""
    browsers = [Browser(base) for _ in range(PARALLEL)]
    tokens = [csrf_token(b.get("/account/login")[1]) for b in browsers]
    barrier = threading.Barrier(PARALLEL)
    statuses: list[int | None] = [None] * PARALLEL

    def run(n):
        barrier.wait()
        statuses[n] = browsers[n].submit(path, {"csrf_token": tokens[n], **data_for(n)})[0]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def _login(account_id: str) -> dict:
    return {
        "business_id": VALID["business_id"],
        "account_id": account_id,
        "password": "wrong password!!",
    }


def _storages():
    yield "memory://"
    if REDIS_URL:
        yield REDIS_URL


@pytest.fixture(params=list(_storages()))
def storage(request):
    return {
        "INDUSTRY_AUTH_RATELIMIT_STORAGE_URI": request.param,
        "INDUSTRY_AUTH_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK": False,
    }


@pytest.mark.parametrize(
    ("config", "path", "data_for", "allowed"),
    [
        (
            {"INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP": "10/minute"},
            "/account/login",
            lambda n: _login(f"NOSUCH{n:02d}"),
            10,
        ),
        (
            {
                "INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT": "10/5minutes",
                "INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP": "1000/minute",
            },
            "/account/login",
            lambda n: _login("SAMEACCT"),
            10,
        ),
        (
            {"INDUSTRY_AUTH_RATELIMIT_RESET_PER_ACCOUNT": "5/minute"},
            "/account/forgot-password",
            lambda n: {"account_id": "SAMEACCT"},
            5,
        ),
        (
            {"INDUSTRY_AUTH_RATELIMIT_RESET_PER_IP": "10/minute"},
            "/account/forgot-password",
            lambda n: {"account_id": f"ACCT{n:02d}"},
            10,
        ),
    ],
    ids=["login per address", "login per account", "reset per account", "reset per address"],
)
def test_parallel_requests_get_no_further_than_the_limit(
    make, storage, config, path, data_for, allowed
):
    app = make(**storage, **config)
    with serving(app) as base:
        statuses = at_once(base, path, data_for)
    assert sorted(statuses) == [200] * allowed + [429] * (PARALLEL - allowed), statuses


@pytest.fixture
def hung_redis():
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    accepted, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/7"
    stop.set()
    thread.join(5)
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.fixture
def fallback_log(monkeypatch, caplog):
    monkeypatch.setattr(ratelimit, "_fallback_logged", False)
    caplog.set_level(logging.WARNING, logger=ratelimit.__name__)

    def records():
        return [r for r in caplog.records if r.name == ratelimit.__name__ and "memory" in r.msg]

    return records


def test_a_hung_redis_costs_a_request_a_fraction_of_a_second(make, smtp, hung_redis, fallback_log):
    app = make(
        INDUSTRY_AUTH_RATELIMIT_STORAGE_URI=hung_redis,
        INDUSTRY_AUTH_RATELIMIT_STORAGE_TIMEOUT_MS=200,
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="3/minute",
        INDUSTRY_AUTH_RATELIMIT_RESET_PER_ACCOUNT="2/minute",
    )
    portal = Portal(app, app.test_client(), smtp)
    statuses = []
    for path, data in [
        ("/account/login", _login("NOSUCH1")),
        ("/account/forgot-password", {"account_id": "SAMEACCT"}),
        ("/account/login", _login("NOSUCH2")),
        ("/account/forgot-password", {"account_id": "SAMEACCT"}),
        ("/account/login", _login("NOSUCH3")),
        ("/account/login", _login("NOSUCH4")),
        ("/account/forgot-password", {"account_id": "SAMEACCT"}),
    ]:
        token = portal.csrf()
        started = time.monotonic()
        response = portal.client.post(path, data={"csrf_token": token, **data})
        assert time.monotonic() - started < 0.8, path
        statuses.append(response.status_code)
    # The fallback counts in memory: the limits still hold.
    assert statuses == [200, 200, 200, 200, 200, 429, 429]
    assert len(fallback_log()) == 1


def test_parallel_requests_on_a_hung_redis_log_the_fallback_once(make, hung_redis, fallback_log):
    app = make(
        INDUSTRY_AUTH_RATELIMIT_STORAGE_URI=hung_redis,
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="10/minute",
    )
    with serving(app) as base:
        started = time.monotonic()
        statuses = at_once(base, "/account/login", lambda n: _login(f"NOSUCH{n:02d}"))
        elapsed = time.monotonic() - started
    assert sorted(statuses) == [200] * 10 + [429] * (PARALLEL - 10), statuses
    assert elapsed < 20, elapsed
    assert len(fallback_log()) == 1


def test_logins_that_succeed_are_refunded_in_each_storage(make, smtp, storage):
    app = make(
        **storage,
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_IP="3/minute",
        INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT="3/5minutes",
    )
    portal = Portal(app, app.test_client(), smtp)
    details = portal.active_account()
    for _ in range(5):
        portal.logout()
        assert (
            portal.login(VALID["business_id"], details["account_id"], OWN_PASSWORD).status_code
            == 302
        )
    portal.logout()
    for n in range(3):
        assert portal.post("/account/login", _login(f"NOSUCH{n}")).status_code == 200
    assert portal.post("/account/login", _login("NOSUCH9")).status_code == 429
