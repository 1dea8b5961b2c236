"""The alert outbox: digest batches and queue times on deliveries, operations-alert state.

Revision ID: 0005
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from store.schema import UTCDateTime

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("batch", sa.String(64)))
        batch.add_column(sa.Column("queued", UTCDateTime))
    op.create_index("ix_deliveries_batch", "deliveries", ["batch"])
    op.create_table(
        "ops_states",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("since", UTCDateTime, nullable=False),
        sa.Column("run_id", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.PrimaryKeyConstraint("source", name="pk_ops_states"),
    )


def downgrade() -> None:
    op.drop_table("ops_states")
    op.drop_index("ix_deliveries_batch", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("queued")
        batch.drop_column("batch")
