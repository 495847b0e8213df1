"""traceability, recall, cold chain and EPCIS

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 05:35:50.246747

Customers, production runs and their genealogy links, customer shipments, trace
snapshots, recalls (scope, actions, supplier notices), EPCIS events captured from
partners; storage conditions, data loggers, their bindings, reading batches, readings
and cold-chain alerts; the seal number on ship notices and receipts.

Tenant row-level security on all; the supplier policy where a row names a supplier
(recall scope, actions and notices: a supplier reads the notices addressed to it).
Audit triggers on all but `reading`: readings are insert-only machine records, covered
by their audited batch (count, time span, SHA-256), see erp/coldchain/models.py.
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from migrations.support import AUDIT_ON_UPDATE, audited, buyer_only, grant_new_permissions, tenant_rls

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('locale', sa.String(length=10), server_default='en', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customer')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_customer_tenant_id_code'))
    )
    op.create_table('data_logger',
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('model', sa.String(length=100), nullable=True),
    sa.Column('last_reading_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_data_logger')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_data_logger_tenant_id_code'))
    )
    op.create_table('epcis_event',
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('event_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('biz_step', sa.String(length=200), nullable=True),
    sa.Column('document', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('capture_id', sa.UUID(), nullable=False),
    sa.Column('captured_by', sa.UUID(), nullable=True),
    sa.Column('captured_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_epcis_event')),
    sa.UniqueConstraint('tenant_id', 'event_id', name=op.f('uq_epcis_event_tenant_id_event_id'))
    )
    op.create_index('ix_epcis_event_time', 'epcis_event', ['tenant_id', 'event_time'], unique=False)
    op.create_table('trace_snapshot',
    sa.Column('start_code', sa.String(length=200), nullable=False),
    sa.Column('start_kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('node_count', sa.Integer(), nullable=False),
    sa.Column('run_by', sa.UUID(), nullable=True),
    sa.Column('run_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("start_kind in ('udi', 'gtin_lot', 'serial', 'sscc', 'lot', 'supplier', 'purchase_order', 'asn')", name=op.f('ck_trace_snapshot_start_kind')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_trace_snapshot'))
    )
    op.create_index('ix_trace_snapshot_run_at', 'trace_snapshot', ['tenant_id', 'run_at'], unique=False)
    op.create_table('customer_shipment',
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('ship_to_address', sa.Text(), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.UUID(), nullable=True),
    sa.Column('source', sa.String(length=10), server_default='screen', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customer.tenant_id', 'customer.id'], name=op.f('fk_customer_shipment_tenant_id_customer_id_customer')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customer_shipment')),
    sa.UniqueConstraint('tenant_id', 'reference', name=op.f('uq_customer_shipment_tenant_id_reference'))
    )
    op.create_index('ix_customer_shipment_customer', 'customer_shipment', ['tenant_id', 'customer_id', 'shipped_at'], unique=False)
    op.create_table('reading_batch',
    sa.Column('logger_id', sa.UUID(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('alerts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('received_by', sa.UUID(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'logger_id'], ['data_logger.tenant_id', 'data_logger.id'], name=op.f('fk_reading_batch_tenant_id_logger_id_data_logger')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_reading_batch')),
    sa.UniqueConstraint('tenant_id', 'logger_id', 'key', name=op.f('uq_reading_batch_tenant_id_logger_id_key'))
    )
    op.create_table('recall',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('mock', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('classification', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='open', nullable=False),
    sa.Column('trace_snapshot_id', sa.UUID(), nullable=True),
    sa.Column('opened_by', sa.UUID(), nullable=True),
    sa.Column('all_located_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.UUID(), nullable=True),
    sa.Column('signature_id', sa.UUID(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("classification in ('class_i', 'class_ii', 'class_iii')", name=op.f('ck_recall_classification')),
    sa.CheckConstraint("status in ('open', 'closed')", name=op.f('ck_recall_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'trace_snapshot_id'], ['trace_snapshot.tenant_id', 'trace_snapshot.id'], name=op.f('fk_recall_tenant_id_trace_snapshot_id_trace_snapshot')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_recall')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_recall_tenant_id_number'))
    )
    op.create_index('ix_recall_status', 'recall', ['tenant_id', 'status', 'created_at'], unique=False)
    op.create_table('storage_condition',
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('min_temperature', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('max_temperature', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('min_humidity', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('max_humidity', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('excursion_minutes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('cumulative_minutes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_mkt', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('activation_energy', sa.Numeric(precision=8, scale=3), server_default='83.144', nullable=False),
    sa.Column('gap_minutes', sa.Integer(), server_default='60', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('activation_energy > 0', name=op.f('ck_storage_condition_activation_energy')),
    sa.CheckConstraint('excursion_minutes >= 0 and cumulative_minutes >= 0 and gap_minutes > 0', name=op.f('ck_storage_condition_minutes')),
    sa.CheckConstraint('min_humidity is null or max_humidity is null or min_humidity < max_humidity', name=op.f('ck_storage_condition_humidity_range')),
    sa.CheckConstraint('min_temperature is null or max_temperature is null or min_temperature < max_temperature', name=op.f('ck_storage_condition_temperature_range')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_storage_condition_tenant_id_item_id_item')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_storage_condition')),
    sa.UniqueConstraint('tenant_id', 'item_id', name=op.f('uq_storage_condition_tenant_id_item_id'))
    )
    op.create_table('customer_shipment_line',
    sa.Column('shipment_id', sa.UUID(), nullable=False),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('lot_id', sa.UUID(), nullable=False),
    sa.Column('serial', sa.String(length=20), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_customer_shipment_line_quantity')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_customer_shipment_line_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_customer_shipment_line_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'shipment_id'], ['customer_shipment.tenant_id', 'customer_shipment.id'], name=op.f('fk_customer_shipment_line_tenant_id_shipment_id_customer_shipment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customer_shipment_line'))
    )
    op.create_index('ix_customer_shipment_line_lot', 'customer_shipment_line', ['tenant_id', 'lot_id'], unique=False)
    op.create_index('ix_customer_shipment_line_serial', 'customer_shipment_line', ['tenant_id', 'item_id', 'serial'], unique=False)
    op.create_index('ix_customer_shipment_line_shipment', 'customer_shipment_line', ['tenant_id', 'shipment_id'], unique=False)
    # No surrogate id: (tenant, logger, time) is the key; no foreign keys, checked row by
    # row they cost more than the rest of the INSERT (see erp/coldchain/models.py, Reading).
    op.create_table('reading',
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('logger_id', sa.UUID(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_id', sa.UUID(), nullable=False),
    sa.Column('temperature', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('humidity', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'logger_id', 'recorded_at', name=op.f('pk_reading'))
    )
    op.create_table('recall_notice',
    sa.Column('recall_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('lots', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('sent_by', sa.UUID(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.UUID(), nullable=True),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'recall_id'], ['recall.tenant_id', 'recall.id'], name=op.f('fk_recall_notice_tenant_id_recall_id_recall'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_recall_notice_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_recall_notice')),
    sa.UniqueConstraint('tenant_id', 'recall_id', 'supplier_id', name=op.f('uq_recall_notice_tenant_id_recall_id_supplier_id'))
    )
    op.create_index('ix_recall_notice_supplier', 'recall_notice', ['tenant_id', 'supplier_id', 'sent_at'], unique=False)
    op.create_table('production_run',
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('lot_id', sa.UUID(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('location_id', sa.UUID(), nullable=True),
    sa.Column('produced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.UUID(), nullable=True),
    sa.Column('source', sa.String(length=10), server_default='screen', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_production_run_quantity')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_production_run_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'location_id'], ['location.tenant_id', 'location.id'], name=op.f('fk_production_run_tenant_id_location_id_location')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_production_run_tenant_id_lot_id_lot')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_production_run')),
    sa.UniqueConstraint('tenant_id', 'reference', name=op.f('uq_production_run_tenant_id_reference'))
    )
    op.create_index('ix_production_run_lot', 'production_run', ['tenant_id', 'lot_id'], unique=False)
    op.create_table('recall_scope',
    sa.Column('recall_id', sa.UUID(), nullable=False),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('lot_id', sa.UUID(), nullable=True),
    sa.Column('serial', sa.String(length=20), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('place', sa.String(length=12), server_default='unknown', nullable=False),
    sa.Column('location_id', sa.UUID(), nullable=True),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('state', sa.String(length=12), server_default='to_locate', nullable=False),
    sa.Column('included', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('returned_quantity', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('destroyed_quantity', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("place in ('stock', 'in_transit', 'customer', 'consumed', 'unknown')", name=op.f('ck_recall_scope_place')),
    sa.CheckConstraint("state in ('to_locate', 'located', 'held', 'returned', 'destroyed')", name=op.f('ck_recall_scope_state')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_recall_scope_quantity')),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customer.tenant_id', 'customer.id'], name=op.f('fk_recall_scope_tenant_id_customer_id_customer')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_recall_scope_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'location_id'], ['location.tenant_id', 'location.id'], name=op.f('fk_recall_scope_tenant_id_location_id_location')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_recall_scope_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'recall_id'], ['recall.tenant_id', 'recall.id'], name=op.f('fk_recall_scope_tenant_id_recall_id_recall'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_recall_scope_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_recall_scope'))
    )
    op.create_index('ix_recall_scope_recall', 'recall_scope', ['tenant_id', 'recall_id'], unique=False)
    op.create_table('genealogy_link',
    sa.Column('production_run_id', sa.UUID(), nullable=False),
    sa.Column('output_lot_id', sa.UUID(), nullable=False),
    sa.Column('output_serial', sa.String(length=20), nullable=True),
    sa.Column('input_item_id', sa.UUID(), nullable=False),
    sa.Column('input_lot_id', sa.UUID(), nullable=False),
    sa.Column('input_serial', sa.String(length=20), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('input_lot_id <> output_lot_id', name=op.f('ck_genealogy_link_not_itself')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_genealogy_link_quantity')),
    sa.ForeignKeyConstraint(['tenant_id', 'input_item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_genealogy_link_tenant_id_input_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'input_lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_genealogy_link_tenant_id_input_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'output_lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_genealogy_link_tenant_id_output_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'production_run_id'], ['production_run.tenant_id', 'production_run.id'], name=op.f('fk_genealogy_link_tenant_id_production_run_id_production_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_genealogy_link'))
    )
    op.create_index('ix_genealogy_link_input', 'genealogy_link', ['tenant_id', 'input_lot_id', 'output_lot_id'], unique=False)
    op.create_index('ix_genealogy_link_input_serial', 'genealogy_link', ['tenant_id', 'input_item_id', 'input_serial'], unique=False)
    op.create_index('ix_genealogy_link_output', 'genealogy_link', ['tenant_id', 'output_lot_id', 'input_lot_id'], unique=False)
    op.create_index('ix_genealogy_link_output_serial', 'genealogy_link', ['tenant_id', 'output_lot_id', 'output_serial'], unique=False)
    op.create_index('ix_genealogy_link_run', 'genealogy_link', ['tenant_id', 'production_run_id'], unique=False)
    op.create_table('logger_binding',
    sa.Column('logger_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('asn_id', sa.UUID(), nullable=True),
    sa.Column('package_id', sa.UUID(), nullable=True),
    sa.Column('location_id', sa.UUID(), nullable=True),
    sa.Column('lot_id', sa.UUID(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bound_by', sa.UUID(), nullable=True),
    sa.Column('exposure', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'asn' and asn_id is not null) or (kind = 'package' and package_id is not null) or (kind = 'location' and location_id is not null) or (kind = 'lot' and lot_id is not null)", name=op.f('ck_logger_binding_target')),
    sa.CheckConstraint("kind in ('asn', 'package', 'location', 'lot')", name=op.f('ck_logger_binding_kind')),
    sa.CheckConstraint('ends_at is null or ends_at > starts_at', name=op.f('ck_logger_binding_period')),
    sa.ForeignKeyConstraint(['tenant_id', 'asn_id'], ['asn.tenant_id', 'asn.id'], name=op.f('fk_logger_binding_tenant_id_asn_id_asn')),
    sa.ForeignKeyConstraint(['tenant_id', 'location_id'], ['location.tenant_id', 'location.id'], name=op.f('fk_logger_binding_tenant_id_location_id_location')),
    sa.ForeignKeyConstraint(['tenant_id', 'logger_id'], ['data_logger.tenant_id', 'data_logger.id'], name=op.f('fk_logger_binding_tenant_id_logger_id_data_logger')),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_logger_binding_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'package_id'], ['asn_package.tenant_id', 'asn_package.id'], name=op.f('fk_logger_binding_tenant_id_package_id_asn_package')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_logger_binding'))
    )
    op.create_index('ix_logger_binding_asn', 'logger_binding', ['tenant_id', 'asn_id'], unique=False)
    op.create_index('ix_logger_binding_logger', 'logger_binding', ['tenant_id', 'logger_id', 'starts_at'], unique=False)
    op.create_index('ix_logger_binding_lot', 'logger_binding', ['tenant_id', 'lot_id'], unique=False)
    op.create_table('recall_action',
    sa.Column('recall_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('scope_id', sa.UUID(), nullable=True),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('done_by', sa.UUID(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("kind in ('hold', 'notify_supplier', 'notify_customer', 'return', 'destroy', 'scope_change', 'located', 'note')", name=op.f('ck_recall_action_kind')),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customer.tenant_id', 'customer.id'], name=op.f('fk_recall_action_tenant_id_customer_id_customer')),
    sa.ForeignKeyConstraint(['tenant_id', 'recall_id'], ['recall.tenant_id', 'recall.id'], name=op.f('fk_recall_action_tenant_id_recall_id_recall'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'scope_id'], ['recall_scope.tenant_id', 'recall_scope.id'], name=op.f('fk_recall_action_tenant_id_scope_id_recall_scope')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_recall_action_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_recall_action'))
    )
    op.create_index('ix_recall_action_recall', 'recall_action', ['tenant_id', 'recall_id', 'done_at'], unique=False)
    op.create_table('cold_chain_alert',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='open', nullable=False),
    sa.Column('logger_id', sa.UUID(), nullable=True),
    sa.Column('binding_id', sa.UUID(), nullable=True),
    sa.Column('asn_id', sa.UUID(), nullable=True),
    sa.Column('receipt_id', sa.UUID(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('peak', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('limit_value', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('lot_ids', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('nonconformance_id', sa.UUID(), nullable=True),
    sa.Column('raised_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('acknowledged_by', sa.UUID(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind in ('temperature_high', 'temperature_low', 'humidity_high', 'humidity_low', 'cumulative', 'mkt', 'gap', 'delayed', 'seal_mismatch')", name=op.f('ck_cold_chain_alert_kind')),
    sa.CheckConstraint("status in ('open', 'acknowledged', 'closed')", name=op.f('ck_cold_chain_alert_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'asn_id'], ['asn.tenant_id', 'asn.id'], name=op.f('fk_cold_chain_alert_tenant_id_asn_id_asn')),
    sa.ForeignKeyConstraint(['tenant_id', 'binding_id'], ['logger_binding.tenant_id', 'logger_binding.id'], name=op.f('fk_cold_chain_alert_tenant_id_binding_id_logger_binding')),
    sa.ForeignKeyConstraint(['tenant_id', 'logger_id'], ['data_logger.tenant_id', 'data_logger.id'], name=op.f('fk_cold_chain_alert_tenant_id_logger_id_data_logger')),
    sa.ForeignKeyConstraint(['tenant_id', 'nonconformance_id'], ['nonconformance.tenant_id', 'nonconformance.id'], name=op.f('fk_cold_chain_alert_tenant_id_nonconformance_id_nonconformance')),
    sa.ForeignKeyConstraint(['tenant_id', 'receipt_id'], ['receipt.tenant_id', 'receipt.id'], name=op.f('fk_cold_chain_alert_tenant_id_receipt_id_receipt')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_cold_chain_alert'))
    )
    op.create_index('ix_cold_chain_alert_binding', 'cold_chain_alert', ['tenant_id', 'binding_id', 'kind', 'started_at'], unique=False)
    op.create_index('ix_cold_chain_alert_status', 'cold_chain_alert', ['tenant_id', 'status', 'raised_at'], unique=False)
    op.add_column('asn', sa.Column('seal_number', sa.String(length=40), nullable=True))
    op.add_column('receipt', sa.Column('seal_number', sa.String(length=40), nullable=True))
    # A trace's lookups: a lot by its number alone, and the receipts of a set of lots.
    op.create_index('ix_lot_number', 'lot', ['tenant_id', 'number'], unique=False)
    op.create_index('ix_receipt_line_lot', 'receipt_line', ['tenant_id', 'lot_id'], unique=False)
    # Production puts its finished units into stock: a movement kind of its own.
    op.drop_constraint(op.f('ck_stock_movement_kind'), 'stock_movement', type_='check')
    op.create_check_constraint(op.f('ck_stock_movement_kind'), 'stock_movement', f"kind in {MOVEMENT_KINDS!r}")
    for table in TENANT_TABLES:
        tenant_rls(table)
        if table != 'recall':  # a supplier reads the recall its notice belongs to
            buyer_only(table)
    for table in SUPPLIER_TABLES:
        tenant_rls(table, supplier_column='supplier_id')
    for table in TENANT_TABLES + SUPPLIER_TABLES:
        if table != 'reading':
            audited(table)
    op.execute("CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON reading FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse()")
    # The cold-chain jobs (erp.coldchain.tasks: silent loggers, late shipments) run with no
    # tenant in context: the tenants to visit, through the owner (FORCE binds it too).
    op.execute("CREATE POLICY owner_lookup ON logger_binding FOR SELECT TO CURRENT_USER USING (true)")
    op.execute("""
