"""Rate limits (Flask-Limiter) on login, registration, forgot-password and activation resend,
per client address and per target account.

One ``Limiter`` per app, so two apps in one process keep separate counters and storages; its
storage is ``INDUSTRY_AUTH_RATELIMIT_STORAGE_URI`` (``memory://`` in one process,
``redis://…`` to share the counters among processes and machines).
"""

from __future__ import annotations

import logging
import unicodedata

from flask import Flask, current_app, request
from flask_limiter import Limiter

from .validators import normalize_business_id

log = logging.getLogger(__name__)


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


def _account_key() -> str:
    """The normalised target of the request: 統一編號 + account id, an account id, or
    統一編號 + email (activation resend)."""
    form = request.form
    account_id = unicodedata.normalize("NFKC", form.get("account_id", "")).strip().upper()
    business_id = normalize_business_id(form.get("business_id"))
    email = form.get("email", "").strip().lower()
    return f"account:{business_id}:{account_id}:{email}"[:300]


def _failed(response) -> bool:
    # A login that did not redirect is a failure; only failures count against the account.
    return response.status_code != 302


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


def init_limiter(app: Flask) -> Limiter | None:
    """Create the app's limiter and attach the limits to the package's views."""
    config = app.config
    if not config["INDUSTRY_AUTH_RATELIMIT_ENABLED"]:
        return None
    limiter = Limiter(
        key_func=client_ip,
        storage_uri=config["INDUSTRY_AUTH_RATELIMIT_STORAGE_URI"],
        strategy="moving-window",
        headers_enabled=True,
        default_limits=[],
        application_limits=[],
        in_memory_fallback_enabled=config["INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK"],
        swallow_errors=config["INDUSTRY_AUTH_RATELIMIT_MEMORY_FALLBACK"],
        key_prefix=config["INDUSTRY_AUTH_RATELIMIT_KEY_PREFIX"],
    )
    _init_apart_from_host(limiter, app)
    rules = [
        ("login", "LOGIN_PER_IP", client_ip, _failed),
        ("login", "LOGIN_PER_ACCOUNT", _account_key, _failed),
        ("certificate_login", "LOGIN_PER_IP", client_ip, _failed),
        ("register", "REGISTER_PER_IP", client_ip, None),
        ("register_certificate", "REGISTER_PER_IP", client_ip, None),
        ("forgot_password", "RESET_PER_IP", client_ip, None),
        ("forgot_password", "RESET_PER_ACCOUNT", _account_key, None),
        ("resend_activation", "RESEND_PER_IP", client_ip, None),
        ("resend_activation", "RESEND_PER_ACCOUNT", _account_key, None),
        ("certificate_challenge", "CHALLENGE_PER_IP", client_ip, None),
    ]
    for view, name, key, deduct_when in rules:
        value = config[f"INDUSTRY_AUTH_RATELIMIT_{name}"]
        if not value:
            continue
        # Flask-Limiter enforces a route limit in the wrapper it returns, so this app's view
        # is replaced by the wrapped one (other apps keep theirs).
        endpoint = f"industry_auth.{view}"
        app.view_functions[endpoint] = limiter.limit(
            value,
            key_func=key,
            methods=["POST"],
            deduct_when=deduct_when,
            scope=f"{view}:{name.lower()}",
        )(app.view_functions[endpoint])
    return limiter
