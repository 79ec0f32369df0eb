"""Apply for a non-certificate account (seed 一.1) and the activation mail (一.2)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import passwords, signals
from ..audit import record
from ..lifecycle import PENDING_APPROVAL, REJECTED, REQUESTED
from ..mail import commit_and_dispatch, queue_mail
from ..models import NON_CERTIFICATE
from ..signals import send_after_commit
from ..state import get_state
from . import BasicData, rotate_sessions, utcnow
from .links import activation_url, external_url


@dataclass(frozen=True)
class Application(BasicData):
    """A validated application (see ``forms.RegistrationForm``)."""

    business_id: str
    locale: str = "zh_Hant_TW"


def apply(application: Application) -> None:
    """Create an account in the lifecycle's initial state and queue its activation mail.

    A second application for the same 統一編號 and email creates nothing, and the applicant
    sees the same answer (no enumeration). The same application again within
    ``INDUSTRY_AUTH_REPEAT_APPLICATION_SECONDS`` (a double click, a retry) is that
    application: no mail. Otherwise the existing owner gets a mail (:func:`queue_duplicate_mail`,
    with the way to a new activation mail while the account is not activated). Every
    branch costs one argon2 computation (ASVS V6.3.8): a new account's system password, or
    the same work spent on nothing (a duplicate, a reapplication, an application that waits
    for staff approval under ``INDUSTRY_AUTH_REQUIRE_APPROVAL`` and so gets no password yet).
    """
    for attempt in range(3):
        try:
            return _apply_once(application)
        except IntegrityError:
            # A concurrent identical application, or (rarely) an account id collision.
            get_state().db.session.rollback()
            if attempt == 2:
                raise
    return None


def _existing(application: Application):
    state = get_state()
    Account = state.models.Account
    return state.db.session.scalar(
        state.db.select(Account).where(
            Account.business_id == application.business_id,
            Account.email_key == application.email.lower(),
        )
    )


def _apply_once(application: Application) -> None:
    state = get_state()
    existing = _existing(application)
    if existing is not None and existing.state != REJECTED:
        state.hasher.hash(passwords.new_token())  # same work as a real application
        repeat = _is_repeat(existing, application)
        outcome = "repeat" if repeat else "duplicate"
        record(
            existing,
            event="apply",
            outcome=outcome,
            from_state=existing.state,
            to_state=existing.state,
        )
        if not repeat:  # the same submit again is the same application: no mail
            queue_duplicate_mail(existing)
        commit_and_dispatch()
        return

    if existing is not None:  # rejected earlier: the same account goes back to review
        state.hasher.hash(passwords.new_token())  # same work as a real application
        reapply(existing, application)
        return
    account = create_account(application, NON_CERTIFICATE)
    state.db.session.flush()
    record(account, event="apply", outcome="ok", to_state=account.state)
    if account.state == REQUESTED:
        queue_activation_mail(account)  # hashes the account's system password
    else:  # waits for staff approval: the password comes with the approval
        state.hasher.hash(passwords.new_token())  # same work as a duplicate application
    send_after_commit(signals.applied, account=account)
    commit_and_dispatch()


def _is_repeat(account, application: Application) -> bool:
    # The same applicant sending the same form again minutes after creating the account
    # (the lookup already matched 統一編號 and email, case aside): nothing to tell anyone.
    # An account that has moved on (activated, locked...) was not just double-submitted.
    window = current_app.config["INDUSTRY_AUTH_REPEAT_APPLICATION_SECONDS"]
    if account.state not in (REQUESTED, PENDING_APPROVAL) or not window:
        return False
    if account.created_at < utcnow() - timedelta(seconds=window):
        return False
    return all(
        getattr(account, f.name) == getattr(application, f.name)
        for f in fields(BasicData)
        if f.name != "email"
    )


def queue_duplicate_mail(account) -> None:
    """Tell the owner of ``account`` that someone applied with its 統一編號 and email (not
    committed). While it is not activated, the mail leads to a new activation mail
    (重寄啟用信): 忘記密碼 ignores an account that was never activated."""
    resend_url = external_url("industry_auth.resend_activation")
    queue_mail(
        "duplicate_application",
        account,
        resend_url=resend_url if account.state == REQUESTED else None,
        in_review=account.state == PENDING_APPROVAL,
    )


def reapply(account, application: Application) -> None:
    """A rejected applicant applies again: the same account, the new data, back to review."""
    state = get_state()
    for f in fields(BasicData):
        setattr(account, f.name, getattr(application, f.name))
    account.locale = application.locale
    state.lifecycle.fire(account, "reapply")
    commit_and_dispatch()


def queue_activation_mail_unless_reviewed(account) -> None:
    """The activation mail for a new account, unless it waits for staff approval
    (``INDUSTRY_AUTH_REQUIRE_APPROVAL``): then approving it sends the mail."""
    if account.state == REQUESTED:
        queue_activation_mail(account)


def create_account(application: Application, account_type: str):
    """A new account in the lifecycle's initial state, added to the session."""
    state = get_state()
    account = state.models.Account(
        account_id=_unique_account_id(),
        account_type=account_type,
        state=state.lifecycle.initial,
        business_id=application.business_id,
        email_key=application.email.lower(),
        locale=application.locale,
        failed_logins=0,
        **{f.name: getattr(application, f.name) for f in fields(BasicData)},
    )
    rotate_sessions(account)
    state.db.session.add(account)
    return account


def queue_activation_mail(account) -> None:
    """Issue a fresh activation link (and, for a non-certificate account, a system password)
    and queue the mail holding them. Earlier links and system passwords stop working.

    The system password is a temporary credential like the forgot-password one: kept only as
    a hash, valid until the link expires (and a day after activation), working until the
    forced password change that follows it replaces it. Certificate accounts get no password: their
    credential is the card and its PIN.
    """
    state = get_state()
    seconds = current_app.config["INDUSTRY_AUTH_ACTIVATION_SECONDS"]
    expires_at = utcnow() + timedelta(seconds=seconds)
    token = passwords.new_token()
    account.activation_token_hash = passwords.token_hash(token)
    account.activation_expires_at = expires_at
    password = None
    if not account.is_certificate_account:
        password = state.adapter.generate_temporary_password()
        account.temp_password_hash = state.hasher.hash(password)
        account.temp_password_expires_at = expires_at
    queue_mail(
        "activation",
        account,
        password=password,
        activation_url=activation_url(token),
        expires_hours=seconds // 3600,
        # When the system password stops working (flows.activation gives it a day after a
        # late activation): the mail says so.
        expires_at=expires_at,
        password_hours=max(1, current_app.config["INDUSTRY_AUTH_TEMP_PASSWORD_SECONDS"] // 3600),
    )


def _unique_account_id() -> str:
    state = get_state()
    Account = state.models.Account
    for _ in range(20):
        candidate = state.adapter.generate_account_id().upper()
        taken = state.db.session.scalar(
            state.db.select(Account.id).where(Account.account_id == candidate)
        )
        if taken is None:
            return candidate
    raise RuntimeError("could not find a free account id; make the adapter's ids longer")
