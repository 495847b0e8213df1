"""supplier scorecards

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 09:00:00.000000

The tenant's scoring rules (scoring_setting, one row per tenant; scoring_kpi_setting,
a weight, threshold and zero point per KPI), the computed scorecards per supplier and
period (scorecard_result; supplier_id null: the tenant average), suppliers' disputes of
the transactions behind a figure (scorecard_dispute), and the supplier's current grade
and what it means for new orders (supplier_grade, owned by erp.suppliers, read by the
order issue gate). Tenant row-level security on all; the supplier policy on the tables
naming a supplier (the tenant average is not a supplier's). Audit triggers on all.
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from migrations.support import audited, buyer_writes, grant_new_permissions, tenant_rls

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

TENANT_ID = sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid")


def _keys() -> list:
    return [
        sa.Column('tenant_id', sa.UUID(), server_default=TENANT_ID, nullable=False),
        sa.Column('id', sa.UUID(), nullable=False),
    ]


def _stamps() -> list:
    return [
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    ]


def _supplier_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'],
                                   name=op.f(f'fk_{table}_tenant_id_supplier_id_organisation'))


KPIS = ("'on_time', 'otif', 'lot_acceptance', 'ppm', 'nc_per_100', 'returns', 'ack_time', 'ack_in_target', "
        "'asn_accuracy', 'asn_timeliness', 'cert_compliance', 'qms_certified', 'scar_responsiveness'")
ACTIONS = "'none', 'warn', 'approval', 'block'"


def upgrade() -> None:
    op.create_table('scoring_setting',
    sa.Column('early_days', sa.Integer(), server_default='3', nullable=False),
    sa.Column('late_days', sa.Integer(), server_default='0', nullable=False),
    sa.Column('ack_target_hours', sa.Integer(), server_default='48', nullable=False),
    sa.Column('dispute_days', sa.Integer(), server_default='30', nullable=False),
    sa.Column('qms_certificate_type_id', sa.UUID(), nullable=True),
    sa.Column('grade_a_min', sa.Numeric(precision=5, scale=2), server_default='90', nullable=False),
    sa.Column('grade_b_min', sa.Numeric(precision=5, scale=2), server_default='75', nullable=False),
    sa.Column('grade_c_min', sa.Numeric(precision=5, scale=2), server_default='60', nullable=False),
    sa.Column('action_a', sa.String(length=10), server_default='none', nullable=False),
    sa.Column('action_b', sa.String(length=10), server_default='none', nullable=False),
    sa.Column('action_c', sa.String(length=10), server_default='warn', nullable=False),
    sa.Column('action_d', sa.String(length=10), server_default='approval', nullable=False),
    *_keys(),
    *_stamps(),
    sa.CheckConstraint('early_days between 0 and 60 and late_days between 0 and 60', name=op.f('ck_scoring_setting_window')),
    sa.CheckConstraint('ack_target_hours between 1 and 720', name=op.f('ck_scoring_setting_ack_target_hours')),
    sa.CheckConstraint('dispute_days between 0 and 365', name=op.f('ck_scoring_setting_dispute_days')),
    sa.CheckConstraint(
        'grade_c_min >= 0 and grade_c_min <= grade_b_min and grade_b_min <= grade_a_min and grade_a_min <= 100',
        name=op.f('ck_scoring_setting_grades')),
    *[sa.CheckConstraint(f"action_{g} in ({ACTIONS})", name=op.f(f'ck_scoring_setting_action_{g}')) for g in "abcd"],
    sa.ForeignKeyConstraint(['tenant_id', 'qms_certificate_type_id'], ['certificate_type.tenant_id', 'certificate_type.id'],
                            name=op.f('fk_scoring_setting_tenant_id_qms_certificate_type_id_certificate_type')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_scoring_setting')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_scoring_setting_tenant_id'))
    )
    op.create_table('scoring_kpi_setting',
    sa.Column('kpi', sa.String(length=30), nullable=False),
    sa.Column('weight', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('threshold', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('zero_at', sa.Numeric(precision=12, scale=2), nullable=True),
    *_keys(),
    *_stamps(),
    sa.CheckConstraint(f"kpi in ({KPIS})", name=op.f('ck_scoring_kpi_setting_kpi')),
    sa.CheckConstraint('weight between 0 and 100', name=op.f('ck_scoring_kpi_setting_weight')),
    sa.CheckConstraint('threshold between 0 and 100', name=op.f('ck_scoring_kpi_setting_threshold')),
    sa.CheckConstraint('zero_at is null or zero_at > 0', name=op.f('ck_scoring_kpi_setting_zero_at')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_scoring_kpi_setting')),
    sa.UniqueConstraint('tenant_id', 'kpi', name=op.f('uq_scoring_kpi_setting_tenant_id_kpi'))
    )
    op.create_table('scorecard_result',
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('period_kind', sa.String(length=10), nullable=False),
    sa.Column('period_key', sa.String(length=12), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('grade', sa.String(length=2), nullable=True),
    sa.Column('action', sa.String(length=10), nullable=True),
    sa.Column('kpis', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    *_keys(),
    sa.CheckConstraint("period_kind in ('month', 'quarter', 'rolling12')", name=op.f('ck_scorecard_result_period_kind')),
    sa.CheckConstraint(f"action is null or action in ({ACTIONS})", name=op.f('ck_scorecard_result_action')),
    sa.CheckConstraint('score is null or score between 0 and 100', name=op.f('ck_scorecard_result_score')),
    _supplier_fk('scorecard_result'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_scorecard_result'))
    )
    op.create_index('uq_scorecard_result_period', 'scorecard_result', ['tenant_id', 'period_key', 'supplier_id'], unique=True,
                    postgresql_nulls_not_distinct=True)
    op.create_index('ix_scorecard_result_score', 'scorecard_result', ['tenant_id', 'period_key', 'score', 'supplier_id'])
    op.create_index('ix_scorecard_result_supplier', 'scorecard_result',
                    ['tenant_id', 'supplier_id', 'period_kind', 'period_start'])
    op.create_table('scorecard_dispute',
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('kpi', sa.String(length=30), nullable=False),
    sa.Column('ref_kind', sa.String(length=20), nullable=False),
    sa.Column('ref_id', sa.UUID(), nullable=False),
    sa.Column('ref_sub_id', sa.UUID(), nullable=True),
    sa.Column('ref_number', sa.String(length=80), nullable=False),
    sa.Column('ref_day', sa.Date(), nullable=False),
    sa.Column('period_key', sa.String(length=12), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='open', nullable=False),
    sa.Column('raised_by', sa.UUID(), nullable=True),
    sa.Column('raised_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decided_by', sa.UUID(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    *_keys(),
    sa.CheckConstraint(f"kpi in ({KPIS})", name=op.f('ck_scorecard_dispute_kpi')),
    sa.CheckConstraint("ref_kind in ('delivery', 'receipt', 'inspection', 'nonconformance', 'purchase_order', 'obligation')",
                       name=op.f('ck_scorecard_dispute_ref_kind')),
    sa.CheckConstraint("status in ('open', 'accepted', 'rejected')", name=op.f('ck_scorecard_dispute_status')),
    sa.CheckConstraint("btrim(comment) <> ''", name=op.f('ck_scorecard_dispute_comment')),
    sa.CheckConstraint("status = 'open' or btrim(coalesce(decision_reason, '')) <> ''",
                       name=op.f('ck_scorecard_dispute_decision_reason')),
    _supplier_fk('scorecard_dispute'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_scorecard_dispute'))
    )
    op.create_index('ix_scorecard_dispute_status', 'scorecard_dispute', ['tenant_id', 'status', 'raised_at'])
    op.create_index('ix_scorecard_dispute_supplier', 'scorecard_dispute', ['tenant_id', 'supplier_id', 'raised_at'])
    op.create_index('uq_scorecard_dispute_live', 'scorecard_dispute', ['tenant_id', 'kpi', 'ref_id', 'ref_sub_id'], unique=True,
                    postgresql_nulls_not_distinct=True, postgresql_where=sa.text("status in ('open', 'accepted')"))
    op.create_table('supplier_grade',
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('grade', sa.String(length=2), nullable=True),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('action', sa.String(length=10), server_default='none', nullable=False),
    sa.Column('period_key', sa.String(length=12), nullable=True),
    sa.Column('graded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    *_keys(),
    *_stamps(),
    sa.CheckConstraint(f"action in ({ACTIONS})", name=op.f('ck_supplier_grade_action')),
    _supplier_fk('supplier_grade'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_supplier_grade')),
    sa.UniqueConstraint('tenant_id', 'supplier_id', name=op.f('uq_supplier_grade_tenant_id_supplier_id'))
    )
    for table in ('scoring_setting', 'scoring_kpi_setting'):
        tenant_rls(table)
        audited(table)
    for table in ('scorecard_result', 'scorecard_dispute', 'supplier_grade'):
        tenant_rls(table, supplier_column='supplier_id')
        audited(table)
    # A supplier reads its grade and scorecards and raises disputes; it writes nothing else.
    buyer_writes('scorecard_result')
    buyer_writes('supplier_grade')
    buyer_writes('scorecard_dispute', commands=("UPDATE", "DELETE"))
    op.execute("""
