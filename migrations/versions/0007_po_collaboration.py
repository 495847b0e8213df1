"""po collaboration

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:00:00.000000

Change orders (each revision's diff and the lines before it; insert-only), the
purchase order's message thread between buyer and supplier (insert-only), the
tenant's purchasing settings (days before an unacknowledged order is overdue), the time
of the last overdue reminder on the order, and an index of the orders awaiting the
supplier's answer. A security-definer function lists the tenants that have such orders,
for the reminder job (it runs with no tenant in context).
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from migrations.support import audited, tenant_rls

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

CONTEXT_TENANT = sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid")


def upgrade() -> None:
    op.create_table('po_message',
    sa.Column('purchase_order_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('author_id', sa.UUID(), nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=CONTEXT_TENANT, nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'purchase_order_id'], ['purchase_order.tenant_id', 'purchase_order.id'], name=op.f('fk_po_message_tenant_id_purchase_order_id_purchase_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_po_message_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_po_message'))
    )
    op.create_index('ix_po_message_order', 'po_message', ['tenant_id', 'purchase_order_id', 'created_at'], unique=False)
    op.create_table('purchasing_setting',
    sa.Column('ack_reminder_days', sa.Integer(), server_default='3', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=CONTEXT_TENANT, nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('ack_reminder_days between 0 and 60', name=op.f('ck_purchasing_setting_ack_reminder_days')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_purchasing_setting')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_purchasing_setting_tenant_id'))
    )
    op.create_table('po_revision',
    sa.Column('purchase_order_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('diff', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('previous_lines', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('changed_by', sa.UUID(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=CONTEXT_TENANT, nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'purchase_order_id'], ['purchase_order.tenant_id', 'purchase_order.id'], name=op.f('fk_po_revision_tenant_id_purchase_order_id_purchase_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_po_revision_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_po_revision')),
    sa.UniqueConstraint('tenant_id', 'purchase_order_id', 'revision', name=op.f('uq_po_revision_tenant_id_purchase_order_id_revision'))
    )
    op.add_column('purchase_order', sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_purchase_order_awaiting', 'purchase_order', ['tenant_id', 'issued_at'], unique=False,
        postgresql_where=sa.text("status in ('issued', 'partially_acknowledged')"),
    )
    tenant_rls('po_message', supplier_column='supplier_id')
    audited('po_message')
    tenant_rls('purchasing_setting')
    audited('purchasing_setting')
    tenant_rls('po_revision', supplier_column='supplier_id')
    audited('po_revision')
    op.execute("""
CREATE FUNCTION app.tenants_awaiting_acknowledgement() RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
SELECT DISTINCT tenant_id FROM public.purchase_order WHERE status IN ('issued', 'partially_acknowledged') $$;
""")
    op.execute("REVOKE ALL ON FUNCTION app.tenants_awaiting_acknowledgement() FROM PUBLIC")
    app_role = context.config.attributes.get("app_role", "traceport_app")
    # A thread is a record: messages are written once, never changed.
    op.execute(f"GRANT SELECT, INSERT ON po_message, po_revision TO {app_role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON purchasing_setting TO {app_role}")
    op.execute(f"GRANT EXECUTE ON FUNCTION app.tenants_awaiting_acknowledgement() TO {app_role}")


def downgrade() -> None:
    op.execute("DROP FUNCTION app.tenants_awaiting_acknowledgement()")
    op.drop_index('ix_purchase_order_awaiting', table_name='purchase_order', postgresql_where=sa.text("status in ('issued', 'partially_acknowledged')"))
    op.drop_column('purchase_order', 'reminded_at')
    op.drop_table('po_revision')
    op.drop_table('purchasing_setting')
    op.drop_index('ix_po_message_order', table_name='po_message')
    op.drop_table('po_message')
