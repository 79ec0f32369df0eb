"""What the current applicant may do: the manual's 全電子申辦 versus 紙本申辦.

Non-certificate accounts file on paper only; certificate accounts (工商憑證, 自然人憑證) may
file fully electronically once they logged in with their certificate.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar
from urllib.parse import quote

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from . import sessions
from .i18n import applicant_gettext
from .rendering import template_context

if TYPE_CHECKING:
    from .models import AccountMixin

P = ParamSpec("P")
R = TypeVar("R")


def current_account() -> AccountMixin | None:
    """The logged-in applicant account, or ``None`` (anonymous, or only a host user).

    Works whether or not applicants are also Flask-Login's ``current_user``
    (``INDUSTRY_AUTH_SHARE_LOGIN``)."""
    return sessions.current()


def wants_json() -> bool:
    """Whether the client asked for JSON rather than a page (an API route, a fetch call)."""
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def login_required_response() -> ResponseReturnValue:
    """What a page that needs an applicant answers to anyone else: the package's own login
    page (with a ``next`` back here), or a 401 in JSON for a client that asked for JSON."""
    login_url = url_for("industry_auth.login")
    if wants_json():
        return jsonify(error="login_required", login_url=login_url), 401
    flash(applicant_gettext("Please log in to see this page."), "info")
    next_url = None
    if request.method == "GET":
        # From the URL as requested: the app's mount point (SCRIPT_NAME) kept, encoding kept.
        path = quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~")
        query = request.query_string.decode("ascii", "replace")  # as sent, still encoded
        next_url = f"{path}?{query}" if query else path
    return redirect(url_for("industry_auth.login", next=next_url))


def account_required(view: Callable[P, R]) -> Callable[P, R | ResponseReturnValue]:
    """Like ``flask_login.login_required``, for applicant accounts of this package: anyone
    else goes to the package's login page (JSON clients get a 401)."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | ResponseReturnValue:
        if current_account() is None:
            return login_required_response()
        return view(*args, **kwargs)

    return wrapper


def electronic_filing_required(view: Callable[P, R]) -> Callable[P, R | ResponseReturnValue]:
    """Only for accounts that may file fully electronically; others get 403 with the reason
    (``industry_auth/filing_refused.html``, overridable; JSON clients get a JSON 403)."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | ResponseReturnValue:
        account = current_account()
        if account is None:
            return login_required_response()
        if not account.can_file_electronically:
            if wants_json():
                return jsonify(error="electronic_filing_not_allowed"), 403
            return render_template(
                "industry_auth/filing_refused.html", account=account, **template_context()
            ), 403
        return view(*args, **kwargs)

    return wrapper