-- The active tenants, for the scoring jobs, which start with no tenant in context (the
-- tenant table has the owner's lookup policy; organisation has none, so it cannot be read
-- here without a tenant).
CREATE FUNCTION app.scoring_tenants() RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
SELECT id FROM public.tenant WHERE is_active ORDER BY id $$;
""")
    op.execute("REVOKE ALL ON FUNCTION app.scoring_tenants() FROM PUBLIC")
    grant_new_permissions(NEW_PERMISSIONS)
    app_role = context.config.attributes.get("app_role", "traceport_app")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON scoring_setting, scoring_kpi_setting, scorecard_dispute, supplier_grade"
               f" TO {app_role}")
    # Recomputing rewrites a period's results.
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON scorecard_result TO {app_role}")
    op.execute(f"GRANT EXECUTE ON FUNCTION app.scoring_tenants() TO {app_role}")


# The permissions this revision adds, given to the built-in roles of existing tenants as
# auth.permissions.DEFAULT_ROLES gives them to new ones.
NEW_PERMISSIONS = {
    "tenant_admin": ["scorecard.view", "scorecard.manage", "po.approve"],
    "buyer": ["scorecard.view", "scorecard.manage"],
    "quality": ["scorecard.view", "scorecard.manage"],
    "warehouse": ["scorecard.view"],
    "viewer": ["scorecard.view"],
    "supplier_admin": ["scorecard.view"],
    "supplier_user": ["scorecard.view"],
}


def downgrade() -> None:
    op.execute("DROP FUNCTION app.scoring_tenants()")
    op.drop_table('supplier_grade')
    op.drop_index('uq_scorecard_dispute_live', table_name='scorecard_dispute',
                  postgresql_where=sa.text("status in ('open', 'accepted')"))
    op.drop_index('ix_scorecard_dispute_supplier', table_name='scorecard_dispute')
    op.drop_index('ix_scorecard_dispute_status', table_name='scorecard_dispute')
    op.drop_table('scorecard_dispute')
    op.drop_index('ix_scorecard_result_supplier', table_name='scorecard_result')
    op.drop_index('ix_scorecard_result_score', table_name='scorecard_result')
    op.drop_index('uq_scorecard_result_period', table_name='scorecard_result')
    op.drop_table('scorecard_result')
    op.drop_table('scoring_kpi_setting')
    op.drop_table('scoring_setting')
