"""Rate limits (Flask-Limiter) on login, registration, forgot-password and activation resend,
per client address and per target account.

One ``Limiter`` per app, so two apps in one process keep separate counters and storages; its
storage is ``INDUSTRY_AUTH_RATELIMIT_STORAGE_URI`` (``memory://`` in one process,
``redis://…`` to share the counters among processes and machines).

Every limit counts a request before the request is served, in one atomic step of the storage
(``hit``: increment and compare), so parallel requests never get past a limit together. The
login limits count failures only: an attempt is counted up front and refunded when it logs in.
A shared storage that does not answer within ``INDUSTRY_AUTH_RATELIMIT_STORAGE_TIMEOUT_MS``
is given up for the process's memory (logged once per process) until it answers again.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage
from werkzeug.exceptions import TooManyRequests

from .validators import normalize_business_id

log = logging.getLogger(__name__)

#: Whether this process has logged that it counts in memory (see :class:`_Limiter`).
_fallback_logged = False
_fallback_lock = threading.Lock()


def client_ip() -> str:
    """The client's address: ``X-Forwarded-For`` is believed only for the configured number of
    trusted proxies (``INDUSTRY_AUTH_TRUSTED_PROXIES``), counted from the right."""
    trusted = current_app.config["INDUSTRY_AUTH_TRUSTED_PROXIES"]
    if trusted:
        hops = [
            h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()
        ]
        if len(hops) >= trusted:
            return hops[-trusted][:45]
    return request.remote_addr or "unknown"


_NORMALISE: dict[str, Callable[[str], str]] = {
    "account_id": lambda value: unicodedata.normalize("NFKC", value).strip().upper(),
    "business_id": lambda value: normalize_business_id(value) or "",
    "email": lambda value: value.strip().lower(),
}


def _account_key(*fields: str) -> Callable[[], str]:
    """The key of the target account, from these fields of the form only (normalised as the
    form's lookup does): a field the form does not have is no new counter."""

    def key() -> str:
        values = ":".join(_NORMALISE[name](request.form.get(name, "")) for name in fields)
        return f"account:{values}"[:300]

    return key


def _log_fallback_once() -> None:
    global _fallback_logged
    with _fallback_lock:
        if _fallback_logged:
            return
        _fallback_logged = True
    log.warning(
        "Rate-limit storage unreachable or too slow: counting in this process's memory until "
        "it answers again (logged once per process)"
    )


class _Limiter(Limiter):
    """Flask-Limiter's limiter; the package logs (once per process) when it falls back to
    memory, however many requests find the storage dead at once."""

    @property
    def _storage_dead(self) -> bool:
        return self.__dict__.get("_industry_auth_storage_dead", False)

    @_storage_dead.setter
    def _storage_dead(self, dead: bool) -> None:
        if dead and self._in_memory_fallback_enabled:
            _log_fallback_once()
        self.__dict__["_industry_auth_storage_dead"] = dead


def _storage_options(uri: str, timeout_ms: int) -> dict:
    """Socket timeouts for a Redis (or Valkey) storage: a hung server costs a request at most
    about this long, then the in-memory fallback answers."""
    scheme = uri.split("://", 1)[0].lower()
    if scheme.startswith(("redis", "valkey")):
        seconds = timeout_ms / 1000
        options = {"socket_timeout": seconds, "socket_connect_timeout": seconds}
        if scheme.endswith("+sentinel"):
            return {**options, "sentinel_kwargs": dict(options)}  # the sentinels' own sockets
        return options
    return {}


# -- counting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    items: list[RateLimitItem]
    key: Callable[[], str]
    scope: str
    #: A login limit: it counts failures, so a request that logs in is refunded.
    failures_only: bool = False
    #: The per-account login limit: the emailed temporary password gets past it when full.
    owners_way_back: bool = False
    #: Which POSTs count (None: all of them).
    counts: Callable[[], bool] | None = None


def _hit(limiter: _Limiter, item: RateLimitItem, identifiers: list[str]):
    """Count one request atomically: the strategy it was counted in, None when the limit is
    full, False when the storage failed and errors are swallowed (not counted, not refused).
    A failing storage is given up for the in-memory fallback, also by the requests that were
    waiting on it when another one gave it up."""
    strategy = limiter.limiter
    try:
        return strategy if strategy.hit(item, *identifiers) else None
    except Exception:
        if limiter._in_memory_fallback_enabled and strategy is not limiter._fallback_limiter:
            limiter._storage_dead = True
            return _hit(limiter, item, identifiers)
        if limiter._swallow_errors:
            log.exception("Rate-limit storage failed; the request is not limited")
            return False
        raise


def _refund(strategy, item: RateLimitItem, identifiers: list[str]) -> None:
    """Take back one counted request (the newest entry of the moving window) from the storage
    it was counted in. Storages other than memory and Redis keep it (successes then count)."""
    storage = strategy.storage
    key = item.key_for(*identifiers)
    try:
        if isinstance(storage, MemoryStorage):
            with storage.locks[key]:
                events = storage.events.get(key)
                if events:
                    del events[0]
        elif isinstance(storage, RedisStorage):
            storage.get_connection().lpop(storage.prefixed_key(key))
    except Exception:  # the storage died meanwhile: the entry stays counted (the safe side)
        log.info("Could not refund a rate-limit entry", exc_info=True)


def _temporary_password_offered() -> bool:
    """Whether the login form carries the account's pending temporary password (the owner's
    way back after a reset). Costs one password verification either way."""
    from .flows import find_account, utcnow
    from .passwords import password_length
    from .state import get_state

    hasher = get_state().hasher
    password = request.form.get("password", "")
    account = find_account(request.form.get("account_id", ""))
    if (
        account is None
        or not account.temp_password_hash
        or account.temp_password_expires_at is None
        or account.temp_password_expires_at < utcnow()
        or account.business_id != normalize_business_id(request.form.get("business_id"))
        or password_length(password) > current_app.config["INDUSTRY_AUTH_PASSWORD_MAX_LENGTH"]
    ):
        hasher.dummy_verify()  # the same cost: a full limit tells nothing about the account
        return False
    return hasher.verify(account.temp_password_hash, password)


def _too_many(limiter: _Limiter, item: RateLimitItem, identifiers: list[str]):
    """The 429 answer: when to try again, on the page (in the applicant's time zone, and in
    minutes) and in ``Retry-After``, from the moment the limit lets the next request in."""
    from .hooks import error_page

    try:
        reset = limiter.limiter.get_window_stats(item, *identifiers).reset_time
    except Exception:
        reset = time.time() + item.get_expiry()
    now = time.time()
    # The page names whole minutes, so it rounds up: trying at the time it says never fails.
    retry_at = datetime.fromtimestamp(math.ceil(reset / 60) * 60, UTC).replace(tzinfo=None)
    minutes = max(1, math.ceil((reset - now) / 60))
    page, status = error_page(TooManyRequests(), retry_at=retry_at, retry_minutes=minutes)
    return page, status, {"Retry-After": str(max(1, int(reset - now) + 1))}


def _failed(response) -> bool:
    # A login that did not redirect is a failure; only failures count.
    return response.status_code != 302


def _limited(limiter: _Limiter, rules: list[_Rule], view):
    """Wrap a view: each POST is counted against every rule before the view runs (so parallel
    requests all count), and refunded from the login limits when it logs in."""
    prefix = limiter._key_prefix

    @functools.wraps(view)
    def limited(*args, **kwargs):
        if request.method != "POST":
            return view(*args, **kwargs)
        refunds = []
        for rule in rules:
            if rule.counts is not None and not rule.counts():
                continue
            identifiers = [prefix, rule.key(), rule.scope]
            for item in rule.items:
                strategy = _hit(limiter, item, identifiers)
                if strategy:
                    if rule.failures_only:
                        refunds.append((strategy, item, identifiers))
                elif strategy is None:
                    if rule.owners_way_back and _temporary_password_offered():
                        continue  # an attacker's failures do not keep the owner out
                    log.info("ratelimit %s exceeded at %s", item, rule.scope)
                    return _too_many(limiter, item, identifiers)
        if not refunds:
            return view(*args, **kwargs)
        response = current_app.make_response(view(*args, **kwargs))
        if not _failed(response):
            for strategy, item, identifiers in refunds:
                _refund(strategy, item, identifiers)
        return response

    return limited


def _init_apart_from_host(limiter: Limiter, app: Flask) -> None:
    # Flask-Limiter reads app-wide RATELIMIT_* keys in init_app (and writes some back). They
    # belong to the host's own limiter: RATELIMIT_ENABLED=False (Flask-AppBuilder sets it)
    # must not switch the package's limits off, nor RATELIMIT_DEFAULT add limits to its
    # views. So the package's limiter starts on a config without them; the host's are restored.
    config = app.config
    hosts = {key: config.pop(key) for key in list(config) if key.startswith("RATELIMIT_")}
    try:
        limiter.init_app(app)
    finally:
        for key in [k for k in config if k.startswith("RATELIMIT_")]:
            del config[key]
        config.update(hosts)


#: The limits: view, setting, key, whether only failed logins count. The account keys name
#: the fields of that view's form, and no other.
_RULES = [
    ("login", "LOGIN_PER_IP", client_ip, True),
    ("login", "LOGIN_PER_ACCOUNT", _account_key("business_id", "account_id"), True),
    ("certificate_login", "LOGIN_PER_IP", client_ip, True),
    ("register", "REGISTER_PER_IP", client_ip, False),
    ("register_certificate", "REGISTER_PER_IP", client_ip, False),
    ("forgot_password", "RESET_PER_IP", client_ip, False),
    ("forgot_password", "RESET_PER_ACCOUNT", _account_key("account_id"), False),
    ("resend_activation", "RESEND_PER_IP", client_ip, False),
    ("resend_activation", "RESEND_PER_ACCOUNT", _account_key("business_id", "email"), False),
    ("certificate_challenge", "CHALLENGE_PER_IP", client_ip, False),
]


def _applying() -> bool:
    # 下一步, 返回修改 and a form sent back with errors are one applicant still typing; only
    # 申請帳號 (action=apply) is an application, which the limit is about.
    return request.form.get("action") == "apply"


#: Limits that count only some POSTs of their views.
_COUNTS = {"REGISTER_PER_IP": _applying}


def init_limiter(app: Flask) -> Limiter | None:
    """Create the app's limiter and attach the limits to the package's views."""
    config = app.config
    if not config["INDUSTRY_AUTH_RATELIMIT_ENABLED"]:
        return None
    uri = config["INDUSTRY_AUTH_RATELIMIT_STORAGE_URI"]
    limiter = _Limiter(
        key_func=client_ip,
        storage_uri=uri,
        storage_options=_storage_options(uri, config["INDUSTRY_AUTH_RATELIMIT_STORAGE_TIMEOUT_MS"]),
        strategy="moving-window",
        headers_enabled=False,
        default_limits=[],
        application_limits=[],
        in_memory_fallback_enabled=config["INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK"],
        swallow_errors=config["INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK"],
        key_prefix=config["INDUSTRY_AUTH_RATELIMIT_KEY_PREFIX"],
    )
    # Flask-Limiter keeps the storage, its in-memory fallback and the checks whether the
    # storage is back; the package counts itself (_limited), hit before the view runs.
    _init_apart_from_host(limiter, app)
    by_view: dict[str, list[_Rule]] = {}
    for view, name, key, failures_only in _RULES:
        value = config[f"INDUSTRY_AUTH_RATELIMIT_{name}"]
        if value:
            scope = f"{view}:{name.lower()}"
            owners_way_back = name == "LOGIN_PER_ACCOUNT"
            rule = _Rule(
                parse_many(value), key, scope, failures_only, owners_way_back, _COUNTS.get(name)
            )
            by_view.setdefault(view, []).append(rule)
    for view, rules in by_view.items():
        # This app's view is replaced by the wrapped one (other apps keep theirs).
        endpoint = f"industry_auth.{view}"
        app.view_functions[endpoint] = _limited(limiter, rules, app.view_functions[endpoint])
    return limiter
