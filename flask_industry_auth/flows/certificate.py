"""Certificate accounts: challenges, certificate login, applying and binding a card.

Unlike a password failure, a refused certificate gets its precise reason on screen (expired,
revoked, untrusted, wrong card, wrong company): the applicant holds the card, and the reason
is what lets them act. Every refusal is audited.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from .. import passwords, signals
from ..audit import record
from ..certificates.cms import verify_signed_challenge
from ..certificates.errors import CertificateRefused
from ..certificates.identity import BUSINESS, CITIZEN, CardIdentity, card_identity
from ..certificates.validation import validate
from ..lifecycle import REQUESTED
from ..mail import commit_and_dispatch, queue_mail
from ..models import BUSINESS_CERTIFICATE, CITIZEN_CERTIFICATE
from ..signals import send_after_commit
from ..state import get_state
from . import rotate_sessions, utcnow
from .authentication import LoginResult
from .links import portal_origin
from .registration import Application, create_account, queue_activation_mail_unless_reviewed

PURPOSES = ("login", "apply", "bind")


def challenge_prefix(purpose: str) -> str:
    """What every challenge for ``purpose`` starts with: the package, the purpose and the
    portal's origin, so a signature made for one portal or one purpose is good for no other."""
    return f"flask_industry_auth:{purpose}:{portal_origin()}:"


def new_challenge(purpose: str) -> str:
    """A random challenge for ``purpose``, single-use and short-lived. Commits; expired
    challenges are deleted on the way, so the table holds only live ones."""
    assert purpose in PURPOSES
    state = get_state()
    value = challenge_prefix(purpose) + secrets.token_urlsafe(32)
    seconds = current_app.config["INDUSTRY_AUTH_CERT_CHALLENGE_SECONDS"]
    table = state.models.Challenge.__table__
    now = utcnow()
    state.db.session.execute(sa.delete(table).where(table.c.expires_at < now))
    state.db.session.add(
        state.models.Challenge(
            digest=passwords.token_hash(value),
            purpose=purpose,
            expires_at=now + timedelta(seconds=seconds),
        )
    )
    state.db.session.commit()
    return value


def verify(signature: str, challenge: str | None, purpose: str) -> CardIdentity:
    """Check the signature over this session's ``challenge``, use the challenge up, and
    validate the card. Returns who the card speaks for; raises :class:`CertificateRefused`."""
    if not challenge or not challenge.startswith(challenge_prefix(purpose)):
        raise CertificateRefused("challenge_expired")
    signed = verify_signed_challenge(signature, challenge.encode())
    _consume(challenge, purpose)
    state = get_state()
    chain = validate(signed.signer, signed.certificates, state.anchors, state.revocation)
    return card_identity(chain[0])  # refuses a card of another kind, or a confused one


def _consume(challenge: str, purpose: str) -> None:
    # Deleted as it is used: one conditional DELETE, so two uses race and one loses.
    state = get_state()
    table = state.models.Challenge.__table__
    used = state.db.session.execute(
        sa.delete(table).where(
            table.c.digest == passwords.token_hash(challenge),
            table.c.purpose == purpose,
            table.c.expires_at >= utcnow(),
        )
    )
    state.db.session.commit()
    if used.rowcount != 1:
        raise CertificateRefused("challenge_expired")


def _refused(account, event: str, refused: CertificateRefused) -> None:
    record(
        account,
        event=event,
        outcome=refused.reason,
        detail=refused.detail or None,
        from_state=getattr(account, "state", None),
    )
    commit_and_dispatch()


def login(signature: str, challenge: str | None) -> LoginResult:
    """Log in with a card. ``reason`` is ``"ok"`` or a :data:`~..errors.REASONS` code."""
    try:
        identity = verify(signature, challenge, "login")
        account = _account_for(identity)
    except CertificateRefused as refused:
        send_after_commit(
            signals.login_failed, account=None, account_id=None, reason=refused.reason
        )
        _refused(None, "certificate_login", refused)
        return LoginResult(None, refused.reason)
    state = get_state()
    lifecycle = state.lifecycle
    if account.state == REQUESTED:
        reason = "not_activated"
    elif not lifecycle.can_log_in(account.state):
        reason = "not_allowed"
    else:
        reason = "ok"
        account.last_login_at = utcnow()
    if reason == "ok":
        send_after_commit(signals.logged_in, account=account, method="certificate")
    else:
        send_after_commit(
            signals.login_failed, account=account, account_id=account.account_id, reason=reason
        )
    record(
        account,
        event="certificate_login",
        outcome=reason,
        from_state=account.state,
        detail=f"{identity.issuer} #{identity.serial}"[:200],
    )
    commit_and_dispatch()
    return LoginResult(account, reason)


