"""compliance dashboard aggregates

Revision ID: 0015
Revises: 0014

The pre-aggregated figures of the compliance dashboard (scoring.aggregates): per day,
supplier, receiving site and item category; one row per released lot with its batch
release time; the tenant's refresh watermark. Tenant row-level security and the
supplier policy on all. Derived only, not audited: every row is recomputed from audited
records by the refresh job (see scoring/aggregates.py); the application role rewrites
them. scorecard_mailing records the monthly scorecard mail (once per supplier and
period); it is audited. app.scoring_tenants() (0013) lists the active tenants for the scoring jobs, which start
with no tenant in context.
"""

import sqlalchemy as sa
from alembic import context, op

from migrations.support import audited, tenant_rls

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TENANT_DEFAULT = sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid")


def upgrade() -> None:
    op.create_table('compliance_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('site_id', sa.UUID(), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('lots_received', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lots_inspected', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lots_rejected', sa.Integer(), server_default='0', nullable=False),
    sa.Column('nonconformances', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lots_released', sa.Integer(), server_default='0', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=TENANT_DEFAULT, nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'site_id'], ['site.tenant_id', 'site.id'], name=op.f('fk_compliance_day_tenant_id_site_id_site')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_compliance_day_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_compliance_day'))
    )
    op.create_index('uq_compliance_day_key', 'compliance_day', ['tenant_id', 'day', 'supplier_id', 'site_id', 'category'], unique=True, postgresql_nulls_not_distinct=True)
    op.create_table('compliance_release',
    sa.Column('lot_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('site_id', sa.UUID(), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_on', sa.Date(), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=TENANT_DEFAULT, nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'lot_id'], ['lot.tenant_id', 'lot.id'], name=op.f('fk_compliance_release_tenant_id_lot_id_lot')),
    sa.ForeignKeyConstraint(['tenant_id', 'site_id'], ['site.tenant_id', 'site.id'], name=op.f('fk_compliance_release_tenant_id_site_id_site')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_compliance_release_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_compliance_release')),
    sa.UniqueConstraint('tenant_id', 'lot_id', name=op.f('uq_compliance_release_tenant_id_lot_id'))
    )
    op.create_index('ix_compliance_release_day', 'compliance_release', ['tenant_id', 'released_on'], unique=False)
    op.create_table('compliance_refresh',
    sa.Column('watermark', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('days', sa.Integer(), server_default='0', nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=TENANT_DEFAULT, nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_compliance_refresh')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_compliance_refresh_tenant_id'))
    )
    op.create_table('scorecard_mailing',
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('period_key', sa.String(length=12), nullable=False),
    sa.Column('recipients', sa.Integer(), server_default='0', nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=TENANT_DEFAULT, nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_scorecard_mailing_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_scorecard_mailing')),
    sa.UniqueConstraint('tenant_id', 'supplier_id', 'period_key', name=op.f('uq_scorecard_mailing_tenant_id_supplier_id_period_key'))
    )
    for table in ('compliance_day', 'compliance_release'):
        tenant_rls(table, supplier_column='supplier_id')
    tenant_rls('compliance_refresh')
    # The monthly mail's record: who was sent what, once; a record, so audited.
    tenant_rls('scorecard_mailing', supplier_column='supplier_id')
    audited('scorecard_mailing')
    app_role = context.config.attributes.get("app_role", "traceport_app")
    # Derived: the refresh job deletes and rewrites rows (no TRUNCATE: it works per tenant).
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON compliance_day, compliance_release, compliance_refresh TO {app_role}")
    op.execute(f"GRANT SELECT, INSERT ON scorecard_mailing TO {app_role}")


def downgrade() -> None:
    op.drop_table('scorecard_mailing')
    op.drop_table('compliance_refresh')
    op.drop_index('ix_compliance_release_day', table_name='compliance_release')
    op.drop_table('compliance_release')
    op.drop_index('uq_compliance_day_key', table_name='compliance_day', postgresql_nulls_not_distinct=True)
    op.drop_table('compliance_day')
