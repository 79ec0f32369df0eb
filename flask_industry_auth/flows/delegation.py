"""Who may act for a company with a 自然人憑證: decided by the company or by staff.

A citizen card names a person, not a company. A card holder who applies for a company's
account with it, or binds it to a company's password account, gets a *pending* delegation;
until it is authorized the account is what it was (a new citizen account files on paper; a
password account keeps its password and stays paper-only). Authorization comes from staff
(:func:`authorize_by_staff`, the default path) or from the company itself: its 工商憑證 signs
a consent naming the person's card and the 統一編號
(:func:`~.certificate.consent_to_delegation`).
The company's card (logged in to the company's certificate account) or staff may revoke it.
Every step is audited; no function here speaks HTTP.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from .. import signals
from ..audit import record
from ..certificates.identity import CardIdentity
from ..mail import commit_and_dispatch
from ..models import (
    BUSINESS_CERTIFICATE,
    CITIZEN_CERTIFICATE,
    DELEGATION_AUTHORIZED,
    DELEGATION_PENDING,
    DELEGATION_REVOKED,
    NON_CERTIFICATE,
)
from ..refusals import Refused
from ..signals import send_after_commit
from ..state import get_state
from . import rotate_sessions, utcnow


class DelegationRefused(Refused):
    """The delegation cannot take this step; ``reason`` (= ``code``) is ``not_pending``,
    ``not_authorized``, ``card_taken``, ``not_bindable`` or ``wrong_company`` (see
    :data:`~..refusals.CODES`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code=reason)
        self.reason = reason


