"""Applicant sessions: who is logged in, kept apart from the host's own users.

The applicant logged in on this browser is named by one key of Flask's session,
``_industry_auth_account`` (``ia:<pk>:<uniquifier>``), not by Flask-Login's ``_user_id``: a
portal with its own users and ``LoginManager`` keeps its ``current_user`` and
``@login_required`` for them, and a staff user and an applicant can be logged in at once in one
browser. Logging an applicant in or out touches only the package's own keys.

Applicants are also Flask-Login's ``current_user`` only when the portal says so
(``INDUSTRY_AUTH_SHARE_LOGIN = True``), or when its only users are applicants: ``None``, the
default, shares when the package created the app's ``LoginManager``.

What ends a session server-side is the account's ``session_uniquifier`` (rotated on logout,
password change, reset and lock) and the account's state (one that cannot log in); on top of
that every session ends after ``INDUSTRY_AUTH_IDLE_TIMEOUT`` seconds without a request and
``INDUSTRY_AUTH_SESSION_LIFETIME`` seconds after login, whatever happens (ASVS 7.3.1, 7.3.2).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from flask import current_app, has_request_context, request, session
from flask_login import login_user, logout_user

from .i18n import LOCALE_SESSION_KEY
from .models import LOGIN_METHOD_KEY
from .state import LOGIN_ID_PREFIX, get_state

if TYPE_CHECKING:
    from .models import AccountMixin

#: Every session key of the package starts with this.
KEY_PREFIX = "_industry_auth_"
#: The logged-in applicant's Flask-Login-style id.
ACCOUNT_KEY = "_industry_auth_account"
AUTH_AT_KEY = "_industry_auth_auth_at"
SEEN_AT_KEY = "_industry_auth_seen_at"
#: Where the request's applicant is cached (``None``: looked up, nobody). In the WSGI environ,
#: not on ``flask.g``: a request reuses an app context that is already pushed, and with it
#: ``g``, so one browser's applicant could otherwise stay cached for the next browser.
_CACHE = "flask_industry_auth.account"
#: Flask-Login's session key for the logged-in user's id.
_FLASK_LOGIN_KEY = "_user_id"
_UNSET = object()


def current() -> AccountMixin | None:
    """The applicant logged in on this request's session, or ``None``; one lookup a request."""
    if not has_request_context():
        return None
    environ = request.environ
    cached = environ.get(_CACHE, _UNSET)
    if cached is _UNSET:
        session_id = session.get(ACCOUNT_KEY)
        if session_id is not None and sharing() and session.get(_FLASK_LOGIN_KEY) != session_id:
            # When applicants are current_user, Flask-Login's id and the package's name one
            # login: the host's logout_user() (or Flask-Login's session protection) ended it.
            _drop_own_keys()
            session_id = None
        cached = environ[_CACHE] = load(session_id)
    return cached  # type: ignore[return-value]


def load(session_id: Any) -> AccountMixin | None:
    """The account named by ``ia:<pk>:<uniquifier>`` if that is still a live session of it: a
    rotated uniquifier, or a state that cannot log in, ends it."""
    if not isinstance(session_id, str) or not session_id.startswith(LOGIN_ID_PREFIX):
        return None
    try:
        _, pk, uniquifier = session_id.split(":", 2)
        state = get_state()
        account = state.db.session.get(state.models.Account, int(pk))
    except ValueError:
        return None
    if account is None or account.session_uniquifier != uniquifier:
        return None
    if not state.lifecycle.can_log_in(account.state):
        return None
    return account


def sharing() -> bool:
    """Whether applicants are also Flask-Login's ``current_user`` on this app (see above)."""
    setting = current_app.config["INDUSTRY_AUTH_SHARE_LOGIN"]
    if setting is None:
        manager = getattr(current_app, "login_manager", None)
        return manager is not None and manager is get_state().login_manager
    return bool(setting)


