"""What the package does around requests, apart from its pages: the CSRF check of every
POST, the applicant's session rules on every request of the app (the host's pages included:
an expired session ends, a forced password change comes first), the security headers of its
pages, and its error and 503 pages. ``views`` and ``admin`` install them on their blueprints.
"""

from __future__ import annotations

import contextlib
import logging

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from . import sessions
from .filing import current_account, wants_json
from .hipki import policy_with_service
from .i18n import applicant_gettext, current_locale, gettext
from .rendering import policy_with_nonce
from .state import get_state

log = logging.getLogger(__name__)

#: Endpoints reachable while a password change is forced.
_ALLOWED_DURING_FORCED_CHANGE = frozenset(
    {
        "industry_auth.change_password",
        "industry_auth.logout",
        "industry_auth.set_language",
        "industry_auth.static",
        "industry_auth.session_status",
        "static",
    }
)


def check_csrf():
    """Every POST of the package's blueprints carries a valid CSRF token, or gets a 400."""
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as refused:
            _explain_csrf_refusal(str(refused))
            abort(400, description="csrf")


def _explain_csrf_refusal(reason: str) -> None:
    # A Secure session cookie is never sent back over plain HTTP, so every form "expires":
    # say so in the log, where the portal's developer looks, not only on the page.
    config = current_app.config
    if config.get("SESSION_COOKIE_SECURE") and not request.is_secure:
        log.warning(
            "flask_industry_auth: refused a POST to %s (%s): the session cookie is Secure but "
            "this request came over plain HTTP, so the browser never sends the cookie back. "
            "Serve the portal over HTTPS (behind a TLS proxy, apply werkzeug's ProxyFix), or "
            "for a local plain-HTTP demo set INDUSTRY_AUTH_SECURE_COOKIES = False.",
            request.path,
            reason,
        )
    else:
        log.info("flask_industry_auth: refused a POST to %s: %s", request.path, reason)


def check_session():
    """The applicant's session rules, before every request of the app (the host's too)."""
    # Runs for the host's pages too: an expired session ends everywhere, and after a
    # system-issued password nothing else, ours or the host's, is reachable.
    manager = getattr(current_app, "login_manager", None)
    if manager is not None:
        sessions.guard_user_loader(manager)  # the host may have replaced loader or manager
    if request.endpoint in ("static", "industry_auth.static"):
        return None
    if request.blueprint == "industry_auth_admin":
        return None  # staff pages: the applicant's session rules are not the staff user's
    account = current_account()
    if account is None:
        return None
    ours = request.blueprint == "industry_auth"
    if sessions.expired():
        sessions.end()
        if not ours:
            return None  # a host page decides itself whether it needs an applicant
        if wants_json():
            return jsonify(error="session_expired", login_url=url_for("industry_auth.login")), 401
        flash(
            applicant_gettext(
                "You were logged out after a period without activity. Please log in again."
            ),
            "info",
        )
        return redirect(url_for("industry_auth.login"))
    if request.endpoint != "industry_auth.session_status":
        sessions.touch()
    if account.must_change_password and request.endpoint not in _ALLOWED_DURING_FORCED_CHANGE:
        url = url_for("industry_auth.change_password")
        if wants_json():
            return jsonify(error="password_change_required", change_password_url=url), 403
        return redirect(url)
    return None


#: Pages that carry a token in their URL or form: never leak it through Referer.
_TOKEN_ENDPOINTS = frozenset({"industry_auth.activate"})


def security_headers(response):
    """The package's pages' security headers (CSP, framing, referrer, no caching)."""
    headers = response.headers
    config = current_app.config
    endpoint = request.endpoint
    # Headers.setdefault raises and catches a KeyError for each header that is missing, which
    # is every one here: look the names up once (a tenth of a cached login page's time).
    present = {name.lower() for name in headers.keys()}  # noqa: SIM118 (Headers iterates pairs)

    def default(name: str, value: str) -> None:
        if name.lower() not in present:
            headers.add(name, value)

    csp = config["INDUSTRY_AUTH_CSP"]
    if csp:
        default("Content-Security-Policy", policy_with_service(policy_with_nonce(csp)))
    default("X-Content-Type-Options", "nosniff")
    default("X-Frame-Options", "DENY")
    if endpoint in _TOKEN_ENDPOINTS:
        headers["Referrer-Policy"] = "no-referrer"
    else:
        default("Referrer-Policy", "same-origin")
    if endpoint != "industry_auth.static":
        # Account pages hold personal data: no copy in any cache, back button included.
        headers["Cache-Control"] = "no-store"
    hsts = config.get("INDUSTRY_AUTH_HSTS_SECONDS")
    if hsts and request.is_secure:
        default("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
    return response


def security_headers_of_unrouted(response):
    """The security headers on an answer no view gave (a 404 or 405 of the router) to a URL
    under the package's prefix (or the admin pages'): blueprint hooks do not run for those.
    The host's own pages, and its URLs elsewhere, are left as they are."""
    if request.url_rule is not None or request.endpoint is not None:
        return response  # a view of the host or of a blueprint: its own hooks decide
    config = current_app.config
    prefixes = [config.get("INDUSTRY_AUTH_URL_PREFIX") or "/account"]
    admin = current_app.extensions.get("industry_auth_admin")
    if admin is not None and getattr(admin, "url_prefix", None):
        prefixes.append(admin.url_prefix.rstrip("/") or "/")
    path = request.path
    if any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes):
        return security_headers(response)
    return response


def database_unavailable(error):
    """503 while the database is unreachable: nothing was saved (the transaction is gone)."""
    log.error("flask_industry_auth: database unavailable: %s", error)
    with contextlib.suppress(Exception):  # the connection is broken: nothing left to undo
        get_state().db.session.rollback()
    # Rendered without the context processors: they ask the database who is logged in.
    template = current_app.jinja_env.get_template("industry_auth/unavailable.html")
    page = template.render(_=gettext, industry_auth_locale=current_locale())
    return page, 503, {"Retry-After": "60", "Cache-Control": "no-store"}


def error_page(error, *, retry_at=None, retry_minutes=None):
    """The package's page for a 400, 403, 404, 405 or 429. A rate limit's 429 says when to
    try again: ``retry_at`` (naive UTC, shown in the configured time zone) and
    ``retry_minutes`` from now."""
    page = render_template(
        "industry_auth/error.html",
        error=error,
        retry_at=retry_at,
        retry_minutes=retry_minutes,
    )
    return page, error.code
