"""read side at scale: routing facts kept in plain columns (destinations, areas, organisation,
dashboard area) with the indexes the inboxes, Open311 and the dashboard read through

Revision ID: 0011
Revises: 0010

Backfill: ``report_destinations`` from each stored decision's destinations, ``organisation_id``
from each third-party contact (decrypted with the configured keys). Areas were not kept before
this revision, so older reports have none (the dashboard counts them under "Area not known").
"""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("organisation_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("area", sa.String(length=200), nullable=True))
        batch.create_index("ix_reports_received", ["received_at", "reference"], unique=False)
        batch.create_index("ix_reports_organisation_received", ["organisation_id", "received_at", "reference"],
                           unique=False)
    with op.batch_alter_table("routing_decisions") as batch:
        batch.add_column(sa.Column("areas", sa.JSON(), nullable=True))
    op.create_table(
        "report_destinations",
        sa.Column("destination_id", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["reference"], ["reports.reference"]),
        sa.PrimaryKeyConstraint("destination_id", "reference"),
    )
    op.create_index("ix_report_destinations_inbox", "report_destinations",
                    ["destination_id", "received_at", "reference"], unique=False)
    op.create_index("ix_report_destinations_status", "report_destinations",
                    ["destination_id", "status", "received_at", "reference"], unique=False)
    op.create_index("ix_report_destinations_category", "report_destinations",
                    ["destination_id", "category", "received_at", "reference"], unique=False)
    op.create_table(
        "report_areas",
        sa.Column("area_id", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reference"], ["reports.reference"]),
        sa.PrimaryKeyConstraint("area_id", "reference"),
    )
    op.create_index("ix_report_areas_area_received", "report_areas", ["area_id", "received_at", "reference"],
                    unique=False)
    _backfill()


def _batches(rows: Any) -> Iterator[list[Any]]:
    while chunk := rows.fetchmany(_BATCH):
        yield list(chunk)


def _backfill() -> None:
    from services.store.crypto import EncryptedJSON

    bind = op.get_bind()
    reports = sa.table("reports", sa.column("reference", sa.String), sa.column("kind", sa.String),
                       sa.column("category", sa.String), sa.column("received_at", sa.DateTime(timezone=True)),
                       sa.column("contact", EncryptedJSON()), sa.column("organisation_id", sa.String),
                       sa.column("status", sa.String))
    decisions = sa.table("routing_decisions", sa.column("reference", sa.String),
                         sa.column("destinations", sa.JSON()))
    destinations = sa.table("report_destinations", sa.column("destination_id", sa.String),
                            sa.column("reference", sa.String), sa.column("kind", sa.String),
                            sa.column("category", sa.String), sa.column("received_at", sa.DateTime(timezone=True)),
                            sa.column("status", sa.String))
    found = bind.execute(sa.select(decisions.c.reference, decisions.c.destinations, reports.c.category,
                                   reports.c.received_at, reports.c.status)
                         .join(reports, reports.c.reference == decisions.c.reference))
    for chunk in _batches(found):
        rows = {(d["id"], ref): {"destination_id": d["id"], "reference": ref, "kind": d.get("kind", ""),
                                 "category": category, "received_at": received, "status": status}
                for ref, listed, category, received, status in chunk for d in (listed or []) if d.get("id")}
        if rows:
            bind.execute(destinations.insert(), list(rows.values()))
    third = bind.execute(sa.select(reports.c.reference, reports.c.contact).where(reports.c.kind == "third_party"))
    for chunk in _batches(third):
        for ref, contact in chunk:
            organisation = (contact or {}).get("organisation_id")
            if organisation:
                bind.execute(reports.update().where(reports.c.reference == ref)
                             .values(organisation_id=organisation))


def downgrade() -> None:
    op.drop_index("ix_report_areas_area_received", table_name="report_areas")
    op.drop_table("report_areas")
    op.drop_index("ix_report_destinations_category", table_name="report_destinations")
    op.drop_index("ix_report_destinations_status", table_name="report_destinations")
    op.drop_index("ix_report_destinations_inbox", table_name="report_destinations")
    op.drop_table("report_destinations")
    with op.batch_alter_table("routing_decisions") as batch:
        batch.drop_column("areas")
    with op.batch_alter_table("reports") as batch:
        batch.drop_index("ix_reports_organisation_received")
        batch.drop_index("ix_reports_received")
        batch.drop_column("area")
        batch.drop_column("organisation_id")
