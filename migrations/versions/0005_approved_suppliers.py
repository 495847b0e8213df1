"""approved suppliers

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 16:45:00.000000

Suppliers' contacts and the approved supplier list (ISO 13485 §7.4.1): an entry per
supplier (every site, or one site) and item or category, with its status and the reason
and time of its last change, and the history of changes (insert-only for the application
role, like e_signature). New tables get row-level security (supplier users see their own
company's rows), audit triggers and grants.
"""

import sqlalchemy as sa
from alembic import context, op

from migrations.support import audited, tenant_rls

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Frozen as they were at this revision (erp.suppliers.models.STATUSES, erp.items.models.CATEGORIES).
STATUSES = ("approved", "conditional", "probation", "disqualified")
CATEGORIES = (
    "component", "raw_material", "sterile_barrier", "packaging", "finished_device", "contract_manufactured", "consumable", "service"
)
TABLES = ("supplier_contact", "approved_source", "approved_source_change")


def _within(column: str, values) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table('supplier_contact',
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('role', sa.String(length=100), nullable=True),
    sa.Column('is_primary', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_supplier_contact_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_supplier_contact'))
    )
    op.create_index('ix_supplier_contact_primary', 'supplier_contact', ['tenant_id', 'supplier_id'], unique=True, postgresql_where=sa.text('is_primary'))
    op.create_index('ix_supplier_contact_supplier', 'supplier_contact', ['tenant_id', 'supplier_id', 'name'], unique=False)
    op.create_table('approved_source',
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('site_id', sa.UUID(), nullable=True),
    sa.Column('item_id', sa.UUID(), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.UUID(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("btrim(reason) <> ''", name=op.f('ck_approved_source_reason')),
    sa.CheckConstraint(_within('category', CATEGORIES), name=op.f('ck_approved_source_category')),
    sa.CheckConstraint(_within('status', STATUSES), name=op.f('ck_approved_source_status')),
    sa.CheckConstraint('(item_id is null) <> (category is null)', name=op.f('ck_approved_source_item_or_category')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_approved_source_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'site_id'], ['site.tenant_id', 'site.id'], name=op.f('fk_approved_source_tenant_id_site_id_site')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_approved_source_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_approved_source'))
    )
    op.create_index('ix_approved_source_item', 'approved_source', ['tenant_id', 'item_id'], unique=False)
    # One entry per supplier, site (or none) and item or category: nulls count as equal (PostgreSQL 15+).
    op.create_index('ix_approved_source_scope', 'approved_source', ['tenant_id', 'supplier_id', 'site_id', 'item_id', 'category'], unique=True, postgresql_nulls_not_distinct=True)
    op.create_table('approved_source_change',
    sa.Column('approved_source_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.UUID(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint(_within('from_status', STATUSES), name=op.f('ck_approved_source_change_from_status')),
    sa.CheckConstraint(_within('to_status', STATUSES), name=op.f('ck_approved_source_change_to_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'approved_source_id'], ['approved_source.tenant_id', 'approved_source.id'], name=op.f('fk_approved_source_change_tenant_id_approved_source_id_approved_source')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_approved_source_change_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_approved_source_change'))
    )
    op.create_index('ix_approved_source_change_source', 'approved_source_change', ['tenant_id', 'approved_source_id', 'changed_at'], unique=False)
    for table in TABLES:
        tenant_rls(table, supplier_column="supplier_id")
        audited(table)
    _grants(context.config.attributes.get("app_role", "traceport_app"))


def _grants(app_role: str) -> None:
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON supplier_contact TO {app_role}")
    # An entry of the list is changed, never removed (its history refers to it).
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON approved_source TO {app_role}")
    # The history is a record: written once, never changed.
    op.execute(f"GRANT SELECT, INSERT ON approved_source_change TO {app_role}")


def downgrade() -> None:
    op.drop_index('ix_approved_source_change_source', table_name='approved_source_change')
    op.drop_table('approved_source_change')
    op.drop_index('ix_approved_source_scope', table_name='approved_source')
    op.drop_index('ix_approved_source_item', table_name='approved_source')
    op.drop_table('approved_source')
    op.drop_index('ix_supplier_contact_supplier', table_name='supplier_contact')
    op.drop_index('ix_supplier_contact_primary', table_name='supplier_contact')
    op.drop_table('supplier_contact')
