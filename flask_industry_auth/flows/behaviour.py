"""What the package connects to each app's lifecycle (``init_app`` calls :func:`connect`):
the mail a transition declares, its after-commit callbacks and the package's signals, and the
effects that need the app (approving queues the activation mail; the lock after too many
failed logins ends by itself and mails the owner when; a lock by staff mails its reason)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from ..audit import record
from ..lifecycle import LOCKED, Callback, Change, Lifecycle
from ..mail import queue_mail
from ..signals import after_commit, locked, send_after_commit, state_changed, unlocked
from ..state import get_state
from . import utcnow
from .authentication import FAILED_LOGINS
from .links import external_url
from .registration import queue_activation_mail


def connect(lifecycle: Lifecycle) -> None:
    """Bind ``lifecycle`` to the package's mail and after-commit dispatch."""
    lifecycle.bind(recorder=record, mailer=_mail, on_commit=_after_commit)
    lifecycle.on("lock", effect=_lock)
    if any(t.trigger == "approve" for t in lifecycle.transitions):
        lifecycle.on("approve", effect=_queue_activation_mail)


def _mail(change: Change, kind: str) -> None:
    # Every transition's mail gets the same context: why, which event, and the links a
    # message may point to.
    queue_mail(
        kind,
        change.account,
        reason=change.reason,
        event=change.event,
        login_url=external_url("industry_auth.login"),
        register_url=external_url("industry_auth.register"),
        forgot_url=external_url("industry_auth.forgot_password"),
    )


def _after_commit(change: Change, callbacks: tuple[Callback, ...]) -> None:
    session = get_state().db.session()
    for callback in callbacks:
        after_commit(session, _run, callback=callback, change=change)
    details = {
        "account": change.account,
        "event": change.event,
        "actor": change.actor,
        "reason": change.reason,
    }
    send_after_commit(
        state_changed, from_state=change.from_state, to_state=change.to_state, **details
    )
    if change.to_state == LOCKED and change.from_state != LOCKED:
        send_after_commit(locked, **details)
    elif change.from_state == LOCKED and change.to_state != LOCKED:
        send_after_commit(unlocked, **details)


def _lock(change: Change) -> None:
    # The two kinds of lock (lifecycle.lock_ends_by_itself, locked_by_staff): the lock after
    # too many failed logins gets its end time, and the owner is told when it ends and how to
    # get in before then; any other lock has no end, lasts until staff unlock it, and the
    # owner is told so, with staff's reason.
    account = change.account
    if change.actor != FAILED_LOGINS:
        queue_mail(
            "account_locked_by_staff",
            account,
            reason=change.reason,
            login_url=external_url("industry_auth.login"),
        )
        return
    seconds = current_app.config["INDUSTRY_AUTH_LOCKOUT_SECONDS"]
    account.locked_until = utcnow() + timedelta(seconds=seconds)
    queue_mail(
        "account_locked",
        account,
        minutes=seconds // 60,
        locked_until=account.locked_until,
        forgot_url=external_url("industry_auth.forgot_password"),
    )


def _run(*, callback: Callback, change: Change) -> None:
    callback(change)


def _queue_activation_mail(change: Change) -> None:
    queue_activation_mail(change.account)
