"""po confirmation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 16:30:00.000000

The purchase order lifecycle and the supplier's confirmation line by line: revision,
version (optimistic concurrency), issue and acknowledgement times and the status list
on the order; ship-to site, status and promised date on the line; delivery schedule
lines; the tenant's rejection reason codes (existing tenants get the defaults, frozen
here as they were at this revision); the supplier's line responses with the buyer's
decision. New tables get row-level security, audit triggers and grants.
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from migrations.support import audited, tenant_rls

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

STATUSES = ("draft", "issued", "partially_acknowledged", "acknowledged", "in_delivery", "received", "closed", "cancelled")
LINE_STATUSES = ("open", "accepted", "rejected", "cancelled")
# Statuses used before the lifecycle existed, and what they are now.
OLD_STATUSES = {"confirmed": "acknowledged", "change_requested": "issued", "partially_received": "in_delivery", "shipped": "in_delivery"}
DEFAULT_REASON_CODES = [
    ("capacity", "Insufficient capacity", "产能不足"),
    ("price", "Price not agreed", "价格未达成一致"),
    ("lead_time", "Lead time too short", "交期过短"),
    ("discontinued", "Item discontinued", "物料已停产"),
    ("spec", "Specification unclear", "规格不明确"),
    ("other", "Other", "其他"),
]
TENANT_TABLES = {
    # table: supplier column
    "purchase_order_schedule": "supplier_id",
    "po_reason_code": None,
    "po_line_response": "supplier_id",
}


def _within(column: str, values) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table('po_reason_code',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_po_reason_code')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_po_reason_code_tenant_id_code'))
    )
    op.create_table('purchase_order_schedule',
    sa.Column('purchase_order_line_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_purchase_order_schedule_quantity')),
    sa.ForeignKeyConstraint(['tenant_id', 'purchase_order_line_id'], ['purchase_order_line.tenant_id', 'purchase_order_line.id'], name=op.f('fk_purchase_order_schedule_tenant_id_purchase_order_line_id_purchase_order_line'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_purchase_order_schedule_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_purchase_order_schedule')),
    sa.UniqueConstraint('tenant_id', 'purchase_order_line_id', 'seq', name=op.f('uq_purchase_order_schedule_tenant_id_purchase_order_line_id_seq'))
    )
    op.create_table('po_line_response',
    sa.Column('purchase_order_id', sa.UUID(), nullable=False),
    sa.Column('purchase_order_line_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('reason_code', sa.String(length=30), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=6), nullable=True),
    sa.Column('promised_date', sa.Date(), nullable=True),
    sa.Column('schedule', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('responded_by', sa.UUID(), nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decision', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('decided_by', sa.UUID(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint(_within('action', ('accept', 'reject', 'propose')), name=op.f('ck_po_line_response_action')),
    sa.CheckConstraint(_within('decision', ('pending', 'accepted', 'rejected', 'superseded')), name=op.f('ck_po_line_response_decision')),
    sa.ForeignKeyConstraint(['tenant_id', 'purchase_order_id'], ['purchase_order.tenant_id', 'purchase_order.id'], name=op.f('fk_po_line_response_tenant_id_purchase_order_id_purchase_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'purchase_order_line_id'], ['purchase_order_line.tenant_id', 'purchase_order_line.id'], name=op.f('fk_po_line_response_tenant_id_purchase_order_line_id_purchase_order_line'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'reason_code'], ['po_reason_code.tenant_id', 'po_reason_code.code'], name=op.f('fk_po_line_response_tenant_id_reason_code_po_reason_code')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_po_line_response_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_po_line_response'))
    )
    op.create_index(
        'ix_purchase_order_supplier_created', 'purchase_order', ['tenant_id', 'supplier_id', 'created_at', 'id'], unique=False
    )
    op.create_index('ix_po_line_response_order', 'po_line_response', ['tenant_id', 'purchase_order_id', 'purchase_order_line_id'], unique=False)

    op.alter_column('purchase_order', 'status', existing_type=sa.String(length=20), type_=sa.String(length=30), existing_nullable=False, existing_server_default=sa.text("'draft'::character varying"))
    op.add_column('purchase_order', sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
    op.add_column('purchase_order', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.add_column('purchase_order', sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('purchase_order', sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('purchase_order_line', sa.Column('ship_to_site_id', sa.UUID(), nullable=True))
    op.add_column('purchase_order_line', sa.Column('status', sa.String(length=20), server_default='open', nullable=False))
    op.add_column('purchase_order_line', sa.Column('promised_date', sa.Date(), nullable=True))
    op.create_foreign_key(op.f('fk_purchase_order_line_tenant_id_ship_to_site_id_site'), 'purchase_order_line', 'site', ['tenant_id', 'ship_to_site_id'], ['tenant_id', 'id'])
    cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in OLD_STATUSES.items())
    olds = ", ".join(f"'{old}'" for old in OLD_STATUSES)
    _per_tenant(f"UPDATE purchase_order SET status = CASE status {cases} END WHERE status IN ({olds})")
    op.create_check_constraint(op.f('ck_purchase_order_status'), 'purchase_order', _within('status', STATUSES))
    op.create_check_constraint(op.f('ck_purchase_order_line_status'), 'purchase_order_line', _within('status', LINE_STATUSES))
    for table, supplier_column in TENANT_TABLES.items():
        tenant_rls(table, supplier_column=supplier_column)
        audited(table)
    # The list is shown in creation order: a microsecond apart, in the order above.
    values = ", ".join(f"({n}, '{code}', '{name}', '{name_zh}')" for n, (code, name, name_zh) in enumerate(DEFAULT_REASON_CODES))
    _per_tenant(
        "INSERT INTO po_reason_code (tenant_id, id, code, name, name_zh, created_at, updated_at)"
        " SELECT t, gen_random_uuid(), v.code, v.name, v.name_zh, now() + v.n * interval '1 microsecond', now()"
        f" FROM (VALUES {values}) AS v(n, code, name, name_zh)"
    )
    _grants(context.config.attributes.get("app_role", "traceport_app"))


def _per_tenant(statement: str) -> None:
    # FORCE RLS holds for the owner too: each tenant's rows are changed in its context
    # (and the audit trail records the change in that tenant's chain).
    op.execute(f"""
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenant LOOP
    PERFORM set_config('app.tenant_id', t::text, true);
    {statement};
  END LOOP;
  PERFORM set_config('app.tenant_id', '', true);
