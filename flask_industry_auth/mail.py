"""The transactional outbox: mail is written with the change that causes it, sent after commit.

A flow calls :func:`queue_mail` (rendered now, in the applicant's language, stored encrypted in
the same transaction) and then :func:`commit_and_dispatch`. Delivery claims each row with one
conditional ``UPDATE`` so that concurrent senders never send a mail twice, and a sender that
dies mid-delivery leaves a claim that expires and is taken again. SMTP being down only delays
mail: the row stays pending with a growing back-off until ``MAIL_MAX_ATTEMPTS``.

Nothing jams the outbox: any error while sending one mail defers that mail (or fails it) with
the error recorded, and delivery goes on with the next. An address with a non-ASCII local part
(``測試@example.com``) is sent with SMTPUTF8 when the relay offers it, and otherwise failed at
once with that reason (an internationalised domain alone goes out in its ASCII form). With
``INDUSTRY_AUTH_MAIL_DELIVERY = "thread"`` each process also retries its deferred mail by itself
when it is due (:func:`schedule_retry`), so a single machine needs no worker.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import logging
import os
import smtplib
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app, render_template, request_started
from flask_babel import force_locale
from flask_mail import Connection, Message, sanitize_address

from .models import utcnow
from .rendering import template_context
from .signals import after_commit, pending_calls, send_committed
from .state import EXTENSION_KEY, get_state

log = logging.getLogger(__name__)


#: Every kind of mail the package sends, and when. A kind is three templates, each of which a
#: host may override: ``industry_auth/email/<kind>_subject.txt``, ``<kind>_message.txt`` and
#: ``<kind>_message.html``.
MAIL_KINDS: dict[str, str] = {
    "activation": (
        "an application was received (with INDUSTRY_AUTH_REQUIRE_APPROVAL: once staff "
        "approve it), or the activation mail is asked for again: the account id, a "
        "temporary password (non-certificate accounts) and the activation link"
    ),
    "duplicate_application": (
        "someone applied with a 統一編號 and email address (or a card) that already have an "
        "account; it goes to that account, and no new account is created"
    ),
    "temporary_password": "Forgot password, for a non-certificate account: a temporary password",
    "certificate_recovery": (
        "Forgot password, for a certificate account: its card's PIN belongs to the "
        "certificate authority"
    ),
    "password_changed": "the account's password was changed (the first, forced change too)",
    "email_changed": "the email address was changed in the profile; to the old and new address",
    "account_locked": (
        "the account was locked after INDUSTRY_AUTH_MAX_FAILED_LOGINS failed logins in a row: "
        "until when, and that a temporary password from forgot password gets in sooner"
    ),
    "account_locked_by_staff": (
        "staff locked the account (admin pages, CLI, lifecycle.fire): the reason if any, and "
        "that only the agency unlocks it (forgot password does not)"
    ),
    "application_rejected": (
        "staff rejected the application (INDUSTRY_AUTH_REQUIRE_APPROVAL); the reason is in it"
    ),
}


def _fernet() -> Fernet:
    secret = current_app.config.get("SECRET_KEY")
    if not secret:
        raise RuntimeError("flask_industry_auth needs SECRET_KEY to encrypt queued mail")
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"flask_industry_auth outbox"
    ).derive(secret.encode() if isinstance(secret, str) else secret)
    return Fernet(base64.urlsafe_b64encode(key))


def render_mail(kind: str, locale: str, **context: Any) -> tuple[str, str, str]:
    """Render ``industry_auth/email/<kind>_{subject.txt,message.txt,message.html}``."""
    with force_locale(locale):
        ctx = {**template_context(), **context}
        subject = render_template(f"industry_auth/email/{kind}_subject.txt", **ctx)
        text = render_template(f"industry_auth/email/{kind}_message.txt", **ctx)
        html = render_template(f"industry_auth/email/{kind}_message.html", **ctx)
    # A subject is one line: never let rendered data add headers.
    return " ".join(subject.split()), text, html


def queue_mail(kind: str, account: Any, *, recipient: str | None = None, **context: Any):
    """Render a mail for ``account`` and add it to the outbox in the current transaction."""
    state = get_state()
    subject, text, html = render_mail(kind, account.locale, account=account, **context)
    body = _fernet().encrypt(json.dumps({"text": text, "html": html}).encode())
    row = state.models.OutboxMail(
        account_pk=account.id,
        kind=kind,
        recipient=recipient or account.email,
        subject=subject[:200],
        body=body,
    )
    session = state.db.session()
    session.add(row)
    if not any(call is _dispatch_committed for _, call, _a in pending_calls(session)):
        # Whoever commits (a flow, or host code after lifecycle.fire()), delivery starts then.
        after_commit(session, _dispatch_committed, session=session)
    return row


def _dispatch_committed(session: Any) -> None:
    dispatch()


#: In ``session.info``: how many :func:`in_host_transaction` blocks are open.
_HOST_UNIT = "industry_auth_host_unit"


def commit_and_dispatch() -> None:
    """End a flow: commit the session (what the host had pending with it), then the mail it
    queued goes to delivery and the signals (and lifecycle callbacks) that waited for the
    commit are sent. Inside :func:`in_host_transaction` it only flushes: the host commits."""
    session = get_state().db.session()
    if session.info.get(_HOST_UNIT):
        session.flush()
        return
    session.commit()
    send_committed(session)


@contextmanager
def in_host_transaction() -> Iterator[Any]:
    """Run the package's flows inside the host's own unit of work::

        with in_host_transaction():
            db.session.add(Filing(...))
            operations.perform(account_id, "disable", actor="staff:chen")
        db.session.commit()  # or rollback(): the flow's changes go with the host's

    The flows flush instead of committing; their mail and signals go out after the host's
    commit (at the end of the app context, or with ``signals.send_committed()``), and not at
    all if it rolls back."""
    session = get_state().db.session()
    session.info[_HOST_UNIT] = session.info.get(_HOST_UNIT, 0) + 1
    try:
        yield session
    finally:
        session.info[_HOST_UNIT] -= 1


def dispatch() -> None:
    """Start delivery without making the request wait (``INDUSTRY_AUTH_MAIL_DELIVERY``)."""
    app = current_app._get_current_object()
    if app.config["INDUSTRY_AUTH_MAIL_DELIVERY"] != "thread":
        return
    state = get_state()

    thread = threading.Thread(
        target=_deliver_in_thread, args=(app,), name="industry-auth-mail", daemon=True
    )
    state.mail_threads.add(thread)
    thread.start()


def _deliver_in_thread(app: Flask) -> None:
    """One delivery run of thread mode, then the retry timer set for the next deferred mail."""
    retry = _retry_timer(app) if app.config["INDUSTRY_AUTH_MAIL_DELIVERY"] == "thread" else None
    delay: float | None = None
    with app.app_context():
        try:
            deliver_due()
            delay = seconds_to_next_due()
            if retry is not None:
                retry.failures = 0
        except Exception:  # a delivery thread must never take the app down
            log.exception("flask_industry_auth: mail delivery failed")
            if retry is not None:  # the database, most likely: look again, backing off
                delay = min(_DATABASE_RETRY * 2**retry.failures, 300.0)
                retry.failures += 1
        finally:
            get_state().db.session.remove()
    if delay is not None:
        schedule_retry(app, delay)


def wait_for_delivery(timeout: float = 30.0) -> None:
    """Wait for delivery threads started by :func:`dispatch` and for a retry run under way
    (tests, graceful shutdown)."""
    for thread in list(get_state().mail_threads):
        thread.join(timeout)


# -- thread mode: each process retries its own deferred mail ----------------------------------

#: Seconds before thread mode looks again when the database could not be read (doubled at
#: each failure in a row).
_DATABASE_RETRY = 30.0
#: Seconds after a process's first request before it looks for mail another left deferred.
_FIRST_LOOK_DELAY = 5.0
#: The longest a retry timer sleeps (it looks again then, whatever it found).
_MAX_SLEEP = 3600.0


class _RetryTimer:
    """The retry timer of one app in one process: a daemon ``threading.Timer`` for the
    earliest due mail. A forked child (gunicorn) finds another pid and starts its own."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid: int | None = None
        self.timer: threading.Timer | None = None
        self.due: float | None = None  # time.monotonic() at which the timer fires
        self.closed = False
        self.failures = 0  # delivery runs in a row that failed (the database down)


