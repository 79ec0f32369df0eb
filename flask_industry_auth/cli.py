"""``flask industry-auth …``: the operator's commands."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from .dates import format_timestamp
from .lifecycle import IllegalTransition
from .state import get_state
from .validators import normalize_business_id

cli = AppGroup("industry-auth", help="Applicant accounts of flask_industry_auth.")


def _account_or_exit(business_id: str, account_id: str):
    from .flows import find_account

    account = find_account(account_id)
    if account is None or account.business_id != normalize_business_id(business_id):
        raise click.ClickException(f"no account {account_id!r} for business {business_id!r}")
    return account


def _actor() -> str:
    """The operator as the audit trail names them: ``cli:<login name>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


def _refused(exc: Exception) -> click.ClickException:
    return click.ClickException(terminal_safe(str(exc)))


# Shown escaped, never sent to the terminal: C0 and C1 controls (ESC, CR, BEL…), DEL, format
# characters (bidi embeddings, overrides and isolates, zero-width characters), line and
# paragraph separators, surrogates, private-use and unassigned code points.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def terminal_safe(value: object) -> str:
    """``value`` as text a terminal shows as it is: every control character (C0, C1, ESC,
    DEL), bidi or zero-width control becomes a visible escape (``\\x1b``, ``\\u202e``).
    For every command that prints stored text (names, certificate data, audit details)."""
    import unicodedata

    text = "" if value is None else str(value)
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        _escape(ch) if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch for ch in text
    )


#: What a spreadsheet reads as the start of a formula (OWASP: CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """A CSV cell a spreadsheet does not run: text starting with ``= + - @``, a tab or a CR
    gets a leading ``'``; then escaped as :func:`terminal_safe`. Numbers stay numbers."""
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text
    return terminal_safe(text)


def _search_options(function):
    for option in reversed(
        [
            click.option("--business-id", help="統一編號"),
            click.option("--account-id", help="電子身分帳號"),
            click.option("--email"),
            click.option("--state", help="a lifecycle state (see `states`)"),
            click.option("--page", default=1, show_default=True),
            click.option("--per-page", default=20, show_default=True),
        ]
    ):
        function = option(function)
    return function


def _print_page(result) -> None:
    if not result.accounts:
        click.echo("no accounts")
        return
    click.echo(f"{'account_id':14} {'business_id':11} {'state':16} {'type':20} business_name")
    safe = terminal_safe
    for a in result.accounts:
        click.echo(
            f"{safe(a.account_id):14} {safe(a.business_id):11} {safe(a.state):16} "
            f"{safe(a.account_type):20} {safe(a.business_name)}"
        )
    more = "+" if result.more else ""  # counting stopped at the cap
    click.echo(f"page {result.page} of {result.pages}{more} ({result.total}{more} accounts)")


@cli.command("list")
@_search_options
def list_accounts(**filters) -> None:
    """List accounts, newest first (filters as for `search`)."""
    from .flows.operations import search

    _print_page(search(**filters))


@cli.command("search")
@click.argument("text", required=False)
@_search_options
def search_accounts(text: str | None, **filters) -> None:
    """Find accounts by TEXT (an account id, 統一編號 or email, or part of a business name)
    and/or the exact filters."""
    from .flows.operations import search

    _print_page(search(text=text, **filters))


@cli.command("show")
@click.argument("business_id")
@click.argument("account_id")
@click.option("--history", default=10, show_default=True, help="audit rows to show")
def show(business_id: str, account_id: str, history: int) -> None:
    """Print an account: state, type, basic data, the actions open to staff, its latest
    audit rows."""
    from .flows.operations import audit_trail

    account = _account_or_exit(business_id, account_id)
    lifecycle = get_state().lifecycle
    rows = [
        ("account_id", account.account_id),
        ("business_id", account.business_id),
        ("business_name", account.business_name),
        ("state", account.state),
        ("type", account.account_type),
        ("responsible", account.responsible_person),
        ("contact", account.contact_person),
        ("phone", account.phone_display),
        ("address", account.address),
        ("email", account.email),
        ("failed_logins", account.failed_logins),
        # Times in INDUSTRY_AUTH_TIMEZONE, each with its offset.
        ("locked_until", format_timestamp(account.locked_until, seconds=True)),
        ("created_at", format_timestamp(account.created_at, seconds=True)),
        ("last_login_at", format_timestamp(account.last_login_at, seconds=True)),
        ("actions", ", ".join(lifecycle.operator_events(account.state)) or "-"),
    ]
    for key, value in rows:
        click.echo(f"{key:14} {terminal_safe(value)}")
    if history:
        click.echo("history:")
        for row in audit_trail(account_id=account.account_id, limit=history):
            safe = {k: terminal_safe(v) for k, v in row.items() if k != "created_at"}
            click.echo(
                f"  {format_timestamp(row['created_at'], seconds=True)} {safe['event']:20} "
                f"{safe['outcome']:12}"
                f" {safe['from_state']:>12} -> {safe['to_state']:12} "
                f"{safe['actor']} {safe['detail']}".rstrip()
            )


