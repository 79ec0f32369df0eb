"""The agency's side of accounts (申請, 建立, 修改, 啟用, 停用, 刪除): find, act, audit.

Used by ``flask industry-auth`` and the admin blueprint; no HTTP here. Every state change goes
through the lifecycle (:meth:`Lifecycle.fire`), so a transition a host adds is an operator
action too, and each is audited with the operator as actor.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import ARRAY

from ..config import MIN_AUDIT_RETENTION_DAYS
from ..lifecycle import DELETED, REQUESTED, IllegalTransition
from ..lifecycle import ReasonRequired as LifecycleReasonRequired
from ..mail import commit_and_dispatch
from ..refusals import Refused
from ..state import get_state
from ..validators import has_bad_characters, normalize_business_id
from . import find_account, utcnow
from .activation import reissue


class OperationRefused(Refused):
    """An operator action that cannot be done as asked (``code``: see ``refusals.CODES``).
    Nothing was changed."""

    code = "not_operator_event"


class AccountNotFound(OperationRefused):
    """No account has this account id."""

    code = "account_not_found"


class ReasonRequired(OperationRefused, LifecycleReasonRequired):
    """The event needs a reason (its transition says so: ``requires_reason``)."""

    code = "reason_required"


class ReasonTooLong(OperationRefused):
    """The reason is longer than the audit trail keeps: refused, never cut."""

    code = "reason_too_long"


#: The longest reason the audit trail keeps (its ``detail`` column).
MAX_REASON_LENGTH = 200


#: A search counts its matches up to this many; past it the pages say "more than 1000" (a
#: count of two million rows would cost more than the page itself, and no one pages that far).
COUNT_CAP = 1_000


@dataclass(frozen=True)
class Page:
    """One page of search results. ``total`` is exact unless ``more`` says that more than
    ``total`` accounts matched (counting stopped at :data:`COUNT_CAP`, or at this page)."""

    accounts: list
    total: int
    page: int
    per_page: int
    more: bool = False

    @property
    def pages(self) -> int:
        """How many pages ``total`` fills (more follow when ``more``)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        """Whether a next page has accounts."""
        return self.page < self.pages or self.more