CREATE FUNCTION app.coldchain_tenants(as_of date) RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
SELECT tenant_id FROM public.logger_binding WHERE ends_at IS NULL
UNION
SELECT tenant_id FROM public.asn WHERE status IN ('submitted', 'in_transit') AND expected_arrival < as_of $$;
""")
    op.execute("REVOKE ALL ON FUNCTION app.coldchain_tenants(date) FROM PUBLIC")
    grant_new_permissions(NEW_PERMISSIONS)
    # Update events pair old and new rows by a hash join now (migrations/support.py).
    op.execute(AUDIT_ON_UPDATE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    app_role = context.config.attributes.get("app_role", "traceport_app")
    op.execute(
        "GRANT SELECT, INSERT, UPDATE ON customer, production_run, customer_shipment, storage_condition, data_logger,"
        f" logger_binding, reading_batch, recall, recall_scope, recall_notice, cold_chain_alert TO {app_role}"
    )
    # The history: links, shipment lines, snapshots, the recall timeline, readings and
    # partners' events are never changed.
    op.execute(
        "GRANT SELECT, INSERT ON genealogy_link, customer_shipment_line, trace_snapshot, recall_action, reading,"
        f" epcis_event TO {app_role}"
    )
    op.execute(f"GRANT EXECUTE ON FUNCTION app.coldchain_tenants(date) TO {app_role}")


MOVEMENT_KINDS = ('receipt', 'move', 'release', 'reject', 'hold', 'consume', 'ship', 'adjust', 'produce')
TENANT_TABLES = (
    'customer', 'production_run', 'genealogy_link', 'customer_shipment', 'customer_shipment_line', 'trace_snapshot',
    'recall', 'epcis_event', 'storage_condition', 'data_logger', 'logger_binding', 'reading_batch', 'reading',
    'cold_chain_alert',
)
SUPPLIER_TABLES = ('recall_scope', 'recall_action', 'recall_notice')

# The permissions this revision adds, given to the built-in roles of existing tenants as
# auth.permissions.DEFAULT_ROLES gives them to new ones.
NEW_PERMISSIONS = {
    "tenant_admin": ["coldchain.record", "coldchain.view", "production.record"],
    "quality": ["coldchain.record", "coldchain.view"],
    "warehouse": ["coldchain.record", "coldchain.view", "production.record"],
    "supplier_admin": ["recall.acknowledge"],
    "supplier_user": ["recall.acknowledge"],
}


def downgrade() -> None:
    op.execute("DROP FUNCTION app.coldchain_tenants(date)")
    op.drop_constraint(op.f('ck_stock_movement_kind'), 'stock_movement', type_='check')
    op.create_check_constraint(op.f('ck_stock_movement_kind'), 'stock_movement', f"kind in {MOVEMENT_KINDS[:-1]!r}")
    op.drop_index('ix_receipt_line_lot', table_name='receipt_line')
    op.drop_index('ix_lot_number', table_name='lot')
    op.drop_column('receipt', 'seal_number')
    op.drop_column('asn', 'seal_number')
    op.drop_index('ix_cold_chain_alert_status', table_name='cold_chain_alert')
    op.drop_index('ix_cold_chain_alert_binding', table_name='cold_chain_alert')
    op.drop_table('cold_chain_alert')
    op.drop_index('ix_recall_action_recall', table_name='recall_action')
    op.drop_table('recall_action')
    op.drop_index('ix_logger_binding_lot', table_name='logger_binding')
    op.drop_index('ix_logger_binding_logger', table_name='logger_binding')
    op.drop_index('ix_logger_binding_asn', table_name='logger_binding')
    op.drop_table('logger_binding')
    op.drop_index('ix_genealogy_link_run', table_name='genealogy_link')
    op.drop_index('ix_genealogy_link_output_serial', table_name='genealogy_link')
    op.drop_index('ix_genealogy_link_output', table_name='genealogy_link')
    op.drop_index('ix_genealogy_link_input_serial', table_name='genealogy_link')
    op.drop_index('ix_genealogy_link_input', table_name='genealogy_link')
    op.drop_table('genealogy_link')
    op.drop_index('ix_recall_scope_recall', table_name='recall_scope')
    op.drop_table('recall_scope')
    op.drop_index('ix_production_run_lot', table_name='production_run')
    op.drop_table('production_run')
    op.drop_index('ix_recall_notice_supplier', table_name='recall_notice')
    op.drop_table('recall_notice')
    op.drop_table('reading')
    op.drop_index('ix_customer_shipment_line_shipment', table_name='customer_shipment_line')
    op.drop_index('ix_customer_shipment_line_serial', table_name='customer_shipment_line')
    op.drop_index('ix_customer_shipment_line_lot', table_name='customer_shipment_line')
    op.drop_table('customer_shipment_line')
    op.drop_table('storage_condition')
    op.drop_index('ix_recall_status', table_name='recall')
    op.drop_table('recall')
    op.drop_table('reading_batch')
    op.drop_index('ix_customer_shipment_customer', table_name='customer_shipment')
    op.drop_table('customer_shipment')
    op.drop_index('ix_trace_snapshot_run_at', table_name='trace_snapshot')
    op.drop_table('trace_snapshot')
    op.drop_index('ix_epcis_event_time', table_name='epcis_event')
    op.drop_table('epcis_event')
    op.drop_table('data_logger')
    op.drop_table('customer')
