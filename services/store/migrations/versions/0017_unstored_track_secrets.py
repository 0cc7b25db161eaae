"""messages: no stored message keeps a track link's secret (it opens the informant's report): the
secret in every stored body and HTML is replaced by the slot the feedback worker fills as it sends
(``services.common.track.SECRET_SLOT``), so a message not yet sent still goes with its link.

Revision ID: 0017
Revises: 0016
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

#: As in services/common/track.py when this was written (a migration does not follow the code).
SECRET_SLOT = "TRACKSECRETSLOT0"
LINKED_SECRET = re.compile(r"(/track/[^?\s\"'<>]+\?secret=)[0-9a-f]{16}(?![0-9a-f])")


def upgrade() -> None:
    connection = op.get_bind()
    messages = sa.table("messages", sa.column("id", sa.Integer), sa.column("body", sa.Text),
                        sa.column("html", sa.Text))
    rows = connection.execute(sa.select(messages.c.id, messages.c.body, messages.c.html).where(
        sa.or_(messages.c.body.like("%/track/%secret=%"), messages.c.html.like("%/track/%secret=%")))).all()
    for message_id, body, html in rows:
        connection.execute(messages.update().where(messages.c.id == message_id).values(
            body=LINKED_SECRET.sub(rf"\g<1>{SECRET_SLOT}", body) if body else body,
            html=LINKED_SECRET.sub(rf"\g<1>{SECRET_SLOT}", html) if html else html))


def downgrade() -> None:
    """The secrets are derived, never needed back: the worker fills the slot."""