_RETRY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _retry_timer(app: Flask) -> _RetryTimer:
    retry = _RETRY.get(app)
    if retry is None:
        retry = _RETRY.setdefault(app, _RetryTimer())
        engine_owner = get_state(app)
        # An app whose engine is disposed (shut down; a test torn down) stops retrying.
        with app.app_context():
            engine = engine_owner.db.engine
        app_ref = weakref.ref(app)

        def disposed(_engine: Any) -> None:
            owner = app_ref()
            if owner is not None:
                cancel_retry(owner)

        sa.event.listen(engine, "engine_disposed", disposed)
    return retry


def _after_fork_in_child() -> None:
    # Only the forking thread survives a fork: a lock another thread held would stay held.
    for retry in list(_RETRY.values()):
        retry.lock = threading.Lock()
        retry.pid, retry.timer, retry.due = None, None, None


os.register_at_fork(after_in_child=_after_fork_in_child)


def schedule_retry(app: Flask, delay: float) -> None:
    """In thread mode, run a delivery of ``app``'s due mail in this process after ``delay``
    seconds (unless one is set for sooner). Called after every delivery run with the time to
    the next deferred mail, and at a process's first request."""
    import time

    if app.config["INDUSTRY_AUTH_MAIL_DELIVERY"] != "thread":
        return
    retry = _retry_timer(app)
    delay = min(max(delay, 0.0), _MAX_SLEEP)
    with retry.lock:
        pid, now = os.getpid(), time.monotonic()
        if retry.pid != pid:  # a forked child: the parent's timer thread is not here
            retry.pid, retry.timer, retry.due, retry.closed = pid, None, None, False
        if retry.timer is not None and retry.due is not None and retry.due <= now + delay:
            return
        if retry.timer is not None:
            retry.timer.cancel()
        timer = threading.Timer(delay, _fire_retry, args=(weakref.ref(app), retry))
        timer.name, timer.daemon = "industry-auth-mail-retry", True
        retry.timer, retry.due, retry.closed = timer, now + delay, False
        timer.start()


