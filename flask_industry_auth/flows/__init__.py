"""Business logic with no HTTP in it: each flow validates, changes, audits, commits, then
mails and sends its signals. Views call these; so can the CLI and host code.

A flow commits the host's ``db.session``, whatever else the host had pending in it; a flow
that refuses commits only what it recorded (an audit row) and raises, so the host's pending
changes are never rolled back by it. Inside ``mail.in_host_transaction()`` flows flush
instead of committing, and the host's commit or rollback decides for both.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from ..lifecycle import end_sessions as rotate_sessions
from ..models import utcnow
from ..state import get_state
from ..validators import has_bad_characters


@dataclass(frozen=True)
class BasicData:
    """An applicant's basic data (the manual's 基本資料), validated; the 統一編號 is apart
    because it is never edited."""

    business_name: str
    responsible_person: str
    contact_person: str
    phone: str  # E.164
    phone_ext: str | None
    address: str
    email: str


def find_account(account_id: str, *, for_update: bool = False):
    """The account with this 電子身分帳號 (case-insensitive, full-width tolerant), or None.

    ``for_update`` locks the row until the commit (``SELECT … FOR UPDATE`` on PostgreSQL), so
    that concurrent requests for one account (parallel wrong passwords, a temporary password
    sent twice) take turns and each sees the other's outcome.
    """
    # NFKC turns full-width letters and digits typed with an IME into ASCII.
    key = unicodedata.normalize("NFKC", account_id or "").strip().upper()
    # No account id holds a control character (PostgreSQL refuses NUL in a query outright).
    if not key or len(key) > 32 or has_bad_characters(key):
        return None
    state = get_state()
    Account = state.models.Account
    query = state.db.select(Account).where(Account.account_id == key)
    if for_update:
        # populate_existing: an earlier unlocked read of this row in the session must not
        # hide what a concurrent request committed before the lock was granted.
        query = query.with_for_update().execution_options(populate_existing=True)
    return state.db.session.scalar(query)


__all__ = ["BasicData", "find_account", "rotate_sessions", "utcnow"]
