"""indexes for one supplier's scorecard facts

Revision ID: 0018
Revises: 0017

A supplier's receipts, inspections and nonconformances by time: one supplier's scorecard
(and its breakdown by site and category, computed live) read every receipt of the
tenant without them - 1.1 s for a breakdown of the last rolling twelve months in a
tenant of 1M receipts (make bench, scorecards section).
"""

from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_receipt_supplier_created", "receipt", ["tenant_id", "supplier_id", "created_at"]),
    ("ix_inspection_supplier_completed", "inspection", ["tenant_id", "supplier_id", "completed_at"]),
    ("ix_nonconformance_supplier_created", "nonconformance", ["tenant_id", "supplier_id", "created_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