def cancel_retry(app: Flask) -> None:
    """Stop ``app``'s retry timer in this process (until the next delivery sets it again)."""
    retry = _RETRY.get(app)
    if retry is None:
        return
    with retry.lock:
        if retry.timer is not None and retry.pid == os.getpid():
            retry.timer.cancel()
        retry.timer, retry.due, retry.closed = None, None, True


def _fire_retry(app_ref, retry: _RetryTimer) -> None:
    with retry.lock:
        if retry.closed or retry.timer is not threading.current_thread():
            return
        retry.timer, retry.due = None, None
    app = app_ref()
    if app is None:
        return
    # As a dispatch: wait_for_delivery() waits for it, and it sets the next timer.
    thread = threading.current_thread()
    get_state(app).mail_threads.add(thread)
    _deliver_in_thread(app)


def seconds_to_next_due() -> float | None:
    """Seconds until the earliest mail a sender may take (0 when some is due now), or None
    when the outbox holds no mail waiting to be sent."""
    state = get_state()
    outbox = state.models.OutboxMail.__table__
    claim = timedelta(seconds=current_app.config["INDUSTRY_AUTH_MAIL_CLAIM_SECONDS"])
    session = state.db.session
    try:
        pending = session.scalar(
            sa.select(sa.func.min(outbox.c.next_attempt_at)).where(outbox.c.status == "pending")
        )
        claimed = session.scalar(
            sa.select(sa.func.min(outbox.c.claimed_at)).where(outbox.c.status == "sending")
        )
    finally:
        session.commit()  # no transaction stays open between looks
    times = [t for t in (pending, claimed + claim if claimed else None) if t is not None]
    if not times:
        return None
    # A second more: the row is due by then even with coarse timestamps.
    return max((min(times) - utcnow()).total_seconds(), 0.0) + 1.0


