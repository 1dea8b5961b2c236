"""Cross-source copies: MinHash signatures, LSH band buckets and the index's fingerprint.

Revision ID: 0003
Revises: 0002

Stories stored before this revision are indexed (and linked) the first time link detection
is installed on the store (store.copies.CopyDetector.install), not here.
"""

import sqlalchemy as sa
from alembic import op

from store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "copy_signatures",
        sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE", name="fk_copy_signatures_story_id_stories"), nullable=False),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("shingles", sa.Integer, nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("story_id", name="pk_copy_signatures"),
    )
    op.create_table(
        "copy_bands",
        sa.Column("band_key", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("story_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("band_key", "day", "story_id", name="pk_copy_bands"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "copy_index",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("built_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_copy_index"),
    )


def downgrade() -> None:
    op.drop_table("copy_index")
    op.drop_table("copy_bands")
    op.drop_table("copy_signatures")
