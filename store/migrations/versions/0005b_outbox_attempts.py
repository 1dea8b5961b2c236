"""The alert outbox, second step: when a delivery was first attempted (the give-up age counts
from it, not from queueing) and which targets of a many-target channel (Apprise) have it.

Revision ID: 0005b
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from store.schema import UTCDateTime

revision = "0005b"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("first_attempt", UTCDateTime))
        batch.add_column(sa.Column("targets_done", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("targets_done")
        batch.drop_column("first_attempt")
