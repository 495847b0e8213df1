"""nonconformance disposition

Revision ID: 0016
Revises: 0015

The material review board's disposition of a nonconformance (ISO 13485 §8.3), e-signed
and executed on the stock (erp/receiving/disposition.py): use as is, rework, return to
the supplier or scrap, how much, why, who and when, the supplier's return authorisation
and the signature. The stock movement kinds that carry it out (return, scrap, rework,
concession) and the statuses of stock that has left by it (returned, scrapped). Two
counts on the compliance dashboard's days (lots returned, lots reworked), filled by the
refresh job. The tables keep their row-level security, grants and audit triggers.
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

DISPOSITIONS = ('use_as_is', 'rework', 'return_to_supplier', 'scrap')
OLD_MOVEMENT_KINDS = ('receipt', 'move', 'release', 'reject', 'hold', 'consume', 'ship', 'adjust', 'produce')
MOVEMENT_KINDS = (*OLD_MOVEMENT_KINDS, 'return', 'scrap', 'rework', 'concession')
OLD_STOCK_STATUSES = ('quarantine', 'released', 'on_hold', 'rejected', 'consumed', 'shipped')
STOCK_STATUSES = (*OLD_STOCK_STATUSES, 'returned', 'scrapped')
NC_CHECKS = {
    'ck_nonconformance_disposition': f"disposition in {DISPOSITIONS!r}",
    'ck_nonconformance_disposed': "(disposition IS NULL) = (disposed_at IS NULL)",
    'ck_nonconformance_disposition_quantity': "disposition_quantity > 0",
    'ck_nonconformance_rma_number': "rma_number IS NULL OR disposition = 'return_to_supplier'",
}


def upgrade() -> None:
    op.add_column('nonconformance', sa.Column('disposition', sa.String(length=20), nullable=True))
    op.add_column('nonconformance', sa.Column('disposition_quantity', sa.Numeric(precision=18, scale=4), nullable=True))
    op.add_column('nonconformance', sa.Column('disposition_reason', sa.Text(), nullable=True))
    op.add_column('nonconformance', sa.Column('disposed_by', sa.UUID(), nullable=True))
    op.add_column('nonconformance', sa.Column('disposed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('nonconformance', sa.Column('rma_number', sa.String(length=40), nullable=True))
    op.add_column('nonconformance', sa.Column('signature_id', sa.UUID(), nullable=True))
    for name, condition in NC_CHECKS.items():
        op.create_check_constraint(op.f(name), 'nonconformance', condition)
    _stock_checks(MOVEMENT_KINDS, STOCK_STATUSES)
    op.add_column('compliance_day', sa.Column('lots_returned', sa.Integer(), server_default='0', nullable=False))
    op.add_column('compliance_day', sa.Column('lots_reworked', sa.Integer(), server_default='0', nullable=False))


def _stock_checks(kinds: tuple, statuses: tuple) -> None:
    """The checks fed by erp.inventory.models' MOVEMENT_KINDS and STOCK_STATUSES."""
    op.drop_constraint(op.f('ck_stock_movement_kind'), 'stock_movement', type_='check')
    op.create_check_constraint(op.f('ck_stock_movement_kind'), 'stock_movement', f"kind in {kinds!r}")
    op.drop_constraint(op.f('ck_stock_status'), 'stock', type_='check')
    op.create_check_constraint(op.f('ck_stock_status'), 'stock', f"status in {statuses!r}")


def downgrade() -> None:
    # Fails while stock or movements of the new kinds exist: they would lose their meaning.
    op.drop_column('compliance_day', 'lots_reworked')
    op.drop_column('compliance_day', 'lots_returned')
    _stock_checks(OLD_MOVEMENT_KINDS, OLD_STOCK_STATUSES)
    for name in NC_CHECKS:
        op.drop_constraint(op.f(name), 'nonconformance', type_='check')
    for column in ('signature_id', 'rma_number', 'disposed_at', 'disposed_by', 'disposition_reason', 'disposition_quantity',
                   'disposition'):
        op.drop_column('nonconformance', column)