def _transition_command(event: str, help_text: str):
    # Whether the reason is required is the transition's own declaration (requires_reason):
    # the lifecycle refuses without it, and the refusal is printed.
    @click.argument("business_id")
    @click.argument("account_id")
    @click.option("--reason", help="why: kept in the audit trail (and mailed, if it mails)")
    def command(business_id: str, account_id: str, reason: str | None = None) -> None:
        _perform(business_id, account_id, event, reason)

    command.__doc__ = help_text
    return cli.command(event.replace("_", "-"))(command)


def _perform(business_id: str, account_id: str, event: str, reason: str | None) -> None:
    from .flows.operations import OperationRefused, perform

    account = _account_or_exit(business_id, account_id)
    try:
        state = perform(account.account_id, event, actor=_actor(), reason=reason)
    except (IllegalTransition, OperationRefused) as exc:
        raise _refused(exc) from None
    click.echo(f"{terminal_safe(account_id.upper())}: {terminal_safe(state)}")


_transition_command(
    "lock", "Lock an account until staff unlock it (or its owner resets the password)."
)
_transition_command("unlock", "Unlock a locked account now.")
_transition_command("disable", "停用: disable an account; its sessions end.")
_transition_command("enable", "啟用: enable a disabled account again.")
_transition_command("approve", "Approve an application: its activation mail goes out.")
_transition_command("reject", "Reject an application; the reason (required) is mailed.")


@cli.command("transition")
@click.argument("business_id")
@click.argument("account_id")
@click.argument("event")
@click.option("--reason", help="kept in the audit trail")
def transition(business_id: str, account_id: str, event: str, reason: str | None) -> None:
    """Take any operator EVENT of the lifecycle (a host's own included)."""
    if event == "delete":
        raise click.UsageError("use `flask industry-auth delete`, which asks first")
    _perform(business_id, account_id, event, reason)


@cli.command("resend-activation")
@click.argument("business_id")
@click.argument("account_id")
def resend_activation(business_id: str, account_id: str) -> None:
    """Mail a new activation link and system password to an account awaiting activation."""
    from .flows.operations import OperationRefused
    from .flows.operations import resend_activation as resend

    account = _account_or_exit(business_id, account_id)
    try:
        resend(account.account_id, actor=_actor())
    except OperationRefused as exc:
        raise _refused(exc) from None
    click.echo(
        f"{terminal_safe(account.account_id)}: activation mail queued to "
        f"{terminal_safe(account.email)}"
    )


@cli.command("delete")
@click.argument("business_id")
@click.argument("account_id")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def delete(business_id: str, account_id: str, yes: bool) -> None:
    """刪除: remove an account and its personal data; its audit trail stays, pseudonymised."""
    from .flows.operations import delete as delete_account

    account = _account_or_exit(business_id, account_id)
    if not yes:
        click.confirm(
            f"Delete {terminal_safe(account.account_id)} ({terminal_safe(account.business_name)})"
            " and its personal data?",
            abort=True,
        )
    name = delete_account(account.account_id, actor=_actor())
    click.echo(
        f"{terminal_safe(account_id.upper())}: deleted; the audit trail calls it "
        f"{terminal_safe(name)}"
    )


# -- who may act for a company with a 自然人憑證 (flows.delegation) -------------------------

