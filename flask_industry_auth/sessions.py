"""Applicant sessions: a fresh session at login, idle and absolute timeouts.

The session is Flask's signed cookie; what ends it server-side is the account's
``session_uniquifier`` inside the Flask-Login id (rotated on logout, password change, reset
and lock). On top of that every session ends after ``INDUSTRY_AUTH_IDLE_TIMEOUT`` seconds
without a request and ``INDUSTRY_AUTH_SESSION_LIFETIME`` seconds after login, whatever
happens (ASVS 7.3.1, 7.3.2).
"""

from __future__ import annotations

import time

from flask import current_app, session
from flask_login import login_user, logout_user

from .i18n import LOCALE_SESSION_KEY
from .models import LOGIN_METHOD_KEY

AUTH_AT_KEY = "_industry_auth_auth_at"
SEEN_AT_KEY = "_industry_auth_seen_at"


def start(account, method: str) -> None:
    """Log ``account`` in on a fresh session (no fixation); only the language survives."""
    locale = session.get(LOCALE_SESSION_KEY)
    session.clear()
    if locale:
        session[LOCALE_SESSION_KEY] = locale
    login_user(account, remember=current_app.config["INDUSTRY_AUTH_REMEMBER_ME"])
    now = int(time.time())
    session[LOGIN_METHOD_KEY] = method
    session[AUTH_AT_KEY] = now
    session[SEEN_AT_KEY] = now


def end() -> None:
    """Log out of this session; only the language survives."""
    logout_user()
    locale = session.get(LOCALE_SESSION_KEY)
    session.clear()
    if locale:
        session[LOCALE_SESSION_KEY] = locale


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