@request_started.connect
def _first_request_of_process(sender: Flask, **_extra: Any) -> None:
    """A process (a restarted gunicorn worker) looks for deferred mail at its first request."""
    if EXTENSION_KEY not in sender.extensions:
        return
    if sender.config["INDUSTRY_AUTH_MAIL_DELIVERY"] != "thread":
        return
    retry = _RETRY.get(sender)
    if retry is not None and retry.pid == os.getpid():
        return
    schedule_retry(sender, _FIRST_LOOK_DELAY)  # not in the request: it issues no query


class _Connection(Connection):
    """Flask-Mail's connection with a timeout: a stalled SMTP server must not hang a worker."""

    def configure_host(self):
        mail, timeout = self.mail, current_app.config["INDUSTRY_AUTH_SMTP_TIMEOUT"]
        smtp_class = smtplib.SMTP_SSL if mail.use_ssl else smtplib.SMTP
        host = smtp_class(mail.server, mail.port, timeout=timeout)
        if mail.use_tls:
            host.starttls()
        if mail.username and mail.password:
            host.login(mail.username, mail.password)
        return host

    def __exit__(self, exc_type, exc_value, tb) -> None:
        try:
            super().__exit__(exc_type, exc_value, tb)
        except (OSError, smtplib.SMTPException):
            # QUIT failed: what was sent is sent (recording a failure would send it twice).
            if exc_type is None:
                log.warning("flask_industry_auth: SMTP QUIT failed after a mail was sent")


def _due(outbox, now, include_deferred: bool):
    """Rows a sender may take: pending and due (or deferred, when asked), or claimed by a
    sender that has not finished within ``MAIL_CLAIM_SECONDS`` (it died)."""
    stale = now - timedelta(seconds=current_app.config["INDUSTRY_AUTH_MAIL_CLAIM_SECONDS"])
    pending = outbox.c.status == "pending"
    if not include_deferred:
        pending = sa.and_(pending, outbox.c.next_attempt_at <= now)
    return sa.or_(pending, sa.and_(outbox.c.status == "sending", outbox.c.claimed_at < stale))


def due_queries(outbox, now, include_deferred: bool, limit: int) -> tuple[sa.Select, sa.Select]:
    """The sender's two looks at the outbox (see :func:`_due_ids`): mail a dead sender left
    half-sent, and mail waiting longest, each at most ``limit`` ids."""
    stale = now - timedelta(seconds=current_app.config["INDUSTRY_AUTH_MAIL_CLAIM_SECONDS"])
    abandoned = (
        sa.select(outbox.c.id)
        .where(outbox.c.status == "sending", outbox.c.claimed_at < stale)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    waiting = sa.select(outbox.c.id).where(outbox.c.status == "pending")
    if not include_deferred:
        waiting = waiting.where(outbox.c.next_attempt_at <= now)
    return abandoned, waiting.order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)


def _due_ids(outbox, now, include_deferred: bool, limit: int) -> list[int]:
    """The ids :func:`_due` admits, at most ``limit``: mail left by a dead sender first, then
    the longest waiting. Two queries, each one range of the waiting-mail index read in its
    order, so that millions of sent rows are never looked at (one query with the ``OR`` of
    :func:`_due` and ``ORDER BY id`` lets the planner walk the primary key past them)."""
    session = get_state().db.session
    abandoned, pending = due_queries(outbox, now, include_deferred, limit)
    ids = list(session.scalars(abandoned))
    return ids + list(session.scalars(pending.limit(limit - len(ids))))


def _claim(row_id: int, include_deferred: bool) -> bool:
    """Take one mail for this sender with a conditional UPDATE; False when another has it."""
    state = get_state()
    outbox, now = state.models.OutboxMail.__table__, utcnow()
    result = state.db.session.execute(
        sa.update(outbox)
        .where(outbox.c.id == row_id, _due(outbox, now, include_deferred))
        .values(status="sending", claimed_at=now, attempts=outbox.c.attempts + 1)
    )
    state.db.session.commit()
    return result.rowcount == 1


