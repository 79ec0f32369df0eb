"""The package's tables, mapped on the host's Flask-SQLAlchemy ``db``.

The classes are built by :func:`build_models` for the host's ``db`` so that the tables live in
the host's metadata and database and commit in the host's session. ``state`` is a plain string:
hosts add states without a migration.

Times are naive UTC (``utcnow()``) on every database, so SQLite and PostgreSQL compare alike.
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from types import SimpleNamespace

import sqlalchemy as sa
from flask import has_request_context, session
from sqlalchemy.orm import Mapped, mapped_column

from .state import get_state

NON_CERTIFICATE = "non_certificate"
BUSINESS_CERTIFICATE = "business_certificate"
CITIZEN_CERTIFICATE = "citizen_certificate"
CERTIFICATE_TYPES = frozenset({BUSINESS_CERTIFICATE, CITIZEN_CERTIFICATE})

#: Session key naming how the current session logged in ("password" or "certificate").
LOGIN_METHOD_KEY = "_industry_auth_login_method"

TABLE_PREFIX = "industry_auth_"


def utcnow() -> datetime:
    """Now, as naive UTC (what every table stores)."""
    return datetime.now(UTC).replace(tzinfo=None)


class AccountMixin:
    """Columns and behaviour of an applicant account."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 電子身分帳號: the system-generated login id, unique across the portal.
    account_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    account_type: Mapped[str] = mapped_column(sa.String(32), default=NON_CERTIFICATE)
    state: Mapped[str] = mapped_column(sa.String(32), index=True)

    business_name: Mapped[str] = mapped_column(sa.String(100))
    #: 統一編號, 8 ASCII digits.
    business_id: Mapped[str] = mapped_column(sa.String(8), index=True)
    responsible_person: Mapped[str] = mapped_column(sa.String(50))
    contact_person: Mapped[str] = mapped_column(sa.String(50))
    #: E.164, with the extension kept apart.
    phone: Mapped[str] = mapped_column(sa.String(20))
    phone_ext: Mapped[str | None] = mapped_column(sa.String(10))
    address: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254))
    #: Lower-cased email: one application per 統一編號 and address.
    email_key: Mapped[str] = mapped_column(sa.String(254))
    locale: Mapped[str] = mapped_column(sa.String(16), default="zh_Hant_TW")

    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None]
    temp_password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    temp_password_expires_at: Mapped[datetime | None]
    #: SHA-256 of the activation token; the token itself is only in the mail.
    activation_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    activation_expires_at: Mapped[datetime | None]

    #: The card bound to the account (certificate accounts): issuer (RFC 4514) and serial (hex).
    certificate_issuer: Mapped[str | None] = mapped_column(sa.String(500))
    certificate_serial: Mapped[str | None] = mapped_column(sa.String(64))

    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    #: Part of the Flask-Login id; rotating it ends every session of the account.
    session_uniquifier: Mapped[str] = mapped_column(sa.String(64))

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    activated_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    # Flask-Login protocol --------------------------------------------------------------
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        from .state import get_state

        return get_state().lifecycle.can_log_in(self.state)

    def get_id(self) -> str:
        """The Flask-Login id: changes whenever ``session_uniquifier`` is rotated."""
        return f"ia:{self.id}:{self.session_uniquifier}"

    # Filing rights (the manual: non-certificate accounts file on paper only) -----------
    @property
    def is_certificate_account(self) -> bool:
        """工商憑證 or 自然人憑證 account."""
        return self.account_type in CERTIFICATE_TYPES

    @property
    def can_file_electronically(self) -> bool:
        """True for a certificate account that logged in with its certificate this session;
        a 自然人憑證 account also needs the company's authorization (:attr:`delegation`)."""
        if not self.is_certificate_account or not has_request_context():
            return False
        if session.get(LOGIN_METHOD_KEY) != "certificate":
            return False
        return self.account_type != CITIZEN_CERTIFICATE or self.delegation is not None

    @property
    def delegation(self):
        """The authorization in force for this 自然人憑證 account to act for its 統一編號 (a
        :class:`DelegationMixin` row for the card it logs in with), or None."""
        if self.account_type != CITIZEN_CERTIFICATE or self.id is None:
            return None
        state = get_state()
        Delegation = state.models.Delegation
        return state.db.session.scalar(
            sa.select(Delegation).where(
                Delegation.account_pk == self.id,
                Delegation.business_id == self.business_id,
                Delegation.card_issuer == self.certificate_issuer,
                Delegation.card_serial == self.certificate_serial,
                Delegation.status == DELEGATION_AUTHORIZED,
            )
        )

    @property
    def phone_display(self) -> str:
        """The phone in Taiwan's national format, with its extension."""
        from .validators import format_phone

        return format_phone(self.phone, self.phone_ext)

    def __repr__(self) -> str:
        return f"<Account {self.account_id} {self.business_id} {self.state}>"


