"""foundation

Revision ID: 0001
Revises:
Create Date: 2026-11-25 06:47:27.719563

Tables, the two-role grants, row-level security on every tenant table, the audit
schema with its triggers, and procrastinate's schema. Runs as the owner role.
"""

import sqlalchemy as sa
from alembic import context, op
from procrastinate.schema import SchemaManager
from sqlalchemy.dialects import postgresql

from migrations.support import AUDIT_FUNCTIONS, NIL_TENANT, TENANT, USER, audited, tenant_rls

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


TENANT_TABLES = {
    # table: (supplier column, supplier users also see rows with no supplier)
    "organisation": ("supplier_id", True),
    "site": ("supplier_id", True),
    "item": (None, False),
    "purchase_order": ("supplier_id", False),
    "purchase_order_line": ("supplier_id", False),
    "outbox_message": (None, False),
    "idempotency_key": (None, False),
    "counter": (None, False),
}
AUDITED = ["organisation", "site", "membership", "item", "purchase_order", "purchase_order_line"]
AUDIT_TABLES = ["audit.event", "audit.seal", "audit.checkpoint"]


def upgrade() -> None:
    app_role = context.config.attributes.get("app_role", "traceport_app")
    op.execute("CREATE SCHEMA IF NOT EXISTS audit")
    op.execute("CREATE SCHEMA IF NOT EXISTS app")
    op.execute("CREATE SCHEMA IF NOT EXISTS procrastinate")
    op.create_table('checkpoint',
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('horizon', sa.BigInteger(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'seq', name=op.f('pk_checkpoint')),
    schema='audit'
    )
    op.create_table('event',
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('xact', sa.BigInteger(), nullable=False),
    sa.Column('actor_id', sa.UUID(), nullable=True),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=1), nullable=False),
    sa.Column('table_name', sa.Text(), nullable=False),
    sa.Column('row_id', sa.Text(), nullable=True),
    sa.Column('old_values', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('new_values', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('request_id', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_event')),
    schema='audit'
    )
    op.create_index('ix_event_xact', 'event', ['tenant_id', 'xact', 'id'], unique=False, schema='audit')
    op.create_table('seal',
    sa.Column('tenant_id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'seq', name=op.f('pk_seal')),
    sa.UniqueConstraint('tenant_id', 'event_id', name=op.f('uq_seal_tenant_id_event_id')),
    schema='audit'
    )
    op.create_table('counter',
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'name', name=op.f('pk_counter'))
    )
    op.create_table('idempotency_key',
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('principal', sa.String(length=80), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'principal', 'key', name=op.f('pk_idempotency_key'))
    )
    op.create_table('item',
    sa.Column('part_number', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('uom', sa.String(length=10), nullable=False),
    sa.Column('gtin', sa.String(length=14), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_item')),
    sa.UniqueConstraint('tenant_id', 'part_number', name=op.f('uq_item_tenant_id_part_number'))
    )
    op.create_table('organisation',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'supplier') = (supplier_id is not null)", name=op.f('ck_organisation_supplier_scope')),
    sa.CheckConstraint("kind in ('tenant', 'supplier')", name=op.f('ck_organisation_kind')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_organisation')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_organisation_tenant_id_code'))
    )
    op.create_table('outbox_message',
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_outbox_message'))
    )
    op.create_index('ix_outbox_message_undelivered', 'outbox_message', ['tenant_id', 'id'], unique=False, postgresql_where=sa.text('delivered_at is null'))
    op.create_table('tenant',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=True),
    sa.Column('default_locale', sa.String(length=10), server_default='en', nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenant_slug'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account'))
    )
    op.create_index('uq_user_account_email', 'user_account', [sa.literal_column('lower(email)')], unique=True)
    op.create_table('membership',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('organisation_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'organisation_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_membership_tenant_id_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_membership_user_id_user_account')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_membership')),
    sa.UniqueConstraint('tenant_id', 'user_id', name=op.f('uq_membership_tenant_id_user_id'))
    )
    op.create_index('ix_membership_user', 'membership', ['user_id'], unique=False)
    op.create_table('purchase_order',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='draft', nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_purchase_order_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_purchase_order')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_purchase_order_tenant_id_number'))
    )
    op.create_index('ix_purchase_order_created', 'purchase_order', ['tenant_id', 'created_at', 'id'], unique=False)
    op.create_table('site',
    sa.Column('organisation_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind in ('manufacturing', 'distribution', 'warehouse', 'office')", name=op.f('ck_site_kind')),
    sa.ForeignKeyConstraint(['tenant_id', 'organisation_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_site_tenant_id_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_site'))
    )
    op.create_table('purchase_order_line',
    sa.Column('purchase_order_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('uom', sa.String(length=10), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.Column('requested_date', sa.Date(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_purchase_order_line_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'purchase_order_id'], ['purchase_order.tenant_id', 'purchase_order.id'], name=op.f('fk_purchase_order_line_tenant_id_purchase_order_id_purchase_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_purchase_order_line_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_purchase_order_line')),
    sa.UniqueConstraint('tenant_id', 'purchase_order_id', 'line_no', name=op.f('uq_purchase_order_line_tenant_id_purchase_order_id_line_no'))
    )
    op.execute(AUDIT_FUNCTIONS)
    _isolation()
    _audit(app_role)
    _grants(app_role)
    _procrastinate(app_role)


def _isolation() -> None:
    for table, (supplier_column, sees_null) in TENANT_TABLES.items():
        tenant_rls(table, supplier_column=supplier_column, supplier_sees_null=sees_null)
    # Memberships: a signed-in user lists their own across tenants (to pick one).
    op.execute("ALTER TABLE membership ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE membership FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON membership USING (tenant_id = {TENANT} OR user_id = {USER})"
        f" WITH CHECK (tenant_id = {TENANT})"
    )
    op.execute(
        "CREATE POLICY supplier_scope ON membership AS RESTRICTIVE USING (CASE WHEN"
        " (SELECT NULLIF(current_setting('app.supplier_id', true), '')) IS NULL OR user_id = "
        f"{USER} THEN true ELSE supplier_id = (SELECT NULLIF(current_setting('app.supplier_id', true), ''))::uuid END)"
    )
    # Tenants: visible in their own context and to their members.
    op.execute("ALTER TABLE tenant ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE tenant FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON tenant USING (id = {TENANT} OR id IN"
        f" (SELECT m.tenant_id FROM membership m WHERE m.user_id = {USER} AND m.is_active)) WITH CHECK (id = {TENANT})"
    )
    for table in AUDITED:
        audited(table)
    audited("tenant", tenant_column="id")
    # Users are global (one login, many tenants): their events go to the acting tenant's chain.
    audited("user_account", tenant_column="", redact=("password_hash",))


def _audit(app_role: str) -> None:
    for table in AUDIT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING (tenant_id = {TENANT})")
        # With no tenant context (creating users, say) events go to the platform chain only.
        op.execute(
            f"CREATE POLICY tenant_write ON {table} FOR INSERT WITH CHECK (tenant_id = {TENANT}"
            f" OR ({TENANT} IS NULL AND tenant_id = {NIL_TENANT}))"
        )
        # The owner's security-definer function below finds the tenants with events to
        # seal across tenants; the application role has no such policy.
        op.execute(f"CREATE POLICY owner_sweep ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)")
    for table in ("audit.event", "audit.seal", "audit.checkpoint"):
        op.execute(
            f"CREATE TRIGGER refuse_change BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse()"
        )
    op.execute(f"""
-- Tenants (and the platform chain) with committed events not yet sealed: events of a
-- transaction below the oldest one still running are final; the latest checkpoint's
-- horizon says where the tenant's sealing stopped. One index probe per tenant.
CREATE FUNCTION audit.tenants_to_seal() RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
  SELECT t.id FROM (SELECT id FROM public.tenant UNION ALL SELECT {NIL_TENANT}) t
  WHERE EXISTS (
    SELECT 1 FROM audit.event e
    WHERE e.tenant_id = t.id
      AND e.xact >= coalesce((SELECT c.horizon FROM audit.checkpoint c WHERE c.tenant_id = t.id
                              ORDER BY c.seq DESC LIMIT 1), 0)
      AND e.xact < pg_snapshot_xmin(pg_current_snapshot())::text::bigint)
$$;

CREATE FUNCTION app.outbox_tenants() RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
  SELECT DISTINCT tenant_id FROM public.outbox_message WHERE delivered_at IS NULL $$;


-- Operator tools (`--tenant SLUG`) and sign-in resolve a slug before any tenant is in
-- context; this reveals only the id.
CREATE FUNCTION app.tenant_id_by_slug(tenant_slug text) RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$ SELECT id FROM public.tenant WHERE slug = tenant_slug $$;
""")
    op.execute("CREATE POLICY owner_sweep ON outbox_message FOR SELECT TO CURRENT_USER USING (true)")
    op.execute("CREATE POLICY owner_lookup ON tenant FOR SELECT TO CURRENT_USER USING (true)")
    op.execute(
        "REVOKE ALL ON FUNCTION audit.tenants_to_seal(), app.outbox_tenants(),"
        " app.tenant_id_by_slug(text) FROM PUBLIC"
    )


def _grants(app_role: str) -> None:
    op.execute(f"GRANT USAGE ON SCHEMA public, audit, app TO {app_role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app_role}")
    op.execute(f"REVOKE DELETE ON counter FROM {app_role}")
    # The audit trail: insert and read only - no UPDATE, DELETE or TRUNCATE, ever.
    op.execute(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA audit TO {app_role}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA audit TO {app_role}")
    op.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA audit, app TO {app_role}")


def _procrastinate(app_role: str) -> None:
    # Its SQL uses unqualified names: apply it inside its own schema (notes/postgres.md).
    op.execute("SET LOCAL search_path = procrastinate, pg_catalog")
    op.execute(SchemaManager.get_schema())
    op.execute("SET LOCAL search_path = public")
    op.execute(f"GRANT USAGE ON SCHEMA procrastinate TO {app_role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA procrastinate TO {app_role}")
    op.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA procrastinate TO {app_role}")
    op.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA procrastinate TO {app_role}")


def downgrade() -> None:
    op.execute("DROP SCHEMA procrastinate CASCADE")
    op.execute("DROP FUNCTION app.outbox_tenants()")
    op.drop_table('purchase_order_line')
    op.drop_table('site')
    op.drop_index('ix_purchase_order_created', table_name='purchase_order')
    op.drop_table('purchase_order')
    op.drop_index('ix_membership_user', table_name='membership')
    op.drop_table('membership')
    op.drop_index('uq_user_account_email', table_name='user_account')
    op.drop_table('user_account')
    op.drop_table('tenant')
    op.drop_index('ix_outbox_message_undelivered', table_name='outbox_message', postgresql_where=sa.text('delivered_at is null'))
    op.drop_table('outbox_message')
    op.drop_table('organisation')
    op.drop_table('item')
    op.drop_table('idempotency_key')
    op.drop_table('counter')
    op.drop_table('seal', schema='audit')
    op.drop_index('ix_event_xact', table_name='event', schema='audit')
    op.drop_table('event', schema='audit')
    op.drop_table('checkpoint', schema='audit')
    op.execute("DROP SCHEMA app CASCADE")
    op.execute("DROP SCHEMA audit CASCADE")
