"""Alembic environment: migrations run on the connection the store hands over."""

from __future__ import annotations

from alembic import context

from store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via store.db.migrate
    raise RuntimeError("defwatch migrations run through store.migrate(), not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things in place
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
