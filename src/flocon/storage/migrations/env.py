"""Alembic environment: runs migrations on the connection flocon passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from flocon.storage.tables import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("flocon migrations run through `flocon init`, which passes a connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
