"""Certificate accounts: challenges, certificate login, applying and binding a card.

Unlike a password failure, a refused certificate gets its precise reason on screen (expired,
revoked, untrusted, wrong card, wrong company): the applicant holds the card, and the reason
is what lets them act. Every refusal is audited.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, is_dataclass
from dataclasses import fields as dc_fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import Encoding
from flask import current_app

from .. import passwords, signals
from ..audit import record
from ..certificates.cms import verify_signed_challenge
from ..certificates.errors import CertificateRefused
from ..certificates.identity import BUSINESS, CITIZEN, CardIdentity, card_identity
from ..certificates.validation import ValidatedCard, validate
from ..lifecycle import REQUESTED
from ..mail import commit_and_dispatch
from ..models import BUSINESS_CERTIFICATE, CITIZEN_CERTIFICATE, NON_CERTIFICATE
from ..signals import send_after_commit
from ..state import get_state
from . import delegation as delegation_flow
from . import utcnow
from .authentication import LoginResult
from .links import portal_origin
from .profile import update_profile
from .registration import (
    Application,
    create_account,
    queue_activation_mail_unless_reviewed,
    queue_duplicate_mail,
)

PURPOSES = ("login", "apply", "bind", "profile", "sign")
#: Purposes whose challenge also names a document (its label and SHA-256): the card signs
#: that exact document, so the signature is evidence of it.
DOCUMENT_PURPOSES = ("profile", "sign")
_LABEL = re.compile(r"[A-Za-z0-9._-]{1,64}")


def document_binding(label: str, document: bytes) -> str:
    """What a document challenge names: ``<label>:<SHA-256 hex of document>``. ``label`` says
    what is signed (``filing``, ``profile``, ...): letters, digits, ``._-``, 64 at most."""
    if not _LABEL.fullmatch(label):
        raise ValueError(f"a document label is 1-64 of A-Z a-z 0-9 . _ -, not {label!r}")
    return f"{label}:{hashlib.sha256(document).hexdigest()}"


def challenge_prefix(purpose: str) -> str:
    """What every challenge for ``purpose`` starts with: the package, the purpose and the
    portal's origin, so a signature made for one portal or one purpose is good for no other."""
    return f"flask_industry_auth:{purpose}:{portal_origin()}:"


def new_challenge(purpose: str, document: str | None = None) -> str:
    """A random challenge for ``purpose``, single-use and short-lived; for a document
    purpose it ends with the :func:`document_binding`. Commits; expired challenges are
    deleted on the way, so the table holds only live ones."""
    assert purpose in PURPOSES
    assert (purpose in DOCUMENT_PURPOSES) == (document is not None), purpose
    state = get_state()
    value = challenge_prefix(purpose) + secrets.token_urlsafe(32)
    if document is not None:
        value += ":" + document
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


@dataclass(frozen=True)
class VerifiedSignature:
    """A card's signature over a challenge, verified: who it speaks for, the validated
    certificate path with its revocation answer, the CMS as received, the signed text and
    when it was checked."""

    identity: CardIdentity
    card: ValidatedCard
    signature: str
    signed_text: str
    verified_at: datetime


def verify_signature(
    signature: str, challenge: str | None, purpose: str, document: str | None = None
) -> VerifiedSignature:
    """Check the signature over this session's ``challenge``, use the challenge up, and
    validate the card. For a document purpose the challenge must name ``document`` (its
    :func:`document_binding`). Raises :class:`CertificateRefused`."""
    if not challenge or not challenge.startswith(challenge_prefix(purpose)):
        raise CertificateRefused("challenge_expired")
    if (purpose in DOCUMENT_PURPOSES) and (
        document is None or not challenge.endswith(":" + document)
    ):
        raise CertificateRefused("wrong_content", "the challenge names another document")
    signed = verify_signed_challenge(signature, challenge.encode())
    _consume(challenge, purpose)
    state = get_state()
    card = validate(signed.signer, signed.certificates, state.trust, state.revocation)
    # The type comes from the CA that issued the card, never from what the card carries.
    identity = card_identity(card.certificate, card.issuer.kind, card.issuer.key_id)
    if identity.attached and not current_app.config["INDUSTRY_AUTH_CERT_ALLOW_ATTACHED_CARDS"]:
        raise CertificateRefused("attached_card")
    return VerifiedSignature(identity, card, signature, challenge, utcnow())


