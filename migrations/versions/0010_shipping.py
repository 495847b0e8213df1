"""ship notices and lots

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 02:18:42.594050

Lots (per item and maker), ship notices (ASNs) with their SSCC packages, lines, serials
and revisions, and the tenant's shipping rules. Tenant row-level security on all; the
supplier policy on every table naming a supplier (a supplier sees its own ASNs and lots,
never the tenant's own lots). Audit triggers on all. An ASN's content (packages, lines,
serials) is replaced as a whole while it may change, so the application may delete
those rows; revisions are insert-only.
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from migrations.support import audited, tenant_rls

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shipping_setting',
    sa.Column('over_delivery_pct', sa.Numeric(precision=5, scale=2), server_default='0', nullable=False),
    sa.Column('min_shelf_life_days', sa.Integer(), server_default='0', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('min_shelf_life_days >= 0', name=op.f('ck_shipping_setting_min_shelf_life_days')),
    sa.CheckConstraint('over_delivery_pct >= 0 and over_delivery_pct <= 100', name=op.f('ck_shipping_setting_over_delivery_pct')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_shipping_setting')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_shipping_setting_tenant_id'))
    )
    op.create_table('lot',
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('production_date', sa.Date(), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("btrim(number) <> ''", name=op.f('ck_lot_number')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_lot_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_lot_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_lot'))
    )
    op.create_index('uq_lot_item_supplier_number', 'lot', ['tenant_id', 'item_id', 'supplier_id', 'number'], unique=True, postgresql_nulls_not_distinct=True)
    op.create_table('asn',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('ship_from_site_id', sa.UUID(), nullable=True),
    sa.Column('ship_to_site_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='draft', nullable=False),
    sa.Column('carrier', sa.String(length=100), nullable=True),
    sa.Column('tracking_number', sa.String(length=100), nullable=True),
    sa.Column('ship_date', sa.Date(), nullable=False),
    sa.Column('expected_arrival', sa.Date(), nullable=False),
    sa.Column('revision', sa.Integer(), server_default='1', nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status in ('draft', 'submitted', 'in_transit', 'partially_received', 'received', 'closed', 'cancelled')", name=op.f('ck_asn_status')),
    sa.CheckConstraint('expected_arrival >= ship_date', name=op.f('ck_asn_arrival_after_shipping')),
    sa.ForeignKeyConstraint(['tenant_id', 'ship_from_site_id'], ['site.tenant_id', 'site.id'], name=op.f('fk_asn_tenant_id_ship_from_site_id_site')),
    sa.ForeignKeyConstraint(['tenant_id', 'ship_to_site_id'], ['site.tenant_id', 'site.id'], name=op.f('fk_asn_tenant_id_ship_to_site_id_site')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_asn_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_asn')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_asn_tenant_id_number'))
    )
    op.create_index('ix_asn_expected', 'asn', ['tenant_id', 'expected_arrival', 'id'], unique=False)
    op.create_index('ix_asn_supplier_created', 'asn', ['tenant_id', 'supplier_id', 'created_at', 'id'], unique=False)
    op.create_table('asn_package',
    sa.Column('asn_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('sscc', sa.String(length=18), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('parent_id', sa.UUID(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("level in ('pallet', 'case')", name=op.f('ck_asn_package_level')),
    sa.CheckConstraint("sscc ~ '^[0-9]{18}$'", name=op.f('ck_asn_package_sscc')),
    sa.ForeignKeyConstraint(['tenant_id', 'asn_id'], ['asn.tenant_id', 'asn.id'], name=op.f('fk_asn_package_tenant_id_asn_id_asn'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'parent_id'], ['asn_package.tenant_id', 'asn_package.id'], name=op.f('fk_asn_package_tenant_id_parent_id_asn_package'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_asn_package_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_asn_package')),
    sa.UniqueConstraint('tenant_id', 'sscc', name=op.f('uq_asn_package_tenant_id_sscc'))
    )
    op.create_index('ix_asn_package_asn', 'asn_package', ['tenant_id', 'asn_id'], unique=False)
    op.create_table('asn_revision',
    sa.Column('asn_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'asn_id'], ['asn.tenant_id', 'asn.id'], name=op.f('fk_asn_revision_tenant_id_asn_id_asn'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_asn_revision_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_asn_revision')),
    sa.UniqueConstraint('tenant_id', 'asn_id', 'revision', name=op.f('uq_asn_revision_tenant_id_asn_id_revision'))
    )
    op.create_table('asn_line',
    sa.Column('asn_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.UUID(), nullable=True),
    sa.Column('purchase_order_id', sa.UUID(), nullable=False),
    sa.Column('purchase_order_line_id', sa.UUID(), nullable=False),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('lot_id', sa.UUID(), nullable=True),
    sa.Column('lot', sa.String(length=20), nullable=True),
    sa.Column('production_date', sa.Date(), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('udi_di', sa.String(length=40), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_asn_line_quantity')),
    sa.ForeignKeyConstraint(['tenant_id', 'asn_id'], ['asn.tenant_id', 'asn.id'], name=op.f('fk_asn_line_tenant_id_asn_id_asn'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_asn_line_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_asn_line_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'package_id'], ['asn_package.tenant_id', 'asn_package.id'], name=op.f('fk_asn_line_tenant_id_package_id_asn_package'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'purchase_order_id'], ['purchase_order.tenant_id', 'purchase_order.id'], name=op.f('fk_asn_line_tenant_id_purchase_order_id_purchase_order')),
    sa.ForeignKeyConstraint(['tenant_id', 'purchase_order_line_id'], ['purchase_order_line.tenant_id', 'purchase_order_line.id'], name=op.f('fk_asn_line_tenant_id_purchase_order_line_id_purchase_order_line')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_asn_line_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_asn_line'))
    )
    op.create_index('ix_asn_line_asn', 'asn_line', ['tenant_id', 'asn_id', 'line_no'], unique=False)
    op.create_index('ix_asn_line_lot', 'asn_line', ['tenant_id', 'lot_id'], unique=False)
    op.create_index('ix_asn_line_po_line', 'asn_line', ['tenant_id', 'purchase_order_line_id'], unique=False)
    op.create_table('asn_serial',
    sa.Column('asn_id', sa.UUID(), nullable=False),
    sa.Column('asn_line_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('serial', sa.String(length=20), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("btrim(serial) <> ''", name=op.f('ck_asn_serial_serial')),
    sa.ForeignKeyConstraint(['tenant_id', 'asn_id'], ['asn.tenant_id', 'asn.id'], name=op.f('fk_asn_serial_tenant_id_asn_id_asn'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'asn_line_id'], ['asn_line.tenant_id', 'asn_line.id'], name=op.f('fk_asn_serial_tenant_id_asn_line_id_asn_line'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_asn_serial_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_asn_serial')),
    sa.UniqueConstraint('tenant_id', 'item_id', 'serial', name=op.f('uq_asn_serial_tenant_id_item_id_serial'))
    )
    op.create_index('ix_asn_serial_line', 'asn_serial', ['tenant_id', 'asn_line_id'], unique=False)
    tenant_rls('shipping_setting')
    audited('shipping_setting')
    for table in ('lot', 'asn', 'asn_package', 'asn_line', 'asn_serial', 'asn_revision'):
        tenant_rls(table, supplier_column='supplier_id')
        audited(table)
    # Serials are unique per item across the tenant's ASNs, whoever shipped them; row-level
    # security hides another supplier's rows, so the check runs in a function, as the
    # owner, whom the supplier restriction does not bind on this table (it binds the
    # application role). It answers which of the given (item, serial) pairs are taken,
    # and nothing about who took them.
    app_role = context.config.attributes.get("app_role", "traceport_app")
    op.execute(f"ALTER POLICY supplier_scope ON asn_serial TO {app_role}")
    op.execute("""