def guard_user_loader(manager: Any) -> None:
    """Put the package in front of ``manager``'s user loader: ``ia:`` ids are the package's
    (its applicant when sharing, else nobody: a cookie from before, never the host's loader's
    problem); every other id goes to the host's loader. Called at ``init_app`` and again at
    every request, so a loader the host registers later, or a framework that replaces the
    ``LoginManager`` (Flask-AppBuilder), is guarded too."""
    host_loader = manager._user_callback
    if getattr(host_loader, "_industry_auth_guard", False):
        return

    def load_user(user_id: str) -> Any:
        if isinstance(user_id, str) and user_id.startswith(LOGIN_ID_PREFIX):
            # Only the login the package itself started, with its timeouts, is an applicant.
            if sharing() and user_id == session.get(ACCOUNT_KEY):
                return current()
            return None
        return host_loader(user_id) if host_loader else None

    load_user._industry_auth_guard = True  # type: ignore[attr-defined]
    manager._user_callback = load_user


def start(account: AccountMixin, method: str) -> None:
    """Log ``account`` in: the package's keys start afresh; the host's keys stay.

    Flask's session is a signed cookie with no server-side id, so there is nothing an
    attacker could fix in advance (ASVS 7.2.4): the cookie the browser gets back is new.
    """
    _drop_own_keys()
    # A new CSRF token too (as Django does at login): one planted before login, with a cookie
    # set from a sibling domain say, must not carry over to the applicant's session.
    session.pop("csrf_token", None)
    now = int(time.time())
    session[ACCOUNT_KEY] = account.get_id()
    session[LOGIN_METHOD_KEY] = method
    session[AUTH_AT_KEY] = now
    session[SEEN_AT_KEY] = now
    # Remember me: the cookie outlives the browser (the absolute lifetime still ends it).
    if current_app.config["INDUSTRY_AUTH_REMEMBER_ME"]:
        session.permanent = True
    request.environ[_CACHE] = account
    if sharing():
        login_user(account)


def renew(account: AccountMixin) -> None:
    """Keep this session after a flow rotated the account's uniquifier (password change).

    Not a new login: Flask-Login's id is updated in place, so ``user_logged_in`` is sent
    once per login."""
    session[ACCOUNT_KEY] = account.get_id()
    request.environ[_CACHE] = account
    if sharing():
        session[_FLASK_LOGIN_KEY] = account.get_id()


def end() -> None:
    """Log the applicant out of this session; the host's keys (and its user) stay."""
    if sharing() or _flask_login_holds_an_applicant():
        logout_user()
    _drop_own_keys()
    request.environ[_CACHE] = None


def _flask_login_holds_an_applicant() -> bool:
    user_id = session.get(_FLASK_LOGIN_KEY)
    return isinstance(user_id, str) and user_id.startswith(LOGIN_ID_PREFIX)


def _drop_own_keys() -> None:
    # The language is the browser's choice, not the applicant's: it survives.
    for key in [k for k in session if k.startswith(KEY_PREFIX) and k != LOCALE_SESSION_KEY]:
        del session[key]


def expired() -> bool:
    """Whether the current session has been idle, or alive, for too long."""
    config = current_app.config
    now = int(time.time())
    auth_at = session.get(AUTH_AT_KEY, 0)
    seen_at = session.get(SEEN_AT_KEY, 0)
    return (
        now - seen_at > config["INDUSTRY_AUTH_IDLE_TIMEOUT"]
        or now - auth_at > config["INDUSTRY_AUTH_SESSION_LIFETIME"]
    )


def touch() -> None:
    """Record activity (at most once a minute, to spare the cookie)."""
    now = int(time.time())
    if now - session.get(SEEN_AT_KEY, 0) >= 60:
        session[SEEN_AT_KEY] = now


def extend() -> None:
    """The applicant asked to stay (WCAG 2.2.1): reset the idle clock now."""
    session[SEEN_AT_KEY] = int(time.time())


def seconds_left() -> int:
    """Seconds before the idle timeout, for the warning script."""
    idle = current_app.config["INDUSTRY_AUTH_IDLE_TIMEOUT"]
    return max(0, idle - (int(time.time()) - session.get(SEEN_AT_KEY, 0)))
