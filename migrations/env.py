"""Alembic environment for flask_industry_auth's revisions.

Run through ``flask industry-auth migrate`` (or ``flask_industry_auth.migrate.upgrade``),
which passes the host app's connection and the package's metadata in ``config.attributes``.
"""

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run these revisions with 'flask industry-auth migrate'")

context.configure(
    connection=connection,
    target_metadata=config.attributes.get("target_metadata"),
    version_table=config.attributes.get("version_table", "industry_auth_alembic_version"),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    # One transaction per revision, begun here (the connection comes without one), so that a
    # revision may leave it for an autocommit block (CREATE INDEX CONCURRENTLY).
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