def deliver_due(
    limit: int = 100, *, include_deferred: bool = False, stop: threading.Event | None = None
) -> dict[str, int]:
    """Send every due mail this sender can claim; ``include_deferred`` also retries mail
    waiting out a back-off. Returns counts by outcome.

    An error while sending one mail (whatever it is) defers or fails that mail, with the error
    in ``last_error``, and the next one is sent. Only a database error ends the run. ``stop``
    (a worker's SIGTERM) ends it after the mail in hand. No transaction stays open after it."""
    state = get_state()
    outbox = state.models.OutboxMail.__table__
    session = state.db.session
    counts = {"sent": 0, "retry": 0, "failed": 0}
    try:
        due_ids = _due_ids(outbox, utcnow(), include_deferred, limit)
        session.commit()  # the look is over: hold no transaction (and no lock) while sending
        for row_id in due_ids:
            if stop is not None and stop.is_set():
                break
            if not _claim(row_id, include_deferred):
                continue
            counts[_deliver_one(row_id)] += 1
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return counts


class Undeliverable(Exception):
    """This mail can never go through this relay (it is failed at once, not retried)."""


def _deliver_one(row_id: int) -> str:
    """Send one claimed mail and record the outcome: ``sent``, ``retry`` or ``failed``."""
    state = get_state()
    row = state.db.session.get(state.models.OutboxMail, row_id)
    try:
        mail_state = current_app.extensions["mail"]
        sender = current_app.config["INDUSTRY_AUTH_MAIL_SENDER"] or mail_state.default_sender
        parts = json.loads(_fernet().decrypt(row.body))
        with _Connection(mail_state) as connection:
            _send(connection, row, parts, sender)
    except Exception as exc:  # any error: this mail waits or fails, never the ones after it
        outcome = _failed(row, exc)
    else:
        row.status, row.sent_at, row.body, row.last_error = "sent", utcnow(), None, None
        outcome = "sent"
    try:
        state.db.session.commit()
    except sa.exc.DBAPIError:
        state.db.session.rollback()
        if outcome != "sent":
            raise
        _record_sent(row_id)
    return outcome


#: Seconds between tries to record a mail the relay took while the database was away.
RECORD_RETRY_SECONDS = (0.5, 1, 2, 4, 8)


def _record_sent(row_id: int) -> None:
    # The relay has the mail: record it once the database is back (a restart takes seconds),
    # or it would be claimed again and sent twice. Past the retries, the error stands.
    state = get_state()
    outbox = state.models.OutboxMail.__table__
    for pause in (*RECORD_RETRY_SECONDS, None):
        try:
            state.db.session.execute(
                sa.update(outbox)
                .where(outbox.c.id == row_id)
                .values(status="sent", sent_at=utcnow(), body=None, last_error=None)
            )
            state.db.session.commit()
            return
        except sa.exc.DBAPIError:
            state.db.session.rollback()
            if pause is None:
                raise
            log.warning(
                "flask_industry_auth: mail %s sent, recording it again in %ss", row_id, pause
            )
            time.sleep(pause)


def _send(connection: Connection, row: Any, parts: dict, sender: Any) -> None:
    """Hand one mail to the relay. An ASCII address goes as Flask-Mail sends it, an
    internationalised domain in its ASCII (IDNA) form; a non-ASCII local part needs the
    relay's SMTPUTF8 (RFC 6531), and without it the mail is :class:`Undeliverable`."""
    recipient = row.recipient
    local, _, domain = recipient.rpartition("@")
    if local.isascii() and not domain.isascii():
        try:
            recipient = f"{local}@{domain.encode('idna').decode('ascii')}"
        except UnicodeError as exc:
            raise Undeliverable(f"the domain of {row.recipient} has no ASCII form") from exc
    utf8 = not recipient.isascii()
    message = Message(
        subject=row.subject,
        # Flask-Mail cannot write a non-ASCII address: the header is set below.
        recipients=["recipient@invalid" if utf8 else recipient],
        body=parts["text"],
        html=parts["html"],
        sender=sender,
    )
    if not utf8 or connection.host is None:  # connection.host: None when mail is suppressed
        connection.send(message)
        return
    host = connection.host
    host.ehlo_or_helo_if_needed()
    if not host.has_extn("smtputf8"):
        raise Undeliverable(
            f"the SMTP relay does not offer SMTPUTF8, which the address {row.recipient} "
            "needs (its part before @ is not ASCII)"
        )
    utf8_message = email.message_from_bytes(message.as_bytes(), policy=email.policy.SMTPUTF8)
    del utf8_message["To"]
    utf8_message["To"] = recipient
    # smtplib sees the non-ASCII address and sends MAIL FROM with SMTPUTF8 and 8BITMIME.
    host.send_message(utf8_message, sanitize_address(message.sender), [recipient])