_DELEGATION_STATUSES = ("pending", "authorized", "revoked")
_REFUSED = {
    "not_pending": "is not pending (it is {status})",
    "not_authorized": "is already revoked",
    "card_taken": "cannot be approved: its card is bound to another account now",
}


def _delegation_or_exit(delegation_id: int):
    from .flows.delegation import get

    found = get(delegation_id) if 0 < delegation_id <= 2**31 - 1 else None
    if found is None:
        raise click.ClickException(f"no delegation #{delegation_id}")
    return found


def _delegation_actor(name: str | None) -> str:
    """``--actor NAME`` as ``cli:NAME``; without it, the login name (as other commands)."""
    return f"cli:{name.strip()}"[:64] if name and name.strip() else _actor()


def _delegation_step(delegation_id: int, actor: str | None, step, done: str) -> None:
    from .flows.delegation import DelegationRefused

    found = _delegation_or_exit(delegation_id)
    try:
        step(found, _delegation_actor(actor))
    except DelegationRefused as refused:
        words = _REFUSED.get(refused.reason, f"is refused ({refused.reason})")
        raise click.ClickException(
            f"delegation #{delegation_id} {words.format(status=found.status)}"
        ) from None
    click.echo(f"delegation #{delegation_id}: {done}")


@cli.command("delegations")
@click.option("--status", type=click.Choice(_DELEGATION_STATUSES), help="only this status")
def delegations(status: str | None) -> None:
    """List who may act for a company with a 自然人憑證 (pending, authorized, revoked),
    newest first."""
    from .flows.delegation import listed

    rows = listed(status)
    if not rows:
        click.echo("no delegations")
        return
    state = get_state()
    Account = state.models.Account
    account_ids = dict(
        state.db.session.execute(
            sa.select(Account.id, Account.account_id).where(
                Account.id.in_({d.account_pk for d in rows})
            )
        ).all()
    )
    click.echo(
        f"{'id':>6} {'status':10} {'business_id':11} {'account_id':14} {'binds':5} "
        f"{'requested':23} holder / card"
    )
    safe = terminal_safe
    for d in rows:
        click.echo(
            f"{d.id:>6} {safe(d.status):10} {safe(d.business_id):11} "
            f"{safe(account_ids.get(d.account_pk, '-')):14} {'yes' if d.binds else 'no':5} "
            f"{format_timestamp(d.requested_at)} {safe(d.holder)} / {safe(d.card_issuer)} "
            f"#{safe(d.card_serial)}"
        )
        if d.authorized_at:
            click.echo(
                f"{'':6} authorized {format_timestamp(d.authorized_at)} by {safe(d.authorized_by)}"
            )
        if d.revoked_at:
            click.echo(
                f"{'':6} revoked    {format_timestamp(d.revoked_at)} by {safe(d.revoked_by)}"
            )
    click.echo(f"{len(rows)} delegation(s)")


_actor_option = click.option(
    "--actor", metavar="NAME", help="who you are, for the audit trail (default: your login name)"
)


@cli.command("approve-delegation")
@click.argument("delegation_id", metavar="ID", type=int)
@_actor_option
def approve_delegation(delegation_id: int, actor: str | None) -> None:
    """Authorize pending delegation ID: its 自然人憑證 files for the company (a card asked to
    be bound becomes the account's login, its password gone)."""
    from .flows.delegation import authorize_by_staff

    _delegation_step(delegation_id, actor, authorize_by_staff, "authorized")


@cli.command("revoke-delegation")
@click.argument("delegation_id", metavar="ID", type=int)
@_actor_option
def revoke_delegation(delegation_id: int, actor: str | None) -> None:
    """Revoke delegation ID (pending or authorized): the account files on paper again."""
    from .flows.delegation import revoke_by_staff

    _delegation_step(delegation_id, actor, revoke_by_staff, "revoked")