def verify(signature: str, challenge: str | None, purpose: str) -> CardIdentity:
    """:func:`verify_signature`, when only who the card speaks for matters."""
    return verify_signature(signature, challenge, purpose).identity


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
        if identity.kind == CITIZEN and delegation_flow.pending_binding(identity):
            raise CertificateRefused("binding_pending")
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
    if existing is None:
        # One account per company and email address, whatever its type (a unique key).
        existing = state.db.session.scalar(
            sa.select(Account).where(
                Account.business_id == application.business_id,
                Account.email_key == application.email.lower(),
            )
        )
    if existing is not None:
        # One account per card (and per company for 工商憑證): tell the owner, not the screen.
        record(existing, event="apply", outcome="duplicate", from_state=existing.state)
        queue_duplicate_mail(existing)
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
    if identity.kind == CITIZEN:
        # A person's card: it files for the company only once the company or staff agree.
        delegation_flow.request(account, identity, binds=False)
    queue_activation_mail_unless_reviewed(account)
    send_after_commit(signals.applied, account=account)
    commit_and_dispatch()


def bind_citizen_card(account, signature: str, challenge: str | None):
    """Ask to bind a 自然人憑證 to ``account`` (logged in). Returns the pending
    :mod:`~.delegation`: the account stays what it was (its password, paper filing) until
    staff or the company's 工商憑證 authorize it; then it logs in with the card, has no
    password and may file electronically. Raises :class:`CertificateRefused`."""
    try:
        if account.account_type != NON_CERTIFICATE:
            # A company's 工商憑證 account (or one already bound) is never handed to a person.
            raise CertificateRefused("wrong_card", "only a password account binds a card")
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
    delegation = delegation_flow.request(account, identity, binds=True)
    record(
        account,
        event="certificate_bind",
        outcome="pending",
        detail=f"{identity.issuer} #{identity.serial}"[:200],
    )
    commit_and_dispatch()
    return delegation


# -- documents signed by the card: host filings, basic-data changes ----------------------------


@dataclass(frozen=True)
class Evidence:
    """What proves that an account's card signed a document: keep it with the document.

    ``signature`` is the CMS SignedData (base64) over ``signed_text``, which names the
    portal, the purpose, the document's label and SHA-256; ``certificate`` and ``chain`` are
    PEM; ``revocation`` is what the revocation check answered (see
    :class:`~..certificates.revocation.RevocationAnswer`); ``verified_at`` is UTC.
    """

    account_id: str
    business_id: str
    label: str
    document_sha256: str
    signed_text: str
    signature: str
    certificate: str
    chain: tuple[str, ...]
    card_issuer: str
    card_serial: str
    revocation: Any
    verified_at: datetime
    #: For a 自然人憑證: the delegation that lets it act for ``business_id``, and who gave it.
    delegation_id: int | None = None
    authorized_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The evidence as JSON-ready data (bytes as base64, times as ISO 8601)."""
        return {
            "account_id": self.account_id,
            "business_id": self.business_id,
            "label": self.label,
            "document_sha256": self.document_sha256,
            "signed_text": self.signed_text,
            "signature": self.signature,
            "certificate": self.certificate,
            "chain": list(self.chain),
            "card_issuer": self.card_issuer,
            "card_serial": self.card_serial,
            "revocation": _jsonable(self.revocation),
            "verified_at": self.verified_at.isoformat(),
            "delegation_id": self.delegation_id,
            "authorized_by": self.authorized_by,
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dc_fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _pem(cert) -> str:
    return cert.public_bytes(Encoding.PEM).decode()


def _is_accounts_card(account, identity: CardIdentity) -> bool:
    # The card the account logs in with; a renewed 工商憑證 is the company's all the same
    # (a login with it rebinds the account).
    if (account.certificate_issuer, account.certificate_serial) == (
        identity.issuer,
        identity.serial,
    ):
        return True
    return (
        identity.kind == BUSINESS
        and account.account_type == BUSINESS_CERTIFICATE
        and account.business_id == identity.business_id
    )


def _verify_for_account(account, signature, challenge, purpose, binding, event, detail):
    """Verify a document signature by ``account``'s own card; audit a refusal and raise."""
    try:
        if not account.is_certificate_account:
            raise CertificateRefused("wrong_card", "the account has no card")
        verified = verify_signature(signature, challenge, purpose, binding)
        if not _is_accounts_card(account, verified.identity):
            raise CertificateRefused("wrong_card", "not the account's own card")
    except CertificateRefused as refused:
        record(
            account,
            event=event,
            outcome=refused.reason,
            detail=(f"{detail} {refused.detail}" if refused.detail else detail)[:200],
        )
        commit_and_dispatch()
        raise
    return verified