def search(
    *,
    text: str | None = None,
    business_id: str | None = None,
    account_id: str | None = None,
    email: str | None = None,
    state: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """Accounts matching every given filter, newest first. ``text`` matches an account id,
    統一編號 or email exactly, or a part of the business name (any case; ``%`` and ``_`` are
    themselves).

    On PostgreSQL a part of the name is found through the GIN index of the names' one- and
    two-character substrings (``industry_auth_name_grams``); elsewhere by a LIKE scan.
    """
    ia = get_state()
    Account = ia.models.Account
    session = ia.db.session
    filters = (text, business_id, account_id, email, state)
    if any(has_bad_characters(value) for value in filters if value):
        # Nothing stored holds a control character (and PostgreSQL refuses NUL in a query).
        return Page([], 0, 1, per_page)
    conditions = []
    if business_id:
        conditions.append(Account.business_id == normalize_business_id(business_id))
    if account_id:
        conditions.append(Account.account_id == account_id.strip().upper())
    if email:
        conditions.append(Account.email_key == email.strip().lower())
    if state:
        conditions.append(Account.state == state)
    # Bounded: a page number from a URL must not overflow the database's integers.
    page, per_page = min(max(1, page), 100_000), min(max(1, per_page), 200)
    offset = (page - 1) * per_page
    # Counted up to the cap (or to this page), and one more to know there are more.
    cap = max(COUNT_CAP, page * per_page)
    count_where = rows_where = conditions
    if text:
        text = text.strip()
        exact = sa.or_(
            Account.account_id == text.upper(),
            Account.business_id == normalize_business_id(text),
            Account.email_key == text.lower(),
        )
        like = _name_like(Account, text)
        grams = name_grams(text) if session.get_bind().dialect.name == "postgresql" else []
        if grams:
            indexed = _grams_indexed(Account, grams, conditions)
            # Counting stops at cap + 1 names: through the name index (a bitmap of the names
            # holding the grams, visited until enough match) that is never more than that.
            count_where = [*conditions, sa.or_(exact, sa.and_(indexed.conditions[-1], like))]
        else:
            count_where = rows_where = [*conditions, sa.or_(exact, like)]
    matching = sa.select(Account.id).where(*count_where).limit(cap + 1).subquery()
    with _plain_plans(session):
        total = session.scalar(sa.select(sa.func.count()).select_from(matching))
        if text and grams:
            # The count, exact up to the cap, tells how common the text is (the planner's
            # estimate of a gram is often tens of times off): fewer than the cap, and the
            # name index finds them all cheaply; more, and reading the newest accounts finds
            # a page of them after about accounts / total rows.
            common = total > cap and indexed.accounts > offset + per_page
            rows_where = [*conditions, _text_match(Account, exact, like, indexed, common)]
        rows = session.scalars(
            sa.select(Account)
            .where(*rows_where)
            # Served by ix_industry_auth_account_created (created_at, id), read backwards.
            .order_by(Account.created_at.desc(), Account.id.desc())
            .limit(per_page)
            .offset(offset)
        ).all()
    return Page(list(rows), min(total, cap), page, per_page, more=total > cap)


_PLAIN = {"jit": "off", "max_parallel_workers_per_gather": "0"}


@contextmanager
def _plain_plans(session) -> Iterator[None]:
    """On PostgreSQL, no JIT and no parallel workers for these few statements: the planner
    cannot estimate a LIKE on a name, so it expects a LIMITed scan to read the whole table and
    spends 50-100 ms compiling it or starting workers, for a scan that stops after a few
    thousand rows. The transaction's own settings are back afterwards."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    names = list(_PLAIN)
    before = session.execute(sa.select(*(sa.func.current_setting(name) for name in names))).one()
    session.execute(sa.select(*(sa.func.set_config(n, _PLAIN[n], True) for n in names)))
    try:
        yield
    finally:
        session.execute(
            sa.select(*(sa.func.set_config(n, v, True) for n, v in zip(names, before, strict=True)))
        )


def _name_like(Account, text: str) -> sa.ColumnElement:
    """The business name holds ``text``, in any case, ``%`` and ``_`` as themselves."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    # lower() in SQL on both sides, so the database's own case rules apply alike.
    return sa.func.lower(Account.business_name).contains(sa.func.lower(escaped), escape="/")


class _Indexed:
    """The name-index condition for some grams (with the other filters), and about how many
    accounts there are."""

    def __init__(self, conditions: list, accounts: float) -> None:
        self.conditions, self.accounts = conditions, accounts


def _grams_indexed(Account, grams: list[str], conditions: list) -> _Indexed:
    session = get_state().db.session
    function = sa.func.industry_auth_name_grams(Account.business_name, type_=ARRAY(sa.Text))
    condition = function.contains(sa.cast(grams, ARRAY(sa.Text)))
    accounts = session.scalar(
        sa.select(sa.column("reltuples"))
        .select_from(sa.table("pg_class"))
        .where(sa.column("oid") == sa.func.to_regclass(Account.__tablename__))
    )
    return _Indexed([*conditions, condition], accounts or 0)


def _text_match(Account, exact, like, indexed: _Indexed, common: bool) -> sa.ColumnElement:
    """The text condition for a page of accounts, newest first.

    A ``common`` text (more names hold it than the count's cap) is found by reading accounts
    newest first and keeping those whose name matches: a page after about
    ``accounts / matches`` rows each. A rarer one asks the name index, which reads only the
    names that hold its grams — kept out of an OR, which would compute the grams again for
    every row found."""
    if common:
        return sa.or_(exact, like)
    # The other filters in each branch too, so that the name index is combined with them.
    by_name = sa.select(Account.id).where(*indexed.conditions, like)
    by_key = sa.select(Account.id).where(*indexed.conditions[:-1], exact)
    return Account.id.in_(sa.union(by_key, by_name))


def name_grams(text: str) -> list[str]:
    """What a search for ``text`` asks the name index for: its distinct two-character
    substrings (its one character, when it has one), lower-cased.

    A character whose case Python and the database might see differently (a cased one
    outside ASCII) is left out of every gram: fewer grams narrow less, but never miss a name
    (the LIKE decides)."""
    chars = [c.lower() if c.isascii() or c.lower() == c == c.upper() else None for c in text]
    if len(chars) == 1:
        return [c for c in chars if c is not None]
    return sorted({a + b for a, b in pairwise(chars) if a is not None and b is not None})


def perform(account_id: str, event: str, *, actor: str, reason: str | None = None) -> str:
    """Take ``event`` for the account (an operator transition of the lifecycle), audited with
    ``actor`` and ``reason``; commits, then mails. Returns the new state.

    Raises :class:`OperationRefused` (unknown account, missing reason, not an operator
    event) or :class:`IllegalTransition`; nothing is changed then.
    """
    if event == "delete":
        delete(account_id, actor=actor)
        return DELETED
    if reason is not None and len(reason.strip()) > MAX_REASON_LENGTH:
        # Told, not cut: the applicant is mailed the reason, and must get all of it.
        raise ReasonTooLong(
            f"the reason has {len(reason.strip())} characters; at most {MAX_REASON_LENGTH}"
        )
    ia = get_state()
    account = _locked_account(account_id)
    problem: Exception | None = None
    if event not in ia.lifecycle.operator_events(account.state):
        if event in ia.lifecycle.allowed_events(account.state):
            problem = OperationRefused(f"{event!r} is the applicant's own doing, not an operator's")
        else:
            problem = IllegalTransition(event, account.state)
    else:
        # What the event does (its effects, mail, callbacks) is the lifecycle's declaration.
        try:
            ia.lifecycle.fire(account, event, actor=actor, reason=reason)
        except LifecycleReasonRequired:
            problem = ReasonRequired(f"{event!r} needs a reason: the transition asks for one")
    if problem is not None:
        commit_and_dispatch()  # nothing of the flow's; the host's pending work is kept
        raise problem
    commit_and_dispatch()
    return account.state


def resend_activation(account_id: str, *, actor: str) -> None:
    """A fresh activation link (and system password) for an account awaiting activation."""
    account = _locked_account(account_id)
    if account.state != REQUESTED:
        commit_and_dispatch()
        raise OperationRefused(
            code="not_awaiting_activation",
            message=f"{account.account_id} is {account.state!r}: only a {REQUESTED!r} account is "
            "waiting for its activation mail",
        )
    reissue(account, actor=actor)
    commit_and_dispatch()


def pseudonym(account_id: str) -> str:
    """What the audit trail says instead of a deleted account's id: the same for every row of
    that account, not reversible without SECRET_KEY."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, account_id.encode(), hashlib.sha256).hexdigest()
    return f"deleted-{digest[:16]}"


def delete(account_id: str, *, actor: str) -> str:
    """刪除: remove the account and everything personal about it; its audit trail stays,
    pseudonymised (account id replaced, client addresses and details cleared). Returns the
    pseudonym."""
    ia = get_state()
    models = ia.models
    account = _locked_account(account_id)
    try:
        ia.lifecycle.fire(account, "delete", actor=actor)
    except IllegalTransition:
        commit_and_dispatch()  # the refusal's audit row
        raise
    name = pseudonym(account.account_id)
    session = ia.db.session
    session.flush()
    session.execute(
        sa.update(models.AuditEvent)
        .where(models.AuditEvent.account_pk == account.id)
        .values(account_id=name, client_ip=None, detail=None)
        .execution_options(synchronize_session=False)
    )
    for model in (models.OutboxMail, models.PasswordHistory):
        session.execute(
            sa.delete(model)
            .where(model.account_pk == account.id)
            .execution_options(synchronize_session=False)
        )
    session.delete(account)
    commit_and_dispatch()
    return name


#: Accounts disabled in one transaction by :func:`disable_idle` (then committed and mailed).
IDLE_BATCH = 500


def idle_accounts(days: int, *, batch_size: int = IDLE_BATCH) -> Iterator:
    """Accounts that may be disabled and have not logged in for ``days`` days (counted from
    activation, or from the application, when they never did), in id order, read
    ``batch_size`` at a time (never all at once)."""
    for batch in idle_batches(days, batch_size=batch_size):
        yield from batch


def idle_batches(
    days: int, *, for_update: bool = False, batch_size: int = IDLE_BATCH
) -> Iterator[list]:
    """:func:`idle_accounts`, a list of at most ``batch_size`` at a time. ``for_update`` locks
    each batch as it is read (FOR UPDATE SKIP LOCKED: an account another transaction holds is
    left for the next run); the caller ends each batch's transaction before the next."""
    _check_days(days)
    _check_batch_size(batch_size)
    ia = get_state()
    Account = ia.models.Account
    cutoff = utcnow() - timedelta(days=days)
    states = [s for s in ia.lifecycle.states if "disable" in ia.lifecycle.operator_events(s)]
    last_seen = sa.func.coalesce(Account.last_login_at, Account.activated_at, Account.created_at)
    after = 0
    while True:
        # Keyset on the primary key: each batch goes on where the last stopped. No index on
        # the last login on purpose: a login would then update an index (no HOT update).
        query = (
            sa.select(Account)
            .where(Account.id > after, Account.state.in_(states), last_seen < cutoff)
            .order_by(Account.id)
            .limit(batch_size)
        )
        if for_update:
            query = query.with_for_update(skip_locked=True)
        batch = list(ia.db.session.scalars(query).all())
        if not batch:
            return
        after = batch[-1].id
        yield batch


def disable_idle(
    days: int,
    *,
    actor: str,
    batch_size: int = IDLE_BATCH,
    progress: Callable[[list[str]], None] | None = None,
) -> int:
    """停用 every account idle for ``days`` days (:func:`idle_accounts`), ``batch_size``
    accounts per transaction: each batch commits, then its mail goes. ``progress`` is called
    with the account ids of each batch done. Returns how many were disabled."""
    _check_batch_size(batch_size)
    lifecycle = get_state().lifecycle
    count = 0
    for batch in idle_batches(days, for_update=True, batch_size=batch_size):
        for account in batch:
            lifecycle.fire(account, "disable", actor=actor, detail=f"no login for {days} days")
        done = [account.account_id for account in batch]
        commit_and_dispatch()  # the batch's locks end here, then its mail goes
        count += len(done)
        if progress is not None:
            progress(done)
    return count


AUDIT_FIELDS = (
    "created_at",
    "account_id",
    "event",
    "from_state",
    "to_state",
    "outcome",
    "actor",
    "client_ip",
    "detail",
)


def audit_trail(
    *,
    account_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> Iterator[dict]:
    """Audit rows (oldest first) of one account, or of a time range, as dicts. Raises
    :class:`AccountNotFound` at once (before any row) for an unknown account.

    An account's trail is found by its row id, so events recorded before an account id
    change (or a deletion's pseudonym) stay with it.
    """
    ia = get_state()
    AuditEvent = ia.models.AuditEvent
    query = sa.select(AuditEvent)
    if account_id:
        account = find_account(account_id)
        if account is not None:
            query = query.where(AuditEvent.account_pk == account.id)
        elif account_id.startswith("deleted-"):  # a deleted account, by its pseudonym
            query = query.where(AuditEvent.account_id == account_id)
        else:
            raise AccountNotFound(f"no account {account_id!r}")
    if since:
        query = query.where(AuditEvent.created_at >= since)
    if until:
        query = query.where(AuditEvent.created_at < until)
    if limit:
        # The latest ``limit`` rows, still oldest first: ix_industry_auth_audit_account
        # (account_pk, id) read backwards from the account's newest row.
        query = query.order_by(AuditEvent.id.desc()).limit(limit)
        rows = reversed(ia.db.session.scalars(query).all())
    else:
        query = query.order_by(AuditEvent.created_at, AuditEvent.id)
        rows = ia.db.session.scalars(query.execution_options(yield_per=1000))
    return ({name: getattr(row, name) for name in AUDIT_FIELDS} for row in rows)


#: Rows deleted per transaction by :func:`prune_audit` and :func:`purge_mail`.
DELETE_BATCH = 2_000


def prune_audit(
    days: int | None = None,
    *,
    batch_size: int = DELETE_BATCH,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Delete audit rows older than ``days`` (default ``INDUSTRY_AUTH_AUDIT_RETENTION_DAYS``),
    ``batch_size`` rows per transaction, oldest first, so that no lock is held long and no row
    is loaded. ``progress`` is called with the running total after each batch. Returns how
    many went."""
    days = days if days is not None else current_app.config["INDUSTRY_AUTH_AUDIT_RETENTION_DAYS"]
    if days < MIN_AUDIT_RETENTION_DAYS:
        raise OperationRefused(
            f"the audit trail is kept at least {MIN_AUDIT_RETENTION_DAYS} days (6 months)",
            code="out_of_range",
        )
    _check_days(days)
    _check_batch_size(batch_size)
    AuditEvent = get_state().models.AuditEvent
    old = AuditEvent.created_at < utcnow() - timedelta(days=days)
    # Read through ix_industry_auth_audit_created_at from where the last batch stopped: the
    # index entries of rows already deleted are not walked again and again.
    return _delete_in_batches(AuditEvent, old, AuditEvent.created_at, batch_size, progress)


def purge_mail(
    days: int | None = None,
    *,
    batch_size: int = DELETE_BATCH,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Delete from the outbox the mail sent more than ``days`` ago (default
    ``INDUSTRY_AUTH_MAIL_RETENTION_DAYS``), and the mail given up on (``failed``) that was
    written that long ago: any link or temporary password in it has long expired, so a
    requeue could not help. Pending mail is never deleted. ``batch_size`` rows per
    transaction; returns how many went."""
    days = days if days is not None else current_app.config["INDUSTRY_AUTH_MAIL_RETENTION_DAYS"]
    _check_days(days)
    _check_batch_size(batch_size)
    OutboxMail = get_state().models.OutboxMail
    cutoff = utcnow() - timedelta(days=days)
    old = sa.or_(
        sa.and_(OutboxMail.status == "sent", OutboxMail.sent_at < cutoff),
        sa.and_(OutboxMail.status == "failed", OutboxMail.created_at < cutoff),
    )
    # In id order (the primary key), from where the last batch stopped: mail is written in
    # time order, so the old mail is at the start, and no index on sent_at is needed.
    return _delete_in_batches(OutboxMail, old, OutboxMail.id, batch_size, progress)


#: The largest batch: one bind parameter per row must stay under SQLite's 32,766.
MAX_BATCH = 30_000
#: The longest span a job counts back (a hundred years): ``timedelta`` overflows further.
MAX_DAYS = 36_500


def _check_batch_size(batch_size: int) -> None:
    if not 1 <= batch_size <= MAX_BATCH:
        raise OperationRefused(f"--batch-size must be from 1 to {MAX_BATCH:,}", code="out_of_range")


def _check_days(days: int) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise OperationRefused(f"--days must be from 1 to {MAX_DAYS:,}", code="out_of_range")


def _delete_in_batches(model, condition, key, batch_size: int, progress) -> int:
    """Delete the rows of ``model`` matching ``condition``, ``batch_size`` at a time in the
    order of ``key`` (an indexed column), each batch committed."""
    session = get_state().db.session
    removed, since = 0, None
    while True:
        query = sa.select(model.id, key).where(condition)
        if since is not None:
            # Rows deleted are gone: ">=" goes on at the last key without missing a tie.
            query = query.where(key >= since)
        batch = session.execute(query.order_by(key).limit(batch_size)).all()
        if not batch:
            return removed
        session.execute(
            sa.delete(model)
            .where(model.id.in_([row[0] for row in batch]))
            .execution_options(synchronize_session=False)
        )
        session.commit()
        removed += len(batch)
        since = batch[-1][1]
        if progress is not None:
            progress(removed)
        if len(batch) < batch_size:
            return removed


def _locked_account(account_id: str):
    account = find_account(account_id, for_update=True)
    if account is None:
        commit_and_dispatch()
        raise AccountNotFound(f"no account {account_id!r}")
    return account