def _account_for(identity: CardIdentity):
    state = get_state()
    Account = state.models.Account
    account = state.db.session.scalar(
        sa.select(Account).where(
            Account.certificate_issuer == identity.issuer,
            Account.certificate_serial == identity.serial,
        )
    )
    if account is None and identity.kind == BUSINESS:
        # A renewed 工商憑證 has a new serial but the same 統一編號: follow the company.
        account = _business_account(identity.business_id)
        if account is not None:
            record(
                account,
                event="certificate_rebound",
                outcome="ok",
                detail=f"{identity.issuer} #{identity.serial}"[:200],
            )
            account.certificate_issuer, account.certificate_serial = (
                identity.issuer,
                identity.serial,
            )
    if account is None:
        raise CertificateRefused("no_account")
    if identity.kind == BUSINESS and (
        account.account_type != BUSINESS_CERTIFICATE or account.business_id != identity.business_id
    ):
        raise CertificateRefused("wrong_company")
    if identity.kind == CITIZEN and account.account_type != CITIZEN_CERTIFICATE:
        raise CertificateRefused("wrong_card")
    return account


def _business_account(business_id: str | None):
    state = get_state()
    Account = state.models.Account
    return state.db.session.scalar(
        sa.select(Account).where(
            Account.account_type == BUSINESS_CERTIFICATE, Account.business_id == business_id
        )
    )


def apply(application: Application, signature: str, challenge: str | None) -> None:
    """Apply for a certificate account: the form's data plus a signature by the card.

    A 工商憑證 must carry the form's 統一編號. The activation mail holds the account id and
    link but no password: the card's PIN is the credential. Raises :class:`CertificateRefused`
    (and stores nothing) when the card is refused.
    """
    try:
        identity = verify(signature, challenge, "apply")
        if identity.kind == BUSINESS and identity.business_id != application.business_id:
            raise CertificateRefused("wrong_company")
    except CertificateRefused as refused:
        _refused(None, "certificate_apply", refused)
        raise
    state = get_state()
    Account = state.models.Account
    existing = (
        _business_account(identity.business_id)
        if identity.kind == BUSINESS
        else state.db.session.scalar(
            sa.select(Account).where(
                Account.certificate_issuer == identity.issuer,
                Account.certificate_serial == identity.serial,
            )
        )
    )
    if existing is not None:
        # One account per card (and per company for 工商憑證): tell the owner, not the screen.
        record(existing, event="apply", outcome="duplicate", from_state=existing.state)
        queue_mail("duplicate_application", existing)
        commit_and_dispatch()
        return
    account = create_account(
        application,
        BUSINESS_CERTIFICATE if identity.kind == BUSINESS else CITIZEN_CERTIFICATE,
    )
    account.certificate_issuer, account.certificate_serial = identity.issuer, identity.serial
    state.db.session.flush()
    record(
        account,
        event="apply",
        outcome="ok",
        to_state=account.state,
        detail=f"{identity.issuer} #{identity.serial}"[:200],
    )
    queue_activation_mail_unless_reviewed(account)
    send_after_commit(signals.applied, account=account)
    commit_and_dispatch()


def bind_citizen_card(account, signature: str, challenge: str | None) -> None:
    """Bind a 自然人憑證 to ``account`` (logged in): later logins with that card reach it.

    The account becomes a citizen-certificate account: it logs in with the card from now on,
    and its password is withdrawn. Raises :class:`CertificateRefused`.
    """
    try:
        identity = verify(signature, challenge, "bind")
        if identity.kind != CITIZEN:
            raise CertificateRefused("wrong_card", "not a citizen certificate")
        state = get_state()
        Account = state.models.Account
        taken = state.db.session.scalar(
            sa.select(Account.id).where(
                Account.certificate_issuer == identity.issuer,
                Account.certificate_serial == identity.serial,
                Account.id != account.id,
            )
        )
        if taken is not None:
            raise CertificateRefused("wrong_card", "bound to another account")
    except CertificateRefused as refused:
        _refused(account, "certificate_bind", refused)
        raise
    account.certificate_issuer, account.certificate_serial = identity.issuer, identity.serial
    account.account_type = CITIZEN_CERTIFICATE
    account.password_hash = account.temp_password_hash = account.temp_password_expires_at = None
    account.must_change_password = False
    rotate_sessions(account)
    record(
        account,
        event="certificate_bind",
        outcome="ok",
        detail=f"{identity.issuer} #{identity.serial}"[:200],
    )
    send_after_commit(signals.card_bound, account=account)
    commit_and_dispatch()