def _evidence(account, label: str, binding: str, verified: VerifiedSignature, delegation=None):
    return Evidence(
        account_id=account.account_id,
        business_id=account.business_id,
        label=label,
        document_sha256=binding.rsplit(":", 1)[1],
        signed_text=verified.signed_text,
        signature=verified.signature,
        certificate=_pem(verified.card.certificate),
        chain=tuple(_pem(c) for c in verified.card.chain[1:]),
        card_issuer=verified.identity.issuer,
        card_serial=verified.identity.serial,
        revocation=verified.card.revocation,
        verified_at=verified.verified_at,
        delegation_id=delegation.id if delegation is not None else None,
        authorized_by=delegation.authorized_by if delegation is not None else None,
    )


def sign_document(account, label: str, document: bytes, signature: str, challenge: str | None):
    """Verify that ``account``'s card signed ``document`` (for ``label``) over this
    session's challenge, with the trust and revocation rules of a login. Returns the
    :class:`Evidence` (audited, and sent with the ``document_signed`` signal after the
    commit); raises :class:`CertificateRefused` (audited): ``no_delegation`` for a
    自然人憑證 account the company has not authorized."""
    binding = document_binding(label, document)
    delegation = account.delegation if account.account_type == CITIZEN_CERTIFICATE else None
    if account.account_type == CITIZEN_CERTIFICATE and delegation is None:
        refused = CertificateRefused("no_delegation")
        record(account, event="document_signed", outcome=refused.reason, detail=binding[:200])
        commit_and_dispatch()
        raise refused
    verified = _verify_for_account(
        account, signature, challenge, "sign", binding, "document_signed", binding
    )
    evidence = _evidence(account, label, binding, verified, delegation)
    record(account, event="document_signed", outcome="ok", detail=binding[:200])
    send_after_commit(signals.document_signed, account=account, evidence=evidence)
    commit_and_dispatch()
    return evidence


def profile_document(account, change) -> bytes:
    """The basic-data change a certificate account confirms with its card, as signed:
    canonical JSON of the account and every field."""
    data = {"account_id": account.account_id, "business_id": account.business_id}
    data.update({f.name: getattr(change, f.name) for f in dc_fields(change)})
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode()


def confirm_profile(account, change, signature: str, challenge: str | None) -> list[str]:
    """Save a certificate account's basic-data ``change`` (email included), confirmed by a
    fresh signature of its own card over exactly that change instead of a password.
    Returns problem codes as :func:`~.profile.update_profile`; raises
    :class:`CertificateRefused` (audited) when the card is refused."""
    binding = document_binding("profile", profile_document(account, change))
    _verify_for_account(account, signature, challenge, "profile", binding, "profile_update", "")
    return update_profile(account, change, None, confirmed_by_card=True)


def consent_to_delegation(delegation, signature: str, challenge: str | None) -> None:
    """The company's own 工商憑證 signed the consent of ``delegation``
    (:func:`~.delegation.consent_document`): it is authorized, the signature kept as the
    consent (commits). Raises :class:`CertificateRefused` (audited) when the card is not the
    company's, or :class:`~.delegation.DelegationRefused`."""
    state = get_state()
    account = state.db.session.get(state.models.Account, delegation.account_pk)
    binding = document_binding("delegation", delegation_flow.consent_document(delegation))
    try:
        verified = verify_signature(signature, challenge, "sign", binding)
        identity = verified.identity
        if identity.kind != BUSINESS:
            raise CertificateRefused("wrong_card", "a consent needs the company's 工商憑證")
        if identity.business_id != delegation.business_id:
            raise CertificateRefused("wrong_company")
        if identity.attached:  # an employee's 附卡 never speaks for the company here
            raise CertificateRefused("attached_card")
    except CertificateRefused as refused:
        record(account, event="delegation_authorized", outcome=refused.reason)
        commit_and_dispatch()
        raise
    # Kept whole, so that the consent can be verified again later without the portal.
    consent = _evidence(account, "delegation", binding, verified).to_dict()
    consent.update(signer_business_id=identity.business_id)
    try:
        delegation_flow.authorize(
            delegation,
            f"company card {identity.issuer} #{identity.serial}",
            actor=None,
            consent=json.dumps(consent, ensure_ascii=False, sort_keys=True),
        )
    except delegation_flow.DelegationRefused as refused:
        record(account, event="delegation_authorized", outcome=refused.reason)
        commit_and_dispatch()
        raise