END $$""")


def _grants(app_role: str) -> None:
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON purchase_order_schedule, po_reason_code, po_line_response TO {app_role}")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_purchase_order_line_status'), 'purchase_order_line', type_='check')
    op.drop_constraint(op.f('ck_purchase_order_status'), 'purchase_order', type_='check')
    # The old column holds 20 characters; the old list knew no acknowledgement.
    _per_tenant(
        "UPDATE purchase_order SET status = CASE status WHEN 'partially_acknowledged' THEN 'issued'"
        " WHEN 'acknowledged' THEN 'confirmed' WHEN 'in_delivery' THEN 'partially_received' ELSE status END"
        " WHERE status IN ('partially_acknowledged', 'acknowledged', 'in_delivery')"
    )
    op.drop_constraint(op.f('fk_purchase_order_line_tenant_id_ship_to_site_id_site'), 'purchase_order_line', type_='foreignkey')
    op.drop_column('purchase_order_line', 'promised_date')
    op.drop_column('purchase_order_line', 'status')
    op.drop_column('purchase_order_line', 'ship_to_site_id')
    op.drop_column('purchase_order', 'acknowledged_at')
    op.drop_column('purchase_order', 'issued_at')
    op.drop_column('purchase_order', 'version')
    op.drop_column('purchase_order', 'revision')
    op.alter_column('purchase_order', 'status', existing_type=sa.String(length=30), type_=sa.String(length=20), existing_nullable=False, existing_server_default=sa.text("'draft'::character varying"))
    op.drop_index('ix_po_line_response_order', table_name='po_line_response')
    op.drop_index('ix_purchase_order_supplier_created', table_name='purchase_order')
    op.drop_table('po_line_response')
    op.drop_table('purchase_order_schedule')
    op.drop_table('po_reason_code')
