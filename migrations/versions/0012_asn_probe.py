"""asn probes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 04:20:00.000000

After a "not found" for a ship notice: whether the ASN exists in another tenant or for
another supplier, so that probing someone else's id leaves a security event, as for
purchase orders (0002). Only a yes or no; the caller answers 404 either way.
"""

from alembic import context, op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE FUNCTION app.asn_exists(asn_id uuid) RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    supplier text := current_setting('app.supplier_id', true);
    found boolean;
BEGIN
    -- As app.purchase_order_exists: the supplier setting cleared for this lookup only.
    PERFORM set_config('app.supplier_id', '', true);
    SELECT EXISTS (SELECT 1 FROM public.asn WHERE id = asn_id) INTO found;
    PERFORM set_config('app.supplier_id', coalesce(supplier, ''), true);
    RETURN found;
END $$;
""")
    # The primary key leads with tenant_id; the lookup above has the id alone.
    op.create_index("ix_asn_id", "asn", ["id"], unique=True)
    op.execute("CREATE POLICY owner_lookup ON asn FOR SELECT TO CURRENT_USER USING (true)")
    op.execute("REVOKE ALL ON FUNCTION app.asn_exists(uuid) FROM PUBLIC")
    app_role = context.config.attributes.get("app_role", "traceport_app")
    op.execute(f"GRANT EXECUTE ON FUNCTION app.asn_exists(uuid) TO {app_role}")


def downgrade() -> None:
    op.execute("DROP POLICY owner_lookup ON asn")
    op.drop_index("ix_asn_id", table_name="asn")
    op.execute("DROP FUNCTION app.asn_exists(uuid)")
