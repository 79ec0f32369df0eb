"""Activate an account from the mailed link (seed 一.2), or ask for a fresh link."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

import sqlalchemy as sa
from flask import current_app

from .. import passwords, signals
from ..audit import record
from ..lifecycle import REQUESTED
from ..mail import commit_and_dispatch
from ..signals import send_after_commit
from ..state import get_state
from . import utcnow
from .registration import queue_activation_mail


class TokenStatus(Enum):
    """What an activation link is worth now; a refusal's value is its code (refusals.CODES)."""

    VALID = "valid"
    EXPIRED = "link_expired"
    INVALID = "link_invalid"  # unknown, or already used (a used token is erased)


def check_token(token: str | None) -> TokenStatus:
    """Whether ``token`` can activate an account now. Changes nothing."""
    return _status(_by_token(token))


def _status(account) -> TokenStatus:
    if account is None:
        return TokenStatus.INVALID
    if account.activation_expires_at is None or account.activation_expires_at < utcnow():
        return TokenStatus.EXPIRED
    return TokenStatus.VALID


def is_certificate_token(token: str | None) -> bool:
    """Whether ``token`` activates a certificate account (its pages speak of the card)."""
    account = _by_token(token)
    return account is not None and account.is_certificate_account


def activate(token: str | None) -> TokenStatus:
    """Activate the account of ``token`` (``requested`` → ``activated``), once.

    The token is consumed with one conditional UPDATE, so two simultaneous clicks activate
    once and the later one sees an invalid link.
    """
    account = _by_token(token, for_update=True)
    status = _status(account)
    if status is not TokenStatus.VALID:
        return status
    state = get_state()
    Account = state.models.Account
    consumed = state.db.session.execute(
        sa.update(Account)
        .where(
            Account.id == account.id, Account.activation_token_hash == account.activation_token_hash
        )
        .values(activation_token_hash=None, activation_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if consumed.rowcount != 1:
        commit_and_dispatch()  # nothing changed: the link was used meanwhile
        return TokenStatus.INVALID
    state.db.session.refresh(account)
    state.lifecycle.fire(account, "activate")
    account.activated_at = utcnow()
    # A day to log in with the mailed password, however late in the link's life this is.
    if account.temp_password_hash:
        account.temp_password_expires_at = max(
            account.temp_password_expires_at or utcnow(),
            utcnow() + timedelta(seconds=current_app.config["INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS"]),
        )
    send_after_commit(signals.activated, account=account)
    commit_and_dispatch()
    return TokenStatus.VALID


def resend(business_id: str, email: str) -> None:
    """Mail a fresh activation link and password to a not-yet-activated account that matches
    ``business_id`` and ``email``. Answers the same (nothing) whether or not one matches."""
    state = get_state()
    Account = state.models.Account
    account = state.db.session.scalar(
        state.db.select(Account).where(
            Account.business_id == business_id, Account.email_key == email.lower()
        )
    )
    if account is None or account.state != REQUESTED:
        state.hasher.hash(passwords.new_token())  # same work either way
        record(account, event="resend_activation", outcome="ignored")
        commit_and_dispatch()
        return
    reissue(account)
    commit_and_dispatch()


def reissue(account, *, actor: str | None = None) -> None:
    """Queue a new activation mail for an account awaiting activation, audited (not
    committed). The first mail may be lost, and only the hash of its password is kept, so a
    new link and password are issued; the earlier ones stop working."""
    record(
        account,
        event="resend_activation",
        outcome="ok",
        from_state=account.state,
        to_state=account.state,
        actor=actor,
    )
    queue_activation_mail(account)


#: No activation token is longer (they are ``secrets.token_urlsafe`` strings); a longer one
#: is refused unread.
MAX_TOKEN_LENGTH = 100


def _by_token(token: str | None, *, for_update: bool = False):
    # Only activating locks the row; showing the confirmation page just reads it.
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    state = get_state()
    Account = state.models.Account
    query = state.db.select(Account).where(
        Account.activation_token_hash == passwords.token_hash(token)
    )
    return state.db.session.scalar(query.with_for_update() if for_update else query)
