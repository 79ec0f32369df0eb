"""Signals (blinker, as Flask's own) that the package sends once, after the commit.

Connect a receiver as with Flask's signals; the sender is the app::

    from flask_industry_auth import signals

    @signals.activated.connect_via(app)
    def welcome(app, account, **extra):
        db.session.add(Welcome(account_pk=account.id))
        db.session.commit()

Every signal is sent after the transaction that made the change has committed, never for a
change that was rolled back, and only once. A receiver may use ``db.session`` (and commit its
own work). A receiver that raises is logged; the applicant's request carries on, since the
change it reports is already committed.

When the package's own flows commit (every page, the CLI, the admin pages), the signals go out
right after their commit. When host code fires a transition and commits itself
(``lifecycle.fire(...)`` then ``db.session.commit()``), they go out when the app context ends
(the end of the request or CLI command), or at once with :func:`send_committed`.

=========================== ==================================================================
signal                      keyword arguments (besides the sender, the app)
=========================== ==================================================================
``applied``                 ``account``: a new application was saved
``activated``               ``account``: the activation link was confirmed
``logged_in``               ``account``, ``method`` (``"password"`` or ``"certificate"``)
``login_failed``            ``account`` (``None`` if unknown), ``account_id``, ``reason``
``locked``                  ``account``, ``event``, ``actor``, ``reason``: entered ``locked``
``unlocked``                ``account``, ``event``, ``actor``, ``reason``: left ``locked``
``password_changed``        ``account``
``temporary_password_issued`` ``account``: a temporary password was mailed (forgot password)
``state_changed``           ``account``, ``event``, ``from_state``, ``to_state``, ``actor``,
                            ``reason``: any transition of the lifecycle
``card_bound``              ``account``: a 自然人憑證 was bound to the account
``document_signed``         ``account``, ``evidence``: the card signed a host document
=========================== ==================================================================
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from blinker import Namespace, Signal
from flask import current_app

from .state import get_state

log = logging.getLogger(__name__)

_namespace = Namespace()

applied = _namespace.signal("industry-auth-applied")
activated = _namespace.signal("industry-auth-activated")
logged_in = _namespace.signal("industry-auth-logged-in")
login_failed = _namespace.signal("industry-auth-login-failed")
locked = _namespace.signal("industry-auth-locked")
unlocked = _namespace.signal("industry-auth-unlocked")
password_changed = _namespace.signal("industry-auth-password-changed")
temporary_password_issued = _namespace.signal("industry-auth-temporary-password-issued")
state_changed = _namespace.signal("industry-auth-state-changed")
card_bound = _namespace.signal("industry-auth-card-bound")
document_signed = _namespace.signal("industry-auth-document-signed")

#: Signals (and after-commit callbacks) waiting for the transaction to commit, and those whose
#: transaction has committed, in ``session.info``.
_PENDING = "industry_auth_pending_signals"
_COMMITTED = "industry_auth_committed_signals"


def after_commit(session: Any, call: Any, /, **arguments: Any) -> None:
    """Call ``call(**arguments)`` once ``session``'s transaction commits (a signal's ``send``
    with the app as sender, or a lifecycle callback); forgotten if it rolls back."""
    owner = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((owner, call, arguments))


def pending_calls(session: Any) -> list:
    """What waits for ``session``'s commit: ``(transaction, call, arguments)`` triples."""
    return session.info.get(_PENDING, [])


def send_after_commit(signal: Signal, **arguments: Any) -> None:
    """Send ``signal`` (with the app as sender) once the current transaction commits."""
    app = current_app._get_current_object()
    after_commit(get_state().db.session(), _Send(signal, app), **arguments)


class _Send:
    def __init__(self, signal: Signal, app: Any) -> None:
        self.signal, self.app = signal, app

    def __call__(self, **arguments: Any) -> None:
        # Each receiver on its own: one that fails is logged (and its work rolled back),
        # and the others still hear the signal.
        for receiver in self.signal.receivers_for(self.app):
            try:
                self.app.ensure_sync(receiver)(self.app, **arguments)
            except Exception:
                _failed()


def send_committed(session: Any | None = None) -> None:
    """Send what committed transactions of ``session`` (default: the app's) left waiting."""
    if session is None:
        session = get_state().db.session()
    # Receivers may commit again: what they cause is sent too, after what is sent now.
    while ready := session.info.pop(_COMMITTED, None):
        for call, arguments in ready:
            try:
                call(**arguments)
            except Exception:
                _failed(session)


def _failed(session: Any | None = None) -> None:
    log.exception("flask_industry_auth: a receiver failed after the commit")
    if session is None:
        session = get_state().db.session()
    session.rollback()  # its half-done work must not reach the next commit


def _chain(transaction: Any):
    while transaction is not None:
        yield transaction
        transaction = transaction.parent


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _committed(session: sa.orm.Session) -> None:
    nested = session.get_nested_transaction()
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if nested is not None:  # a savepoint was released: its calls now wait for its parent
        session.info[_PENDING] = [
            (nested.parent if owner is nested else owner, call, args)
            for owner, call, args in pending
        ]
        return
    session.info.pop(_PENDING)
    session.info.setdefault(_COMMITTED, []).extend((c, a) for _, c, a in pending)


@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _rolled_back(session: sa.orm.Session, previous_transaction: Any) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if not previous_transaction.nested:
        session.info.pop(_PENDING)
        return
    session.info[_PENDING] = [
        entry for entry in pending if previous_transaction not in _chain(entry[0])
    ]


@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _ended(session: sa.orm.Session, transaction: Any) -> None:
    # The root transaction ended without a commit (close(), reset()): nothing it did happened.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_PENDING, None)
