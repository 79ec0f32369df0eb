"""Who may act for a company with a 自然人憑證: delegations, authorized by staff or the
company's 工商憑證, revocable.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "industry_auth_delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.String(length=8), nullable=False),
        sa.Column("card_issuer", sa.String(length=500), nullable=False),
        sa.Column("card_serial", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=500), nullable=False),
        sa.Column("binds", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("authorized_at", sa.DateTime(), nullable=True),
        sa.Column("authorized_by", sa.String(length=600), nullable=True),
        sa.Column("consent", sa.Text(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=600), nullable=True),
        sa.ForeignKeyConstraint(["account_pk"], ["industry_auth_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("industry_auth_delegation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_industry_auth_delegation_account_pk"), ["account_pk"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_industry_auth_delegation_business_id"), ["business_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("industry_auth_delegation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_industry_auth_delegation_business_id"))
        batch_op.drop_index(batch_op.f("ix_industry_auth_delegation_account_pk"))
    op.drop_table("industry_auth_delegation")