class PasswordHistoryMixin:
    """Earlier password hashes, for the 'not one of the last N' rule."""

    id: Mapped[int] = mapped_column(primary_key=True)
    account_pk: Mapped[int] = mapped_column(
        sa.ForeignKey(f"{TABLE_PREFIX}account.id", ondelete="CASCADE"), index=True
    )
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEventMixin:
    """One authentication event or state transition. Never holds a password or token."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: the trail outlives the account it describes.
    # Indexed with ``id`` (``ix_industry_auth_audit_account``): an account's newest rows.
    account_pk: Mapped[int | None]
    account_id: Mapped[str | None] = mapped_column(sa.String(32))
    event: Mapped[str] = mapped_column(sa.String(40))
    from_state: Mapped[str | None] = mapped_column(sa.String(32))
    to_state: Mapped[str | None] = mapped_column(sa.String(32))
    outcome: Mapped[str] = mapped_column(sa.String(32))
    client_ip: Mapped[str | None] = mapped_column(sa.String(45))
    actor: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ChallengeMixin:
    """A single-use challenge for a certificate signature. Only its SHA-256 is kept."""

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


#: A delegation's states: asked for, in force, withdrawn (by staff or the company's card).
DELEGATION_PENDING = "pending"
DELEGATION_AUTHORIZED = "authorized"
DELEGATION_REVOKED = "revoked"


class DelegationMixin:
    """Who may act for a company with a 自然人憑證: the card of a person, for one 統一編號,
    authorized by staff or by a consent the company's 工商憑證 signed, revocable. Audited."""

    id: Mapped[int] = mapped_column(primary_key=True)
    account_pk: Mapped[int] = mapped_column(
        sa.ForeignKey(f"{TABLE_PREFIX}account.id", ondelete="CASCADE"), index=True
    )
    business_id: Mapped[str] = mapped_column(sa.String(8), index=True)
    card_issuer: Mapped[str] = mapped_column(sa.String(500))
    card_serial: Mapped[str] = mapped_column(sa.String(64))
    #: The card holder as the card names them (its subject).
    holder: Mapped[str] = mapped_column(sa.String(500))
    #: Authorizing also binds the card to the account (a password account asked for it).
    binds: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(16), default=DELEGATION_PENDING)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    authorized_at: Mapped[datetime | None]
    authorized_by: Mapped[str | None] = mapped_column(sa.String(600))
    #: The company card's CMS signature over the consent, when it authorized.
    consent: Mapped[str | None] = mapped_column(sa.Text)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(600))


class OutboxMailMixin:
    """A mail written in the same transaction as the change that caused it.

    Bodies may hold a temporary password or an activation link, so they are stored encrypted
    and erased once delivered.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    account_pk: Mapped[int | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    #: pending → sending → sent, or failed after too many attempts.
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


#: The distinct one- and two-character substrings of ``lower(name)``: what the GIN index on
#: account names holds, so that any substring is found by index (CJK names have no words to
#: split, and pg_trgm needs three characters). IMMUTABLE, as an index expression must be.
GRAMS_FUNCTION = "industry_auth_name_grams"
CREATE_GRAMS_FUNCTION = """\
CREATE OR REPLACE FUNCTION industry_auth_name_grams(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(lower(name), i, n)), '{}')
  FROM generate_series(1, char_length(name)) AS i, generate_series(1, 2) AS n
  WHERE i + n - 1 <= char_length(name)
$$"""

#: Mail a sender may still take or staff may requeue: the outbox's partial index holds only
#: these, so it stays small however much sent mail the table keeps.
WAITING_MAIL = ("pending", "sending", "failed")


def _account_indexes() -> tuple:
    grams = sa.Index(
        "ix_industry_auth_account_name_grams",
        sa.func.industry_auth_name_grams(sa.literal_column("business_name")),
        postgresql_using="gin",
    ).ddl_if(dialect="postgresql")
    return (
        sa.Index("ix_industry_auth_account_email_key", "email_key"),
        # Newest first, for the search pages.
        sa.Index("ix_industry_auth_account_created", "created_at", "id"),
        grams,
    )


def _waiting_mail_where() -> sa.ColumnElement:
    return sa.text("status IN ({})".format(", ".join(f"'{s}'" for s in WAITING_MAIL)))


_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def build_models(db) -> SimpleNamespace:
    """Map the package's tables on ``db`` once; later calls return the same classes."""
    if db in _MODELS:
        return _MODELS[db]

    class Account(AccountMixin, db.Model):
        __tablename__ = f"{TABLE_PREFIX}account"
        __table_args__ = (
            sa.UniqueConstraint("business_id", "email_key", name="uq_industry_auth_account_owner"),
            sa.UniqueConstraint(
                "certificate_issuer", "certificate_serial", name="uq_industry_auth_account_card"
            ),
            *_account_indexes(),
        )

    class PasswordHistory(PasswordHistoryMixin, db.Model):
        __tablename__ = f"{TABLE_PREFIX}password_history"

    class AuditEvent(AuditEventMixin, db.Model):
        __tablename__ = f"{TABLE_PREFIX}audit"
        __table_args__ = (sa.Index("ix_industry_auth_audit_account", "account_pk", "id"),)

    class Challenge(ChallengeMixin, db.Model):
        __tablename__ = f"{TABLE_PREFIX}challenge"

    class OutboxMail(OutboxMailMixin, db.Model):
        __tablename__ = f"{TABLE_PREFIX}outbox"
        __table_args__ = (
            sa.Index(
                "ix_industry_auth_outbox_waiting",
                "status",
                "next_attempt_at",
                postgresql_where=_waiting_mail_where(),
                sqlite_where=_waiting_mail_where(),
            ),
        )

    class Delegation(DelegationMixin, db.Model):
        __tablename__ = f"{TABLE_PREFIX}delegation"

    models = SimpleNamespace(
        Account=Account,
        PasswordHistory=PasswordHistory,
        AuditEvent=AuditEvent,
        OutboxMail=OutboxMail,
        Challenge=Challenge,
        Delegation=Delegation,
        tables=[
            m.__table__
            for m in (Account, PasswordHistory, AuditEvent, OutboxMail, Challenge, Delegation)
        ],
    )
    # db.create_all() makes the function the name index needs (revision 0004 does otherwise).
    sa.event.listen(
        Account.__table__,
        "before_create",
        sa.DDL(CREATE_GRAMS_FUNCTION).execute_if(dialect="postgresql"),
    )
    _MODELS[db] = models
    return models