@cli.command("disable-idle")
@click.option("--days", type=int, required=True, help="days without a login")
@click.option("--dry-run", is_flag=True, help="only list the accounts")
@click.option(
    "--batch-size", type=int, default=500, show_default=True, help="accounts per transaction"
)
def disable_idle(days: int, dry_run: bool, batch_size: int) -> None:
    """停用 accounts that have not logged in for DAYS days, a batch per transaction (each
    committed, then mailed); prints each account id as its batch is done."""
    from .flows.operations import OperationRefused, idle_accounts
    from .flows.operations import disable_idle as disable

    def echo(account_ids: list[str]) -> None:
        for account_id in account_ids:
            click.echo(terminal_safe(account_id))

    try:
        if dry_run:
            count = 0
            for account in idle_accounts(days, batch_size=batch_size):
                echo([account.account_id])
                count += 1  # noqa: SIM113 - a generator, streamed: no len()
        else:
            count = disable(days, actor=_actor(), batch_size=batch_size, progress=echo)
    except OperationRefused as exc:
        raise _refused(exc) from None
    verb = "would disable" if dry_run else "disabled"
    click.echo(f"{verb} {count} account(s) idle for {days} days or more")


@cli.command("audit")
@click.argument("account_id", required=False)
@click.option("--since", type=click.DateTime(), help="from this UTC time (inclusive)")
@click.option("--until", type=click.DateTime(), help="to this UTC time (exclusive)")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
def audit(account_id: str | None, since, until, fmt: str) -> None:
    """Export the audit trail of ACCOUNT_ID (or a deleted account's pseudonym), or of a time
    range, as CSV or JSON lines, oldest first."""
    import csv

    from .flows.operations import AUDIT_FIELDS, OperationRefused, audit_trail

    if not (account_id or since or until):
        raise click.UsageError("give an ACCOUNT_ID, --since or --until")
    try:
        rows = audit_trail(account_id=account_id, since=since, until=until)
    except OperationRefused as exc:
        raise _refused(exc) from None
    out = _Echo()
    writer = csv.DictWriter(out, fieldnames=AUDIT_FIELDS) if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for row in rows:
        row = {**row, "created_at": row["created_at"].isoformat()}
        if writer:
            # Spreadsheets open it: no cell starts a formula, no control reaches a terminal.
            writer.writerow({key: csv_safe(value) for key, value in row.items()})
        else:
            out.write(_json_line(row) + "\n")


def _json_line(row: dict) -> str:
    """One JSON line, readable (CJK as is) but with every character :func:`terminal_safe`
    escapes written as a JSON ``\\uXXXX`` escape: the same data, safe in a terminal."""
    import json
    import unicodedata

    text = json.dumps(row, ensure_ascii=False)
    return "".join(
        json.dumps(ch)[1:-1] if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch
        for ch in text
    )


class _Echo:
    """A file-like target for csv that writes through click (testable, pipe-safe)."""

    def write(self, text: str) -> None:
        click.echo(text, nl=False)


@cli.command("prune-audit")
@click.option(
    "--days",
    type=int,
    help="keep this many days (default INDUSTRY_AUTH_AUDIT_RETENTION_DAYS, at least 180)",
)
@click.option(
    "--batch-size", type=int, default=2_000, show_default=True, help="rows per transaction"
)
def prune_audit(days: int | None, batch_size: int) -> None:
    """Delete audit rows older than the retention period, a batch per transaction (progress
    on stderr)."""
    from .flows.operations import OperationRefused
    from .flows.operations import prune_audit as prune

    try:
        removed = prune(days, batch_size=batch_size, progress=_progress("audit row(s)"))
    except OperationRefused as exc:
        raise _refused(exc) from None
    click.echo(f"removed {removed} audit row(s)")


@cli.command("purge-mail")
@click.option(
    "--days", type=int, help="keep this many days (default INDUSTRY_AUTH_MAIL_RETENTION_DAYS)"
)
@click.option(
    "--batch-size", type=int, default=2_000, show_default=True, help="rows per transaction"
)
def purge_mail(days: int | None, batch_size: int) -> None:
    """Delete sent mail, and mail given up on, older than the retention period from the
    outbox, a batch per transaction (progress on stderr). Waiting mail is never deleted."""
    from .flows.operations import OperationRefused
    from .flows.operations import purge_mail as purge

    try:
        removed = purge(days, batch_size=batch_size, progress=_progress("mail(s)"))
    except OperationRefused as exc:
        raise _refused(exc) from None
    click.echo(f"removed {removed} mail(s)")


def _progress(what: str):
    def report(removed: int) -> None:
        click.echo(f"... {removed} {what} removed so far", err=True)

    return report


