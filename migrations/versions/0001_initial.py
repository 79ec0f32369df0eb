"""The initial tables: account, password history, audit trail, mail outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = ("industry_auth",)
depends_on = None


def upgrade():
    op.create_table(
        "industry_auth_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("account_type", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("business_name", sa.String(length=100), nullable=False),
        sa.Column("business_id", sa.String(length=8), nullable=False),
        sa.Column("responsible_person", sa.String(length=50), nullable=False),
        sa.Column("contact_person", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("phone_ext", sa.String(length=10), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=True),
        sa.Column("temp_password_hash", sa.String(length=255), nullable=True),
        sa.Column("temp_password_expires_at", sa.DateTime(), nullable=True),
        sa.Column("activation_token_hash", sa.String(length=64), nullable=True),
        sa.Column("activation_expires_at", sa.DateTime(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("session_uniquifier", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("activated_at", sa.DateTime(), nullable=True),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id"),
        sa.UniqueConstraint("activation_token_hash"),
        sa.UniqueConstraint("business_id", "email_key", name="uq_industry_auth_account_owner"),
    )
    with op.batch_alter_table("industry_auth_account", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_industry_auth_account_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_industry_auth_account_state"), ["state"], unique=False)

    op.create_table(
        "industry_auth_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.String(length=32), nullable=True),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("industry_auth_audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_industry_auth_audit_account_pk"), ["account_pk"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_industry_auth_audit_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "industry_auth_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("industry_auth_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_industry_auth_outbox_account_pk"), ["account_pk"], unique=False
        )
        batch_op.create_index(
            "ix_industry_auth_outbox_due", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "industry_auth_password_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_pk"], ["industry_auth_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("industry_auth_password_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_industry_auth_password_history_account_pk"), ["account_pk"], unique=False
        )


def downgrade():
    with op.batch_alter_table("industry_auth_password_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_industry_auth_password_history_account_pk"))

    op.drop_table("industry_auth_password_history")
    with op.batch_alter_table("industry_auth_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_industry_auth_outbox_due")
        batch_op.drop_index(batch_op.f("ix_industry_auth_outbox_account_pk"))

    op.drop_table("industry_auth_outbox")
    with op.batch_alter_table("industry_auth_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_industry_auth_audit_created_at"))
        batch_op.drop_index(batch_op.f("ix_industry_auth_audit_account_pk"))

    op.drop_table("industry_auth_audit")
    with op.batch_alter_table("industry_auth_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_industry_auth_account_state"))
        batch_op.drop_index(batch_op.f("ix_industry_auth_account_business_id"))

    op.drop_table("industry_auth_account")
