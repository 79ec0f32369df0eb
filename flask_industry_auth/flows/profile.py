"""Edit basic data (seed 一.4) and change the password (一.5)."""

from __future__ import annotations

from dataclasses import fields

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from .. import signals
from ..audit import record
from ..lifecycle import RESET
from ..mail import commit_and_dispatch, queue_mail
from ..passwords import PolicyContext, policy_problems
from ..signals import send_after_commit
from ..state import get_state
from . import BasicData, rotate_sessions, utcnow

PROFILE_FIELDS = tuple(f.name for f in fields(BasicData))


#: A profile change is the basic data without the 統一編號.
ProfileChange = BasicData


def update_profile(
    account, change: ProfileChange, current_password: str | None, *, confirmed_by_card=False
) -> list[str]:
    """Save ``change``. Returns problem codes and changes nothing when there are any:
    ``password_required`` / ``wrong_password`` (a new email needs the current password),
    ``email_taken`` (another account of this 統一編號 uses it).

    ``confirmed_by_card``: the account's card signed this change
    (:func:`~.certificate.confirm_profile`), which stands in for the password."""
    state = get_state()
    old_email = account.email
    email_changed = change.email.lower() != account.email_key
    if email_changed and not confirmed_by_card:
        if not current_password:
            return ["password_required"]
        if not state.hasher.verify(account.password_hash, current_password):
            record(account, event="profile_update", outcome="wrong_password")
            commit_and_dispatch()
            return ["wrong_password"]
    if email_changed:
        Account = state.models.Account
        taken = state.db.session.scalar(
            state.db.select(Account.id).where(
                Account.business_id == account.business_id,
                Account.email_key == change.email.lower(),
                Account.id != account.id,
            )
        )
        if taken is not None:
            return ["email_taken"]
    changed = [f for f in PROFILE_FIELDS if getattr(account, f) != getattr(change, f)]
    if not changed:
        return []
    for name in changed:
        setattr(account, name, getattr(change, name))
    account.email_key = account.email.lower()
    detail = ",".join(changed) + (" (card)" if confirmed_by_card else "")
    record(account, event="profile_update", outcome="ok", detail=detail)
    if email_changed:
        # Both addresses hear of it: the old one in case this was not the owner.
        for recipient in (old_email, account.email):
            queue_mail("email_changed", account, recipient=recipient, old_email=old_email)
    try:
        commit_and_dispatch()
    except IntegrityError:
        # Another account of this 統一編號 took the address at the same moment: the check
        # above passed for both, the unique constraint lets one of them through.
        state.db.session.rollback()
        return ["email_taken"]
    return []


def change_password(
    account, old_password: str | None, new_password: str, *, forced: bool = False
) -> list[str]:
    """Set a new password. Returns problem codes and changes nothing when there are any:
    ``wrong_old_password`` and the policy's (``too_short``, ``too_long``, ``common``,
    ``contains_identifier``, ``reused``).

    ``forced`` is the first change after a system-issued password, which the applicant
    has just used to log in; the old password is then not asked again. The system-issued
    password stays valid until this change replaces it (it is withdrawn here, once).

    Concurrent changes of one account: the new hash replaces the one the change was checked
    against, or nothing (a compare-and-set in SQL, on SQLite too), so exactly one wins and
    the history keeps each replaced hash once. The others are told ``wrong_old_password``
    (the old password they gave is no longer the current one; after a forced change,
    ``reused``: the form has no old password).
    """
    state = get_state()
    config = current_app.config
    if account.is_certificate_account:
        return ["certificate_account"]
    if not forced and not state.hasher.verify(account.password_hash, old_password or ""):
        record(account, event="change_password", outcome="wrong_old_password")
        commit_and_dispatch()
        return ["wrong_old_password"]
    keep = config["INDUSTRY_AUTH_PASSWORD_HISTORY"]
    History = state.models.PasswordHistory
    older = state.db.session.scalars(
        state.db.select(History.password_hash)
        .where(History.account_pk == account.id)
        .order_by(History.id.desc())
        .limit(max(keep - 1, 0))
    ).all()
    context = PolicyContext(
        identifiers=state.adapter.password_identifiers(account),
        # The mailed temporary password is never kept as the account's own: it sits in a
        # mailbox, and it stays valid until this change replaces it.
        history=(
            *((account.temp_password_hash,) if account.temp_password_hash else ()),
            *tuple(h for h in (account.password_hash, *older) if h)[:keep],
        ),
    )
    problems = policy_problems(
        new_password,
        context,
        hasher=state.hasher,
        min_length=config["INDUSTRY_AUTH_PASSWORD_MIN_LENGTH"],
        max_length=config["INDUSTRY_AUTH_PASSWORD_MAX_LENGTH"],
    )
    if problems:
        record(account, event="change_password", outcome="policy", detail=",".join(problems))
        commit_and_dispatch()
        return problems

    old_hash, new_hash = account.password_hash, state.hasher.hash(new_password)
    if not _replace_hash(state, account, old_hash, new_hash):
        code = "reused" if forced else "wrong_old_password"
        record(account, event="change_password", outcome="concurrent", detail=code)
        commit_and_dispatch()
        return [code]
    if old_hash:
        state.db.session.add(History(account_pk=account.id, password_hash=old_hash))
    account.password_changed_at = utcnow()
    account.must_change_password = False
    if account.state == RESET:
        state.lifecycle.fire(account, "cancel_reset")
    account.temp_password_hash = account.temp_password_expires_at = None
    rotate_sessions(account)  # every other session ends; the view logs this one in again
    _prune_history(state, account, keep)
    record(account, event="change_password", outcome="ok")
    queue_mail("password_changed", account)
    send_after_commit(signals.password_changed, account=account)
    commit_and_dispatch()
    return []


def _replace_hash(state, account, old_hash: str | None, new_hash: str) -> bool:
    """Store ``new_hash`` if the stored hash is still ``old_hash``. From here to the commit
    the row stays locked (PostgreSQL) or the database write-locked (SQLite)."""
    Account = state.models.Account
    current = (
        Account.password_hash.is_(None) if old_hash is None else (Account.password_hash == old_hash)
    )
    replaced = state.db.session.execute(
        sa.update(Account)
        .where(Account.id == account.id, current)
        .values(password_hash=new_hash)
        .execution_options(synchronize_session=False)
    ).rowcount
    if replaced != 1:
        state.db.session.refresh(account)  # what the winner stored
        return False
    set_committed_value(account, "password_hash", new_hash)
    return True


def _prune_history(state, account, keep: int) -> None:
    History = state.models.PasswordHistory
    state.db.session.flush()
    stale = state.db.session.scalars(
        state.db.select(History)
        .where(History.account_pk == account.id)
        .order_by(History.id.desc())
        .offset(keep)
    ).all()
    for row in stale:
        state.db.session.delete(row)