#: The first back-off of a deferred mail, doubled at each attempt (capped at an hour).
RETRY_BASE_SECONDS = 30


def _failed(row, exc: Exception) -> str:
    max_attempts = current_app.config["INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS"]
    row.last_error = f"{type(exc).__name__}: {exc}"[:300]
    if row.attempts >= max_attempts or isinstance(exc, InvalidToken | Undeliverable):
        row.status = "failed"
        log.error(
            "flask_industry_auth: mail %s to %s failed for good: %s",
            row.id,
            row.recipient,
            row.last_error,
        )
        return "failed"
    # 30 s, 1 min, 2 min, ... capped at one hour.
    delay = min(RETRY_BASE_SECONDS * 2 ** (row.attempts - 1), 3600)
    row.status, row.next_attempt_at = "pending", utcnow() + timedelta(seconds=delay)
    log.warning("flask_industry_auth: mail %s deferred %ss: %s", row.id, delay, row.last_error)
    return "retry"


# -- for operators: what waits, and mail to send again -------------------------------------------


def mail_counts() -> dict[str, int]:
    """How much mail waits: ``pending`` (due now, or being sent), ``deferred`` (waiting out a
    back-off) and ``failed`` (given up; see :func:`requeue_mail`)."""
    state = get_state()
    outbox = state.models.OutboxMail.__table__
    now = utcnow()
    status = outbox.c.status
    deferred = sa.and_(status == "pending", outbox.c.next_attempt_at > now)
    kind = sa.case(
        (deferred, "deferred"),
        (status.in_(("pending", "sending")), "pending"),
        else_=status,
    )
    session = state.db.session
    rows = session.execute(
        sa.select(kind, sa.func.count())
        .where(status.in_(("pending", "sending", "failed")))
        .group_by(kind)
    ).all()
    counts = {"pending": 0, "deferred": 0, "failed": 0}
    counts.update({name: number for name, number in rows})
    return counts


def failed_mail(limit: int = 200) -> list[Any]:
    """Mail marked failed, newest first (what staff may requeue)."""
    state = get_state()
    OutboxMail = state.models.OutboxMail
    return state.db.session.scalars(
        sa.select(OutboxMail)
        .where(OutboxMail.status == "failed")
        .order_by(OutboxMail.id.desc())
        .limit(limit)
    ).all()


def requeue_mail(ids: list[int] | None = None) -> list[int]:
    """Put failed mail (the rows ``ids``, or every failed mail) back in the queue with fresh
    attempts, due now; ``last_error`` is kept until it is sent. Returns the ids requeued.

    A mail whose body is gone (sent, or never readable) cannot be requeued. Commits."""
    state = get_state()
    outbox = state.models.OutboxMail.__table__
    where = [outbox.c.status == "failed", outbox.c.body.is_not(None)]
    if ids is not None:
        where.append(outbox.c.id.in_(ids))
    session = state.db.session
    requeued = session.scalars(sa.select(outbox.c.id).where(*where).order_by(outbox.c.id)).all()
    if requeued:
        session.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(requeued), *where)
            .values(status="pending", attempts=0, next_attempt_at=utcnow(), claimed_at=None)
        )
    session.commit()
    return list(requeued)