@cli.command("states")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "svg"]),
    default="mermaid",
    show_default=True,
)
def states(fmt: str) -> None:
    """Print the account lifecycle (host additions included) as Mermaid or SVG."""
    lifecycle = get_state().lifecycle
    click.echo(lifecycle.to_svg() if fmt == "svg" else lifecycle.to_mermaid(), nl=False)


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

    Several workers may run at once, on several machines: each mail is claimed by one. A
    worker holds no transaction between looks, waits out a database outage (1, 2, 4 … 30 s)
    and stops after the mail in hand on SIGTERM. Exits 1 when some mail failed for good (or,
    without --watch, is still waiting).
    """
    from sqlalchemy.exc import InterfaceError, OperationalError

    from .mail import deliver_due

    stop, restore = _stop_flag() if watch else (None, None)
    total = {"sent": 0, "retry": 0, "failed": 0}
    outage = 0.0
    try:
        while True:
            try:
                counts = deliver_due(include_deferred=include_deferred, stop=stop)
            except (OperationalError, InterfaceError) as error:
                if not watch:
                    raise click.ClickException(f"the database is unreachable: {error}") from None
                get_state().db.session.remove()  # reconnect at the next look
                outage = min(outage * 2 or 1.0, 30.0)
                click.echo(
                    f"database unreachable ({type(error).__name__}); next look in {outage:g} s",
                    err=True,
                )
                if stop.wait(outage):
                    break
                continue
            if outage:
                click.echo("database reachable again", err=True)
                outage = 0.0
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
            if not busy and stop.wait(interval):
                break
    finally:
        if restore:
            restore()
    click.echo(f"sent {total['sent']}, deferred {total['retry']}, failed {total['failed']}")
    if total["failed"] or (not watch and total["retry"]):
        raise SystemExit(1)


def _stop_flag():
    """An Event set by SIGTERM or SIGINT (the worker finishes its current mail and stops),
    and a function that puts the previous handlers back."""
    import signal
    import threading

    stop = threading.Event()
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, lambda *_: stop.set())

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return stop, restore


@cli.command("requeue-mail")
@click.option("--id", "ids", type=int, multiple=True, metavar="N", help="the mail to requeue")
@click.option("--failed", "all_failed", is_flag=True, help="requeue every failed mail")
def requeue_mail(ids: tuple[int, ...], all_failed: bool) -> None:
    """Send failed mail again: mail N (--id, repeatable) or every failed mail (--failed),
    with fresh attempts. With thread delivery it is sent now; workers take it otherwise."""
    from flask import current_app

    from .mail import deliver_due, failed_mail, requeue_mail

    if bool(ids) == all_failed:
        raise click.UsageError("give --id N (one or more) or --failed")
    if ids:
        known = {row.id for row in failed_mail(limit=2**31 - 1)}
        missing = [n for n in ids if n not in known]
        if missing:
            raise click.ClickException(
                "not failed mail (or no such mail): " + ", ".join(f"#{n}" for n in missing)
            )
    requeued = requeue_mail(list(ids) if ids else None)
    click.echo(f"requeued {len(requeued)} mail(s)" + "".join(f" #{n}" for n in requeued))
    if requeued and current_app.config["INDUSTRY_AUTH_MAIL_DELIVERY"] == "thread":
        counts = deliver_due()
        click.echo(f"sent {counts['sent']}, deferred {counts['retry']}, failed {counts['failed']}")
        if counts["failed"]:
            raise SystemExit(1)


@cli.command("migrate")
@click.option("--revision", default="heads", show_default=True)
@click.option(
    "--stamp",
    "stamp_revision",
    metavar="REVISION",
    help="Only record that the tables are at REVISION (they were made another way).",
)
def migrate(revision: str, stamp_revision: str | None) -> None:
    """Create or upgrade the package's tables (Alembic, branch ``industry_auth``)."""
    from alembic.util import CommandError

    from .migrate import MigrationError, stamp, upgrade

    try:
        if stamp_revision:
            stamp(stamp_revision)
            click.echo(f"industry_auth tables recorded at {stamp_revision}")
            return
        upgrade(revision)
    except (MigrationError, CommandError) as error:  # e.g. a revision that does not exist
        raise click.ClickException(str(error)) from None
    click.echo(f"industry_auth tables at {revision}")
