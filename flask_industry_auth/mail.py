"""The transactional outbox: mail is written with the change that causes it, sent after commit.

A flow calls :func:`queue_mail` (rendered now, in the applicant's language, stored encrypted in
the same transaction) and then :func:`commit_and_dispatch`. Delivery claims each row with one
conditional ``UPDATE`` so that concurrent senders never send a mail twice, and a sender that
dies mid-delivery leaves a claim that expires and is taken again. SMTP being down only delays
mail: the row stays pending with a growing back-off until ``MAIL_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import base64
import json
import logging
import smtplib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, render_template
from flask_babel import force_locale
from flask_mail import Connection, Message

from .models import utcnow
from .rendering import template_context
from .signals import after_commit, pending_calls, send_committed
from .state import get_state

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
        "the account was locked after INDUSTRY_AUTH_MAX_FAILED_LOGINS failed logins in a row"
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

    def run() -> None:
        with app.app_context():
            try:
                deliver_due()
            except Exception:  # a delivery thread must never take the app down
                log.exception("flask_industry_auth: mail delivery failed")

    thread = threading.Thread(target=run, name="industry-auth-mail", daemon=True)
    state.mail_threads.add(thread)
    thread.start()


def wait_for_delivery(timeout: float = 30.0) -> None:
    """Wait for delivery threads started by :func:`dispatch` (tests, graceful shutdown)."""
    for thread in list(get_state().mail_threads):
        thread.join(timeout)


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


def _due(outbox, now, include_deferred: bool):
    """Rows a sender may take: pending and due (or deferred, when asked), or claimed by a
    sender that has not finished within ``MAIL_CLAIM_SECONDS`` (it died)."""
    stale = now - timedelta(seconds=current_app.config["INDUSTRY_AUTH_MAIL_CLAIM_SECONDS"])
    pending = outbox.c.status == "pending"
    if not include_deferred:
        pending = sa.and_(pending, outbox.c.next_attempt_at <= now)
    return sa.or_(pending, sa.and_(outbox.c.status == "sending", outbox.c.claimed_at < stale))


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


def deliver_due(limit: int = 100, *, include_deferred: bool = False) -> dict[str, int]:
    """Send every due mail this sender can claim; ``include_deferred`` also retries mail
    waiting out a back-off. Returns counts by outcome."""
    state = get_state()
    outbox = state.models.OutboxMail.__table__
    counts = {"sent": 0, "retry": 0, "failed": 0}
    mail_state = current_app.extensions["mail"]
    sender = current_app.config["INDUSTRY_AUTH_MAIL_SENDER"] or mail_state.default_sender
    due_ids = state.db.session.scalars(
        sa.select(outbox.c.id)
        .where(_due(outbox, utcnow(), include_deferred))
        .order_by(outbox.c.id)
        .limit(limit)
    ).all()
    for row_id in due_ids:
        if not _claim(row_id, include_deferred):
            continue
        row = state.db.session.get(state.models.OutboxMail, row_id)
        try:
            parts = json.loads(_fernet().decrypt(row.body))
            message = Message(
                subject=row.subject,
                recipients=[row.recipient],
                body=parts["text"],
                html=parts["html"],
                sender=sender,
            )
            with _Connection(mail_state) as connection:
                connection.send(message)
        except (OSError, smtplib.SMTPException, InvalidToken) as exc:
            outcome = _failed(row, exc)
        else:
            row.status, row.sent_at, row.body, row.last_error = "sent", utcnow(), None, None
            outcome = "sent"
        state.db.session.commit()
        counts[outcome] += 1
    return counts


def _failed(row, exc: Exception) -> str:
    max_attempts = current_app.config["INDUSTRY_AUTH_MAIL_MAX_ATTEMPTS"]
    row.last_error = f"{type(exc).__name__}: {exc}"[:300]
    if row.attempts >= max_attempts or isinstance(exc, InvalidToken):
        row.status = "failed"
        log.error(
            "flask_industry_auth: mail %s to %s failed for good: %s",
            row.id,
            row.recipient,
            row.last_error,
        )
        return "failed"
    # 30 s, 1 min, 2 min, ... capped at one hour.
    delay = min(30 * 2 ** (row.attempts - 1), 3600)
    row.status, row.next_attempt_at = "pending", utcnow() + timedelta(seconds=delay)
    log.warning("flask_industry_auth: mail %s deferred %ss: %s", row.id, delay, row.last_error)
    return "retry"
