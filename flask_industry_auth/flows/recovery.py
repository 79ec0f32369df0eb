"""Forgot password (seed 一.3): a new temporary password by mail.

The answer never tells whether the account exists. The current password keeps working until
the temporary one is used, so a stranger who asks cannot lock the owner out. The temporary
password works until the forced password change replaces it, or until it expires. An account
locked by staff gets none (it would lift staff's lock); one locked after failed logins does.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from .. import signals
from ..audit import record
from ..lifecycle import LOCKED, lock_ends_by_itself, locked_by_staff
from ..mail import commit_and_dispatch, queue_mail
from ..signals import send_after_commit
from ..state import get_state
from . import find_account, utcnow
from .links import external_url


def request_reset(account_id: str) -> None:
    """Mail a temporary password to the owner of ``account_id``, if there is one that may
    have one. Certificate accounts are mailed an explanation instead (their PIN is the CA's)."""
    state = get_state()
    # Hashed before the row lock and whether or not a password is issued: requests for one
    # account do not queue behind each other's argon2 computation, and an unknown account
    # costs the same work as a known one.
    password = state.adapter.generate_temporary_password()
    password_hash = state.hasher.hash(password)
    account = find_account(account_id, for_update=True)
    lifecycle = state.lifecycle
    issue = (
        account is not None
        and not account.is_certificate_account
        and (lifecycle.can(account, "request_reset") or lock_ends_by_itself(account))
    )
    if not issue:
        # A lock by staff is staff's to lift: no temporary password, which would unlock it.
        if account is not None and account.is_certificate_account:
            outcome = "certificate_account"
        elif account is not None and locked_by_staff(account):
            outcome = "locked_by_staff"
        else:
            outcome = "ignored"
        record(account, event="request_reset", account_id=account_id, outcome=outcome)
        if account is not None and account.is_certificate_account:
            queue_mail(
                "certificate_recovery", account, login_url=external_url("industry_auth.login")
            )
        commit_and_dispatch()
        return

    seconds = current_app.config["INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS"]
    account.temp_password_hash = password_hash
    account.temp_password_expires_at = utcnow() + timedelta(seconds=seconds)
    if account.state == LOCKED:
        # Stays locked (after failed logins): the lock still refuses the old password, the
        # temporary one unlocks.
        record(account, event="request_reset", outcome="ok", from_state=LOCKED, to_state=LOCKED)
    else:
        lifecycle.fire(account, "request_reset")
    queue_mail(
        "temporary_password",
        account,
        password=password,
        expires_hours=max(1, seconds // 3600),
        expires_at=account.temp_password_expires_at,
        login_url=external_url("industry_auth.login"),
    )
    send_after_commit(signals.temporary_password_issued, account=account)
    commit_and_dispatch()
