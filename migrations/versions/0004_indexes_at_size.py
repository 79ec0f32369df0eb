"""Indexes for a national data set: search by email and by part of the business name, newest
first; an account's latest audit rows; the outbox's waiting mail only.

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-12

On PostgreSQL every index is built with CREATE INDEX CONCURRENTLY, outside a transaction
(``autocommit_block``), so the tables stay readable and writable while it runs. A concurrent
build that fails (a deadlock, a cancelled command, a unique violation) leaves an INVALID index
behind; running the revision again drops such a leftover first and builds it anew.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ACCOUNT = "industry_auth_account"
AUDIT = "industry_auth_audit"
OUTBOX = "industry_auth_outbox"

# As in flask_industry_auth.models (a revision never imports the package's current code).
CREATE_BIGRAMS_FUNCTION = """\
CREATE OR REPLACE FUNCTION industry_auth_name_grams(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(lower(name), i, n)), '{}')
  FROM generate_series(1, char_length(name)) AS i, generate_series(1, 2) AS n
  WHERE i + n - 1 <= char_length(name)
$$"""
WAITING = "status IN ('pending', 'sending', 'failed')"


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _create(name: str, table: str, columns: list, **kw) -> None:
    if not _postgresql():
        op.create_index(name, table, columns, **kw)
        return
    with op.get_context().autocommit_block():
        # A failed concurrent build left this name as an INVALID index: build it again.
        invalid = op.get_bind().scalar(
            sa.text(
                "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = :name AND pg_catalog.pg_table_is_visible(c.oid)"
            ),
            {"name": name},
        )
        if invalid:
            op.drop_index(name, table_name=table, postgresql_concurrently=True)
        op.create_index(
            name, table, columns, postgresql_concurrently=True, if_not_exists=True, **kw
        )


def _drop(name: str, table: str) -> None:
    if not _postgresql():
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)


def upgrade():
    _create("ix_industry_auth_account_email_key", ACCOUNT, ["email_key"])
    _create("ix_industry_auth_account_created", ACCOUNT, ["created_at", "id"])
    if _postgresql():
        op.execute(CREATE_BIGRAMS_FUNCTION)
        _create(
            "ix_industry_auth_account_name_grams",
            ACCOUNT,
            [sa.text("industry_auth_name_grams(business_name)")],
            postgresql_using="gin",
        )
    # (account_pk, id) serves what the account_pk index did, and an account's newest rows.
    _create("ix_industry_auth_audit_account", AUDIT, ["account_pk", "id"])
    _drop("ix_industry_auth_audit_account_pk", AUDIT)
    # The new partial index first: the due query is never without one.
    _create(
        "ix_industry_auth_outbox_waiting",
        OUTBOX,
        ["status", "next_attempt_at"],
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )
    _drop("ix_industry_auth_outbox_due", OUTBOX)


def downgrade():
    _create("ix_industry_auth_outbox_due", OUTBOX, ["status", "next_attempt_at"])
    _drop("ix_industry_auth_outbox_waiting", OUTBOX)
    _create("ix_industry_auth_audit_account_pk", AUDIT, ["account_pk"])
    _drop("ix_industry_auth_audit_account", AUDIT)
    if _postgresql():
        _drop("ix_industry_auth_account_name_grams", ACCOUNT)
        op.execute("DROP FUNCTION IF EXISTS industry_auth_name_grams(text)")
    _drop("ix_industry_auth_account_created", ACCOUNT)
    _drop("ix_industry_auth_account_email_key", ACCOUNT)
