"""receiving, inspection, batch release and inventory

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 03:01:12.238048

Locations, stock and its movements; receipts (by scan, against an ASN or flagged
without one) with their lines and discrepancies; inspection plans, inspections,
nonconformances and signed lot releases. Tenant row-level security on all; the supplier
policy on every table naming a supplier (a supplier sees its own receipts, lots' stock
and outcomes). Audit triggers on all. Movements and release decisions are insert-only.
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from migrations.support import audited, grant_new_permissions, tenant_rls

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inspection_plan',
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('inspect', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('aql', sa.Numeric(precision=4, scale=2), server_default='1.0', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('aql > 0 and aql <= 10', name=op.f('ck_inspection_plan_aql')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_inspection_plan')),
    sa.UniqueConstraint('tenant_id', 'category', name=op.f('uq_inspection_plan_tenant_id_category'))
    )
    op.create_table('location',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('site_id', sa.UUID(), nullable=True),
    sa.Column('kind', sa.String(length=20), server_default='storage', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind in ('receiving', 'storage', 'quarantine', 'production', 'shipping')", name=op.f('ck_location_kind')),
    sa.ForeignKeyConstraint(['tenant_id', 'site_id'], ['site.tenant_id', 'site.id'], name=op.f('fk_location_tenant_id_site_id_site')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_location')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_location_tenant_id_code'))
    )
    op.create_table('lot_release',
    sa.Column('lot_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('signature_id', sa.UUID(), nullable=True),
    sa.Column('decided_by', sa.UUID(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("decision in ('released', 'rejected', 'on_hold')", name=op.f('ck_lot_release_decision')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_lot_release_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_lot_release_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_lot_release'))
    )
    op.create_index('ix_lot_release_lot', 'lot_release', ['tenant_id', 'lot_id', 'decided_at'], unique=False)
    op.create_table('receipt',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('asn_id', sa.UUID(), nullable=True),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('site_id', sa.UUID(), nullable=True),
    sa.Column('location_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='open', nullable=False),
    sa.Column('without_asn', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('received_by', sa.UUID(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status in ('open', 'closed')", name=op.f('ck_receipt_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'asn_id'], ['asn.tenant_id', 'asn.id'], name=op.f('fk_receipt_tenant_id_asn_id_asn')),
    sa.ForeignKeyConstraint(['tenant_id', 'location_id'], ['location.tenant_id', 'location.id'], name=op.f('fk_receipt_tenant_id_location_id_location')),
    sa.ForeignKeyConstraint(['tenant_id', 'site_id'], ['site.tenant_id', 'site.id'], name=op.f('fk_receipt_tenant_id_site_id_site')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_receipt_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_receipt')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_receipt_tenant_id_number'))
    )
    op.create_index('ix_receipt_asn', 'receipt', ['tenant_id', 'asn_id'], unique=False)
    op.create_table('stock',
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('lot_id', sa.UUID(), nullable=True),
    sa.Column('serial', sa.String(length=20), nullable=True),
    sa.Column('location_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status in ('quarantine', 'released', 'on_hold', 'rejected', 'consumed', 'shipped')", name=op.f('ck_stock_status')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_stock_quantity')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_stock_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'location_id'], ['location.tenant_id', 'location.id'], name=op.f('fk_stock_tenant_id_location_id_location')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_stock_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_stock_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stock'))
    )
    op.create_index('ix_stock_item_status', 'stock', ['tenant_id', 'item_id', 'status'], unique=False)
    op.create_index('ix_stock_lot', 'stock', ['tenant_id', 'lot_id'], unique=False)
    op.create_index('uq_stock_serial', 'stock', ['tenant_id', 'item_id', 'serial'], unique=True, postgresql_where=sa.text('serial IS NOT NULL'))
    op.create_table('stock_movement',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('lot_id', sa.UUID(), nullable=True),
    sa.Column('serial', sa.String(length=20), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('from_location_id', sa.UUID(), nullable=True),
    sa.Column('to_location_id', sa.UUID(), nullable=True),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('reference_kind', sa.String(length=30), nullable=True),
    sa.Column('reference_id', sa.UUID(), nullable=True),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('moved_by', sa.UUID(), nullable=True),
    sa.Column('moved_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("kind in ('receipt', 'move', 'release', 'reject', 'hold', 'consume', 'ship', 'adjust')", name=op.f('ck_stock_movement_kind')),
    sa.ForeignKeyConstraint(['tenant_id', 'from_location_id'], ['location.tenant_id', 'location.id'], name=op.f('fk_stock_movement_tenant_id_from_location_id_location')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_stock_movement_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_stock_movement_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_stock_movement_tenant_id_supplier_id_organisation')),
    sa.ForeignKeyConstraint(['tenant_id', 'to_location_id'], ['location.tenant_id', 'location.id'], name=op.f('fk_stock_movement_tenant_id_to_location_id_location')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stock_movement'))
    )
    op.create_index('ix_stock_movement_lot', 'stock_movement', ['tenant_id', 'lot_id', 'moved_at'], unique=False)
    op.create_table('inspection',
    sa.Column('receipt_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('lot_id', sa.UUID(), nullable=True),
    sa.Column('status', sa.String(length=10), server_default='open', nullable=False),
    sa.Column('received_quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=True),
    sa.Column('accepted_quantity', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('rejected_quantity', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('defect_codes', postgresql.ARRAY(sa.String(length=40)), server_default='{}', nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('inspected_by', sa.UUID(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status in ('open', 'done')", name=op.f('ck_inspection_status')),
    sa.CheckConstraint('accepted_quantity >= 0 and rejected_quantity >= 0', name=op.f('ck_inspection_quantities')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_inspection_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_inspection_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'receipt_id'], ['receipt.tenant_id', 'receipt.id'], name=op.f('fk_inspection_tenant_id_receipt_id_receipt'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_inspection_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_inspection')),
    sa.UniqueConstraint('tenant_id', 'receipt_id', 'item_id', 'lot_id', name=op.f('uq_inspection_tenant_id_receipt_id_item_id_lot_id'))
    )
    op.create_index('ix_inspection_open', 'inspection', ['tenant_id', 'status', 'created_at'], unique=False)
    op.create_table('nonconformance',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('lot_id', sa.UUID(), nullable=True),
    sa.Column('inspection_id', sa.UUID(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('defect_codes', postgresql.ARRAY(sa.String(length=40)), server_default='{}', nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='open', nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status in ('open', 'closed')", name=op.f('ck_nonconformance_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'inspection_id'], ['inspection.tenant_id', 'inspection.id'], name=op.f('fk_nonconformance_tenant_id_inspection_id_inspection')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_nonconformance_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_nonconformance_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_nonconformance_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_nonconformance')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_nonconformance_tenant_id_number'))
    )
    op.create_table('receipt_discrepancy',
    sa.Column('receipt_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('asn_line_id', sa.UUID(), nullable=True),
    sa.Column('item_id', sa.UUID(), nullable=True),
    sa.Column('lot', sa.String(length=20), nullable=True),
    sa.Column('serial', sa.String(length=20), nullable=True),
    sa.Column('sscc', sa.String(length=18), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("kind in ('short', 'over', 'damaged', 'unexpected_lot', 'unknown_serial', 'missing_package', 'extra_package')", name=op.f('ck_receipt_discrepancy_kind')),
    sa.ForeignKeyConstraint(['tenant_id', 'asn_line_id'], ['asn_line.tenant_id', 'asn_line.id'], name=op.f('fk_receipt_discrepancy_tenant_id_asn_line_id_asn_line')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_receipt_discrepancy_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'receipt_id'], ['receipt.tenant_id', 'receipt.id'], name=op.f('fk_receipt_discrepancy_tenant_id_receipt_id_receipt'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_receipt_discrepancy_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_receipt_discrepancy'))
    )
    op.create_index('ix_receipt_discrepancy_receipt', 'receipt_discrepancy', ['tenant_id', 'receipt_id'], unique=False)
    op.create_table('receipt_line',
    sa.Column('receipt_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('asn_line_id', sa.UUID(), nullable=True),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('lot_id', sa.UUID(), nullable=True),
    sa.Column('serial', sa.String(length=20), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('package_sscc', sa.String(length=18), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_receipt_line_quantity')),
    sa.ForeignKeyConstraint(['tenant_id', 'asn_line_id'], ['asn_line.tenant_id', 'asn_line.id'], name=op.f('fk_receipt_line_tenant_id_asn_line_id_asn_line')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_receipt_line_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_receipt_line_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'receipt_id'], ['receipt.tenant_id', 'receipt.id'], name=op.f('fk_receipt_line_tenant_id_receipt_id_receipt'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_receipt_line_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_receipt_line'))
    )
    op.create_index('ix_receipt_line_receipt', 'receipt_line', ['tenant_id', 'receipt_id'], unique=False)
    op.create_index('uq_receipt_line_serial', 'receipt_line', ['tenant_id', 'item_id', 'serial'], unique=True, postgresql_where=sa.text('serial IS NOT NULL'))
    for table in ('location', 'inspection_plan'):
        tenant_rls(table)
        audited(table)
    for table in ('stock', 'stock_movement', 'receipt', 'receipt_line', 'receipt_discrepancy', 'inspection',
                  'nonconformance', 'lot_release'):
        tenant_rls(table, supplier_column='supplier_id')
        audited(table)
    grant_new_permissions(NEW_PERMISSIONS)
    app_role = context.config.attributes.get("app_role", "traceport_app")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON location, inspection_plan, receipt, stock, inspection, nonconformance TO {app_role}")
    # Scans can be undone while the receipt is open.
    op.execute(f"GRANT SELECT, INSERT, DELETE ON receipt_line, receipt_discrepancy TO {app_role}")
    op.execute(f"GRANT SELECT, INSERT ON stock_movement, lot_release TO {app_role}")


# The permissions this revision adds, given to the built-in roles of existing tenants as
# auth.permissions.DEFAULT_ROLES gives them to new ones. Roles a tenant has edited keep
# its edits and gain only these.
NEW_PERMISSIONS = {
    "tenant_admin": ["inspection.record", "lot.release", "stock.view", "stock.move"],
    "quality": ["inspection.record", "lot.release", "stock.view"],
    "warehouse": ["stock.view", "stock.move"],
}


def downgrade() -> None:
    op.drop_index('uq_receipt_line_serial', table_name='receipt_line', postgresql_where=sa.text('serial IS NOT NULL'))
    op.drop_index('ix_receipt_line_receipt', table_name='receipt_line')
    op.drop_table('receipt_line')
    op.drop_index('ix_receipt_discrepancy_receipt', table_name='receipt_discrepancy')
    op.drop_table('receipt_discrepancy')
    op.drop_table('nonconformance')
    op.drop_index('ix_inspection_open', table_name='inspection')
    op.drop_table('inspection')
    op.drop_index('ix_stock_movement_lot', table_name='stock_movement')
    op.drop_table('stock_movement')
    op.drop_index('uq_stock_serial', table_name='stock', postgresql_where=sa.text('serial IS NOT NULL'))
    op.drop_index('ix_stock_lot', table_name='stock')
    op.drop_index('ix_stock_item_status', table_name='stock')
    op.drop_table('stock')
    op.drop_index('ix_receipt_asn', table_name='receipt')
    op.drop_table('receipt')
    op.drop_index('ix_lot_release_lot', table_name='lot_release')
    op.drop_table('lot_release')
    op.drop_table('location')
    op.drop_table('inspection_plan')
