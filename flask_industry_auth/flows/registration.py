"""Apply for a non-certificate account (seed 一.1) and the activation mail (一.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError

from .. import passwords
from ..audit import record
from ..extension import get_state
from ..mail import commit_and_dispatch, queue_mail
from ..models import NON_CERTIFICATE
from . import BasicData, rotate_sessions, utcnow
from .links import activation_url


@dataclass(frozen=True)
class Application(BasicData):
    """A validated application (see ``forms.RegistrationForm``)."""

    business_id: str
    locale: str = "zh_Hant_TW"


def apply(application: Application) -> None:
    """Create an account in the lifecycle's initial state and queue its activation mail.

    A second application for the same 統一編號 and email creates nothing: the existing owner
    gets a mail instead, and the applicant sees the same answer (no enumeration).
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
    if existing is not None:
        state.hasher.hash(passwords.new_token())  # same work as a real application
        record(
            existing,
            event="apply",
            outcome="duplicate",
            from_state=existing.state,
            to_state=existing.state,
        )
        queue_mail("duplicate_application", existing)
        commit_and_dispatch()
        return

    account = state.models.Account(
        account_id=_unique_account_id(),
        account_type=NON_CERTIFICATE,
        state=state.lifecycle.initial,
        business_name=application.business_name,
        business_id=application.business_id,
        responsible_person=application.responsible_person,
        contact_person=application.contact_person,
        phone=application.phone,
        phone_ext=application.phone_ext,
        address=application.address,
        email=application.email,
        email_key=application.email.lower(),
        locale=application.locale,
        failed_logins=0,
    )
    rotate_sessions(account)
    state.db.session.add(account)
    state.db.session.flush()
    record(account, event="apply", outcome="ok", to_state=account.state)
    queue_activation_mail(account)
    commit_and_dispatch()


def queue_activation_mail(account) -> None:
    """Issue a fresh activation link and system password and queue the mail holding them.

    The system password is a temporary credential like the forgot-password one: kept only as
    a hash, valid until the link expires (and a day after activation), usable once, and
    followed by a forced password change. Earlier links and system passwords stop working.
    """
    state = get_state()
    seconds = current_app.config["INDUSTRY_AUTH_ACTIVATION_SECONDS"]
    expires_at = utcnow() + timedelta(seconds=seconds)
    token = passwords.new_token()
    account.activation_token_hash = passwords.token_hash(token)
    account.activation_expires_at = expires_at
    password = state.adapter.generate_temporary_password()
    account.temp_password_hash = state.hasher.hash(password)
    account.temp_password_expires_at = expires_at
    queue_mail(
        "activation",
        account,
        password=password,
        activation_url=activation_url(token),
        expires_hours=seconds // 3600,
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