CREATE FUNCTION app.asn_serials_taken(items uuid[], serials text[], except_asn uuid)
RETURNS TABLE (item_id uuid, serial text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
SELECT s.item_id, s.serial::text FROM public.asn_serial s
JOIN unnest(items, serials) AS w(item_id, serial) ON s.item_id = w.item_id AND s.serial = w.serial
WHERE s.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid
  AND s.asn_id IS DISTINCT FROM except_asn
$$;
""")
    op.execute("REVOKE ALL ON FUNCTION app.asn_serials_taken(uuid[], text[], uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app.asn_serials_taken(uuid[], text[], uuid) TO {app_role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON shipping_setting, asn TO {app_role}")
    op.execute(f"GRANT SELECT, INSERT, DELETE ON asn_package, asn_line, asn_serial TO {app_role}")
    op.execute(f"GRANT SELECT, INSERT ON lot, asn_revision TO {app_role}")


def downgrade() -> None:
    op.execute("DROP FUNCTION app.asn_serials_taken(uuid[], text[], uuid)")
    op.drop_index('ix_asn_serial_line', table_name='asn_serial')
    op.drop_table('asn_serial')
    op.drop_index('ix_asn_line_po_line', table_name='asn_line')
    op.drop_index('ix_asn_line_lot', table_name='asn_line')
    op.drop_index('ix_asn_line_asn', table_name='asn_line')
    op.drop_table('asn_line')
    op.drop_table('asn_revision')
    op.drop_index('ix_asn_package_asn', table_name='asn_package')
    op.drop_table('asn_package')
    op.drop_index('ix_asn_supplier_created', table_name='asn')
    op.drop_index('ix_asn_expected', table_name='asn')
    op.drop_table('asn')
    op.drop_index('uq_lot_item_supplier_number', table_name='lot', postgresql_nulls_not_distinct=True)
    op.drop_table('lot')
    op.drop_table('shipping_setting')
