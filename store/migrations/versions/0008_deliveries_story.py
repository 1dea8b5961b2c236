"""Deliveries by story: whether a rule and channel already have a delivery for a story's
group is asked for every story stored (store.outbox.group_delivery); without an index it read
every delivery, so a first cycle of 30,000 items slowed with each one queued.

Revision ID: 0008_deliveries_story
Revises: 0005b
"""

from alembic import op

revision = "0008_deliveries_story"
down_revision = "0005b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_story", "deliveries", ["story_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_story", table_name="deliveries")
