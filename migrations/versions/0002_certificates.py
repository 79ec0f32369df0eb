"""Certificate accounts: the bound card on the account, and single-use challenges.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    # On PostgreSQL the card constraint's index is built outside this revision's transaction
    # (below), which commits what comes before it: a build that failed leaves those parts
    # in place and the revision unrecorded, so a second run skips them.
    existing = sa.inspect(op.get_bind())
    if not existing.has_table("industry_auth_challenge"):
        _challenge_table()
    columns = {c["name"] for c in existing.get_columns("industry_auth_account")}
    with op.batch_alter_table("industry_auth_account", schema=None) as batch_op:
        if "certificate_issuer" not in columns:
            batch_op.add_column(
                sa.Column("certificate_issuer", sa.String(length=500), nullable=True)
            )
        if "certificate_serial" not in columns:
            batch_op.add_column(
                sa.Column("certificate_serial", sa.String(length=64), nullable=True)
            )
        if op.get_bind().dialect.name != "postgresql":
            batch_op.create_unique_constraint(
                "uq_industry_auth_account_card", ["certificate_issuer", "certificate_serial"]
            )
    if op.get_bind().dialect.name == "postgresql":
        _unique_card_concurrently()


def _challenge_table():
    op.create_table(
        "industry_auth_challenge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("industry_auth_challenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_industry_auth_challenge_expires_at"), ["expires_at"], unique=False
        )


def _unique_card_concurrently():
    """The same UNIQUE constraint, without holding the accounts table locked while its index
    is built: the index is built concurrently, then the constraint takes it over (a brief
    lock, no scan). A failed build's INVALID leftover is dropped first."""
    name = "uq_industry_auth_account_card"
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        op.execute(
            f"CREATE UNIQUE INDEX CONCURRENTLY {name} "
            "ON industry_auth_account (certificate_issuer, certificate_serial)"
        )
    op.execute(f"ALTER TABLE industry_auth_account ADD CONSTRAINT {name} UNIQUE USING INDEX {name}")


def downgrade():
    with op.batch_alter_table("industry_auth_account", schema=None) as batch_op:
        batch_op.drop_constraint("uq_industry_auth_account_card", type_="unique")
        batch_op.drop_column("certificate_serial")
        batch_op.drop_column("certificate_issuer")

    with op.batch_alter_table("industry_auth_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_industry_auth_challenge_expires_at"))

    op.drop_table("industry_auth_challenge")
