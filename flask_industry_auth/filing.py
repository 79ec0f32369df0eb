"""What the current applicant may do: the manual's 全電子申辦 versus 紙本申辦.

Non-certificate accounts file on paper only; certificate accounts (工商憑證, 自然人憑證) may
file fully electronically once they logged in with their certificate.
"""

from __future__ import annotations

from functools import wraps

from flask import current_app, render_template
from flask_login import current_user

from .extension import get_state
from .rendering import template_context


def current_account():
    """The logged-in applicant account, or ``None`` (anonymous, or a host user)."""
    user = current_user._get_current_object() if current_user else None
    account_class = get_state().models.Account
    if isinstance(user, account_class) and user.is_authenticated:
        return user
    return None


def account_required(view):
    """Like ``flask_login.login_required``, for applicant accounts of this package."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_account() is None:
            return current_app.login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapper


def electronic_filing_required(view):
    """Only for accounts that may file fully electronically; others get 403 with the reason
    (``industry_auth/filing_refused.html``, overridable)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        account = current_account()
        if account is None:
            return current_app.login_manager.unauthorized()
        if not account.can_file_electronically:
            return render_template(
                "industry_auth/filing_refused.html", account=account, **template_context()
            ), 403
        return view(*args, **kwargs)

    return wrapper
