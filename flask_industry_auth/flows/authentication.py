"""Log in with 統一編號 + 電子身分帳號 + 密碼 (seed 二), lockout, and log out.

Every failure looks the same to the applicant; the audit row says which it was. Every
attempt costs the same work whatever the account (ASVS V6.3.8): exactly two argon2
verifications, the password hash and the pending temporary password's hash, each replaced by
a dummy verification where the account has none (unknown account, another business's
統一編號, no temporary password, a certificate account, a password over the length limit).

Concurrent attempts on one account are decided one at a time, on fresh data: PostgreSQL locks
the row (``SELECT … FOR UPDATE``); SQLite ignores that, so there a write first takes its
database-wide write lock, held until the commit. The failure count, the lock after too many
failures (one lock, one mail) and the completion of a reset by the temporary password happen
exactly once (the temporary password itself stays valid until the forced change replaces it).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from .. import signals
from ..audit import record
from ..lifecycle import LOCKED, REQUESTED, RESET, lock_ends_by_itself, locked_by_staff
from ..mail import commit_and_dispatch
from ..passwords import password_length
from ..signals import send_after_commit
from ..state import get_state
from ..validators import normalize_business_id
from . import find_account, rotate_sessions, utcnow

#: The actor of the lock after too many failed logins (the audit trail names it so).
FAILED_LOGINS = "login:failures"


@dataclass(frozen=True)
class LoginResult:
    """The outcome of :func:`authenticate`. ``reason`` is for the audit trail and tests;
    applicants see one generic warning, except after a correct password: ``not_activated``,
    ``locked_temporarily`` (locked after failed logins, until ``account.locked_until``),
    ``locked_by_staff``, and ``not_allowed`` with the state's ``login_message`` when it
    declares one. ``locked`` is a wrong password for a locked account."""

    account: object | None
    reason: str  # "ok", "unknown", "wrong_business_id", "wrong_password", "locked",
    # "locked_temporarily", "locked_by_staff", "not_activated", "certificate_account",
    # "not_allowed"

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def authenticate(business_id: str, account_id: str, password: str) -> LoginResult:
    """Check the credentials and apply the lockout rules. Commits the outcome."""
    state = get_state()
    config = current_app.config
    business_id = normalize_business_id(business_id)
    # The password hashes are checked before the row is locked, so that requests for one
    # account do not queue behind each other's argon2 computation; under the lock the
    # outcome is decided again on fresh data, reusing a check whose hash has not changed.
    verifier = _Verifier(state.hasher, password)
    ahead = find_account(account_id)
    _check_ahead(verifier, config, ahead, business_id)
    account = _lock(state, ahead, account_id)
    result = _check(state, config, account, business_id, verifier)
    if result.ok:
        account.last_login_at = utcnow()
        send_after_commit(signals.logged_in, account=account, method="password")
    else:
        send_after_commit(
            signals.login_failed, account=account, account_id=account_id, reason=result.reason
        )
    record(
        account,
        event="login",
        outcome=result.reason,
        account_id=account_id,
        from_state=getattr(account, "state", None),
    )
    # The row was read under its lock and written here: keep it loaded after the commit,
    # so logging in does not read it again.
    session = state.db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        commit_and_dispatch()
    finally:
        session.expire_on_commit = keep
    return result


class _Verifier:
    """The password checks of one login attempt: :meth:`ahead` spends exactly two
    verifications whatever the account; a stored hash is verified at most once."""

    def __init__(self, hasher, password: str) -> None:
        self.hasher, self.password = hasher, password
        self._results: dict[str, bool] = {}

    def ahead(self, *stored: str | None) -> None:
        """One verification for each of ``stored``: the hash, or a dummy for ``None``."""
        for value in stored:
            if value and value not in self._results:
                self.verify(value)
            else:
                self.hasher.dummy_verify()

    def verify(self, stored: str | None) -> bool:
        if not stored:
            return False
        if stored not in self._results:
            self._results[stored] = self.hasher.verify(stored, self.password)
        return self._results[stored]


def _check_ahead(verifier, config, account, business_id: str) -> None:
    """Compute, without the row lock, the hash checks :func:`_check` will ask for: always
    two, whatever the account and its state (unactivated, locked, disabled, ...)."""
    if (
        password_length(verifier.password) > config["INDUSTRY_AUTH_PASSWORD_MAX_LENGTH"]
        or account is None
        or account.business_id != business_id
        or account.is_certificate_account
    ):
        verifier.ahead(None, None)
        return
    verifier.ahead(account.password_hash, _pending_temporary_hash(account, utcnow()))


def _lock(state, ahead, account_id: str):
    """The account read again under its row lock (see the module's docstring)."""
    if ahead is not None:
        Account = state.models.Account
        if state.db.session.get_bind(mapper=sa.inspect(Account)).dialect.name == "sqlite":
            # SQLite has no row locks and ignores FOR UPDATE: a write (changing nothing) takes
            # the database's write lock, so concurrent attempts queue here until the commit.
            state.db.session.execute(
                sa.update(Account)
                .where(Account.id == ahead.id)
                .values(failed_logins=Account.failed_logins)
                .execution_options(synchronize_session=False)
            )
    return find_account(account_id, for_update=True)


def _check(state, config, account, business_id: str, verifier) -> LoginResult:
    lifecycle = state.lifecycle
    if password_length(verifier.password) > config["INDUSTRY_AUTH_PASSWORD_MAX_LENGTH"]:
        return LoginResult(account, "wrong_password")
    if account is None or account.business_id != business_id:
        return LoginResult(account, "unknown" if account is None else "wrong_business_id")
    if account.is_certificate_account:
        # Certificate accounts log in with their card, not a password.
        return LoginResult(account, "certificate_account")

    now = utcnow()
    if lock_ends_by_itself(account) and account.locked_until <= now:
        _unlock(account, lifecycle)
    if account.state == LOCKED:
        return _check_locked(state, config, account, now, verifier)
    if account.state != REQUESTED and not lifecycle.can_log_in(account.state):
        # The same hashes as for any account; only the right password learns the state's message,
        # and wrong ones count, so the message is no way to test passwords without limit.
        if verifier.verify(account.password_hash):
            if account.failed_logins >= config["INDUSTRY_AUTH_MAX_FAILED_LOGINS"]:
                return LoginResult(account, "wrong_password")
            return LoginResult(account, "not_allowed")
        return _count_failure(state, config, account, now)

    if verifier.verify(account.password_hash):
        if account.state == REQUESTED:
            return LoginResult(account, "not_activated")
        if account.state == RESET:
            lifecycle.fire(account, "cancel_reset")  # the owner remembered: withdrawn
        if state.hasher.needs_rehash(account.password_hash):
            account.password_hash = state.hasher.hash(verifier.password)
        account.failed_logins = 0
        return LoginResult(account, "ok")
    if _temporary_password_matches(account, now, verifier):
        if account.state == REQUESTED:
            return LoginResult(account, "not_activated")
        return _use_temporary_password(account, lifecycle)
    return _count_failure(state, config, account, now)


def _check_locked(state, config, account, now, verifier) -> LoginResult:
    """A locked account: only the right password learns of the lock and what to do; a wrong
    one is told what any failure is (``locked``), and counted without a new lock."""
    # During a lock the right password is told apart from a wrong one: an oracle, bounded
    # twice. The lock bounds it itself (the rate limit may be off, or count per process):
    # wrong passwords during the lock count on, and once as many again as locked it have been
    # tried, the right password gets the generic answer too, until the lock ends. The
    # per-account rate limit (INDUSTRY_AUTH_RATELIMIT_LOGIN_PER_ACCOUNT, 10 per 15 minutes)
    # bounds it as well. NIST SP 800-63B-4 (3.2.2) asks for a limit on consecutive failures
    # and 資通系統防護基準 a 15-minute lock after 5: both hold, and the owner, who is nearly
    # everyone typing the right password into a locked account, learns why and how to get in.
    told = account.failed_logins < 2 * config["INDUSTRY_AUTH_MAX_FAILED_LOGINS"]
    temporary = _temporary_password_matches(account, now, verifier)
    if temporary and not locked_by_staff(account):
        return _use_temporary_password(account, state.lifecycle)  # the owner's way: unlocks
    if temporary or verifier.verify(account.password_hash):
        if not told:
            return LoginResult(account, "locked")
        # Staff's lock: no password of any kind lifts it, the temporary one included.
        return LoginResult(
            account, "locked_by_staff" if locked_by_staff(account) else "locked_temporarily"
        )
    _add_failure(state, account)  # counted, but never a new lock: the account is locked
    return LoginResult(account, "locked")


def _pending_temporary_hash(account, now) -> str | None:
    """The hash of the account's temporary password while it is valid, else ``None``."""
    if not account.temp_password_hash:
        return None
    if account.temp_password_expires_at is None or account.temp_password_expires_at < now:
        return None
    return account.temp_password_hash


def _temporary_password_matches(account, now, verifier) -> bool:
    return verifier.verify(_pending_temporary_hash(account, now))


def _use_temporary_password(account, lifecycle) -> LoginResult:
    """A system-issued password (activation or forgot-password mail) unlocks a lock after
    failed logins and forces a password change. It stays valid until that change replaces
    it (``flows.profile.change_password``) or it expires: an applicant who leaves the change
    logs in with it again, and lands on the change again."""
    if lifecycle.can(account, "complete_reset"):
        lifecycle.fire(account, "complete_reset")
    account.must_change_password = True
    account.failed_logins = 0
    account.locked_until = None
    rotate_sessions(account)
    return LoginResult(account, "ok")


def _unlock(account, lifecycle) -> None:
    lifecycle.fire(account, "unlock")  # the transition clears the failure count and the lock


def _add_failure(state, account) -> int:
    """Count one failed login; returns the new count."""
    Account = state.models.Account
    # Incremented in SQL: concurrent failures are all counted.
    failures = state.db.session.execute(
        sa.update(Account)
        .where(Account.id == account.id)
        .values(failed_logins=Account.failed_logins + 1)
        .returning(Account.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    # Record the value without marking the row dirty: committing it back could overwrite a
    # concurrent increment.
    set_committed_value(account, "failed_logins", failures)
    return failures


def _count_failure(state, config, account, now) -> LoginResult:
    failures = _add_failure(state, account)
    if failures >= config["INDUSTRY_AUTH_MAX_FAILED_LOGINS"] and state.lifecycle.can(
        account, "lock"
    ):
        # The lock transition ends the sessions; this lock ends by itself and mails the owner
        # (flows.behaviour: what a lock by FAILED_LOGINS does).
        state.lifecycle.fire(
            account, "lock", actor=FAILED_LOGINS, detail=f"{failures} failed logins"
        )
        return LoginResult(account, "locked")
    return LoginResult(account, "wrong_password")


def logout(account) -> None:
    """End every session of ``account``: a copied cookie stops working."""
    rotate_sessions(account)
    record(account, event="logout", outcome="ok", from_state=account.state)
    commit_and_dispatch()