def _locked(delegation):
    # Re-read under a row lock (PostgreSQL): two staff members approving at once, one wins.
    state = get_state()
    Delegation = _model()
    return state.db.session.scalar(
        sa.select(Delegation)
        .where(Delegation.id == delegation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _model():
    return get_state().models.Delegation


def request(account, identity: CardIdentity, *, binds: bool):
    """Ask for ``identity``'s citizen card to act for ``account``'s 統一編號 (added to the
    session, audited, not committed). An open request for the same card is reused."""
    state = get_state()
    Delegation = _model()
    existing = state.db.session.scalar(
        sa.select(Delegation).where(
            Delegation.account_pk == account.id,
            Delegation.card_issuer == identity.issuer,
            Delegation.card_serial == identity.serial,
            Delegation.status.in_((DELEGATION_PENDING, DELEGATION_AUTHORIZED)),
        )
    )
    if existing is not None:
        return existing
    delegation = Delegation(
        account_pk=account.id,
        business_id=account.business_id,
        card_issuer=identity.issuer,
        card_serial=identity.serial,
        holder=identity.subject[:500],
        binds=binds,
        status=DELEGATION_PENDING,
    )
    state.db.session.add(delegation)
    state.db.session.flush()
    record(
        account,
        event="delegation_requested",
        outcome="ok",
        detail=f"#{delegation.id} {identity.issuer} #{identity.serial}"[:200],
    )
    return delegation


def pending_for(account):
    """The account's delegation still waiting for authorization, or None."""
    Delegation = _model()
    return get_state().db.session.scalar(
        sa.select(Delegation)
        .where(Delegation.account_pk == account.id, Delegation.status == DELEGATION_PENDING)
        .order_by(Delegation.id.desc())
    )


def pending_binding(identity: CardIdentity) -> bool:
    """Whether ``identity``'s card waits for the company's authorization to be bound."""
    Delegation = _model()
    return (
        get_state().db.session.scalar(
            sa.select(Delegation.id).where(
                Delegation.card_issuer == identity.issuer,
                Delegation.card_serial == identity.serial,
                Delegation.binds.is_(True),
                Delegation.status == DELEGATION_PENDING,
            )
        )
        is not None
    )


def of_company(business_id: str) -> list:
    """The delegations for ``business_id``, pending and authorized first, newest first."""
    Delegation = _model()
    rows = get_state().db.session.scalars(
        sa.select(Delegation)
        .where(Delegation.business_id == business_id)
        .order_by(Delegation.id.desc())
    )
    order = {DELEGATION_PENDING: 0, DELEGATION_AUTHORIZED: 1, DELEGATION_REVOKED: 2}
    return sorted(rows, key=lambda d: order.get(d.status, 3))


def listed(status: str | None = None) -> list:
    """Every delegation (or those in ``status``), newest first: for staff."""
    Delegation = _model()
    query = sa.select(Delegation).order_by(Delegation.id.desc())
    if status is not None:
        query = query.where(Delegation.status == status)
    return list(get_state().db.session.scalars(query))


#: The largest id an INTEGER column holds: a larger one names no delegation.
MAX_ID = 2**31 - 1


def get(delegation_id: int):
    """The delegation with this id, or None (also for an id no INTEGER column holds, which
    the database would refuse with an error)."""
    if not 0 < delegation_id <= MAX_ID:
        return None
    return get_state().db.session.get(_model(), delegation_id)


def consent_document(delegation) -> bytes:
    """What the company's 工商憑證 signs to authorize ``delegation``: canonical JSON naming
    the person's card, the account and the 統一編號."""
    state = get_state()
    account = state.db.session.get(state.models.Account, delegation.account_pk)
    data = {
        "consent": "act for the company with this 自然人憑證",
        "delegation": delegation.id,
        "business_id": delegation.business_id,
        "account_id": account.account_id,
        "card_issuer": delegation.card_issuer,
        "card_serial": delegation.card_serial,
        "holder": delegation.holder,
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode()


def authorize(delegation, by: str, *, actor: str | None, consent: str | None = None) -> None:
    """Put ``delegation`` in force, authorized ``by`` (commits); binds the card when it
    was asked to. Raises :class:`DelegationRefused`."""
    delegation = _locked(delegation)
    if delegation.status != DELEGATION_PENDING:
        raise DelegationRefused("not_pending")
    state = get_state()
    account = state.db.session.get(state.models.Account, delegation.account_pk)
    if delegation.binds and account.account_type != NON_CERTIFICATE:
        raise DelegationRefused("not_bindable")
    if delegation.binds:
        taken = state.db.session.scalar(
            sa.select(state.models.Account.id).where(
                state.models.Account.certificate_issuer == delegation.card_issuer,
                state.models.Account.certificate_serial == delegation.card_serial,
                state.models.Account.id != account.id,
            )
        )
        if taken is not None:
            raise DelegationRefused("card_taken")
        # Now the account becomes the card's: it logs in with it and has no password.
        account.certificate_issuer = delegation.card_issuer
        account.certificate_serial = delegation.card_serial
        account.account_type = CITIZEN_CERTIFICATE
        account.password_hash = account.temp_password_hash = None
        account.temp_password_expires_at = None
        account.must_change_password = False
        rotate_sessions(account)
        send_after_commit(signals.card_bound, account=account)
    delegation.status = DELEGATION_AUTHORIZED
    delegation.authorized_at = utcnow()
    delegation.authorized_by = by[:600]
    delegation.consent = consent
    record(
        account,
        event="delegation_authorized",
        outcome="ok",
        actor=actor,
        detail=f"#{delegation.id} {by}"[:200],
    )
    try:
        commit_and_dispatch()
    except sa.exc.IntegrityError:
        # Another approval bound the same card to another account first.
        state.db.session.rollback()
        raise DelegationRefused("card_taken") from None


def authorize_by_staff(delegation, actor: str) -> None:
    """Staff authorize ``delegation`` (commits). Raises :class:`DelegationRefused`."""
    authorize(delegation, f"staff {actor}", actor=actor)


def revoke(delegation, actor: str, *, by: str | None = None) -> None:
    """Withdraw an authorized or pending delegation (commits): the account keeps its card
    but files on paper again. ``actor`` (audited) and ``by`` (kept on the delegation,
    default ``actor``) name staff or the company that revoked it."""
    delegation = _locked(delegation)
    if delegation.status == DELEGATION_REVOKED:
        raise DelegationRefused("not_authorized")
    state = get_state()
    account = state.db.session.get(state.models.Account, delegation.account_pk)
    delegation.status = DELEGATION_REVOKED
    delegation.revoked_at = utcnow()
    delegation.revoked_by = (by or actor)[:600]
    record(
        account,
        event="delegation_revoked",
        outcome="ok",
        actor=actor[:64],
        detail=f"#{delegation.id} {by or actor}"[:200],
    )
    commit_and_dispatch()


def revoke_by_staff(delegation, actor: str) -> None:
    """Staff withdraw ``delegation`` (commits). Raises :class:`DelegationRefused`."""
    revoke(delegation, actor, by=f"staff {actor}")


def of_account(account) -> list:
    """The account's delegations, newest first."""
    Delegation = _model()
    return list(
        get_state().db.session.scalars(
            sa.select(Delegation)
            .where(Delegation.account_pk == account.id)
            .order_by(Delegation.id.desc())
        )
    )


def revoke_by_company(company_account, delegation) -> None:
    """The company's certificate account (logged in with its card) revokes a delegation
    for its own 統一編號. Raises :class:`DelegationRefused` (``wrong_company``)."""
    if not company_account.can_file_electronically or (
        company_account.business_id != delegation.business_id
        or company_account.account_type != BUSINESS_CERTIFICATE
    ):
        raise DelegationRefused("wrong_company")
    revoke(delegation, f"company {company_account.account_id}")
