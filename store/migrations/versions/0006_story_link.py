"""Links as published: stories.link, the URL as the site gave it (issue 15 point 7).

Revision ID: 0006_link
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_link"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.add_column(sa.Column("link", sa.Text))
    # Older rows kept only the canonical form: it is the best link they have.
    op.execute("UPDATE stories SET link = url WHERE link IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("link")
