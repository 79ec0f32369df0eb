"""``flask industry-auth …``: the operator's commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .extension import get_state
from .lifecycle import IllegalTransition
from .validators import normalize_business_id

cli = AppGroup("industry-auth", help="Applicant accounts of flask_industry_auth.")


def _account_or_exit(business_id: str, account_id: str):
    from .flows import find_account

    account = find_account(account_id)
    if account is None or account.business_id != normalize_business_id(business_id):
        raise click.ClickException(f"no account {account_id!r} for business {business_id!r}")
    return account


@cli.command("show")
@click.argument("business_id")
@click.argument("account_id")
def show(business_id: str, account_id: str) -> None:
    """Print an account's state, type and failed-login count."""
    account = _account_or_exit(business_id, account_id)
    rows = [
        ("account_id", account.account_id),
        ("business_id", account.business_id),
        ("business_name", account.business_name),
        ("state", account.state),
        ("type", account.account_type),
        ("failed_logins", account.failed_logins),
        ("locked_until", account.locked_until or "-"),
        ("email", account.email),
        ("created_at", account.created_at),
        ("last_login_at", account.last_login_at or "-"),
    ]
    for key, value in rows:
        click.echo(f"{key:14} {value}")


@cli.command("unlock")
@click.argument("business_id")
@click.argument("account_id")
def unlock(business_id: str, account_id: str) -> None:
    """Unlock a locked account now."""
    from .flows.authentication import unlock as unlock_flow

    account = _account_or_exit(business_id, account_id)
    try:
        unlock_flow(account, actor="cli")
    except IllegalTransition as exc:
        get_state().db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"{account.account_id}: {account.state}")


@cli.command("states")
def states() -> None:
    """Print the account lifecycle (host additions included) as a Mermaid diagram."""
    click.echo(get_state().lifecycle.to_mermaid(), nl=False)


@cli.command("deliver-mail")
@click.option(
    "--now",
    "include_deferred",
    is_flag=True,
    help="Also retry mail that is waiting out a back-off.",
)
@click.option(
    "--watch", is_flag=True, help="Keep running as a mail worker until SIGTERM or Ctrl-C."
)
@click.option(
    "--interval",
    default=2.0,
    show_default=True,
    help="Seconds between looks at the outbox when it is empty (--watch).",
)
def deliver_mail(include_deferred: bool, watch: bool, interval: float) -> None:
    """Send the mail waiting in the outbox, once or (--watch) as a long-lived worker.

    Several workers may run at once, on several machines: each mail is claimed by one.
    """
    from .mail import deliver_due

    stop = _stop_flag() if watch else None
    total = {"sent": 0, "retry": 0, "failed": 0}
    while True:
        counts = deliver_due(include_deferred=include_deferred)
        for key, value in counts.items():
            total[key] += value
        if counts["failed"]:
            click.echo(f"{counts['failed']} mail(s) failed for good; see the log", err=True)
        busy = counts["sent"] > 0
        if not watch:
            if not busy:
                break
            continue
        if stop.is_set():
            break
        if not busy:
            stop.wait(interval)
            if stop.is_set():
                break
    click.echo(f"sent {total['sent']}, deferred {total['retry']}, failed {total['failed']}")
    if not watch and (total["retry"] or total["failed"]):
        raise SystemExit(1)


def _stop_flag():
    """An Event set by SIGTERM or SIGINT: the worker finishes its current mail and stops."""
    import signal
    import threading

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@cli.command("migrate")
@click.option("--revision", default="heads", show_default=True)
def migrate(revision: str) -> None:
    """Create or upgrade the package's tables (Alembic, branch ``industry_auth``)."""
    from .migrate import upgrade

    upgrade(revision)
    click.echo(f"industry_auth tables at {revision}")
