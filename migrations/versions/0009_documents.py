"""documents

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 20:10:00.000000

Encrypted files (tenant data keys, stored files, attachments), certificate types,
supplier certificates with the sites and items they cover, expiry notices (one per
certificate and threshold), the requirement matrix of the approved supplier list, and
the tenant's choice to warn or block when a certificate is missing. A security-definer
function finds the certificates due for an expiry notice across tenants, for the scan
job (it runs with no tenant in context), returning ids only.
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from migrations.support import audited, tenant_rls

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificate_type',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=True),
    sa.Column('expiry_required', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('review_required', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('accepted_issuers', postgresql.ARRAY(sa.String(length=200)), server_default='{}', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_certificate_type')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_certificate_type_tenant_id_code'))
    )
    op.create_table('tenant_data_key',
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('master_key_id', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_tenant_data_key'))
    )
    op.create_index('ix_tenant_data_key_created', 'tenant_data_key', ['tenant_id', 'created_at'], unique=False)
    op.create_table('stored_file',
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('data_key_id', sa.UUID(), nullable=False),
    sa.Column('storage_key', sa.String(length=300), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('length(sha256) = 64', name=op.f('ck_stored_file_sha256')),
    sa.CheckConstraint('size > 0', name=op.f('ck_stored_file_size')),
    sa.ForeignKeyConstraint(['tenant_id', 'data_key_id'], ['tenant_data_key.tenant_id', 'tenant_data_key.id'], name=op.f('fk_stored_file_tenant_id_data_key_id_tenant_data_key')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_stored_file_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stored_file'))
    )
    op.create_table('attachment',
    sa.Column('owner_kind', sa.String(length=20), nullable=False),
    sa.Column('owner_id', sa.UUID(), nullable=False),
    sa.Column('file_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('kind', sa.String(length=40), server_default='other', nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("kind in ('certificate_of_conformance', 'certificate_of_analysis', 'drawing', 'other')", name=op.f('ck_attachment_kind')),
    sa.CheckConstraint("owner_kind in ('purchase_order', 'po_message', 'lot')", name=op.f('ck_attachment_owner_kind')),
    sa.ForeignKeyConstraint(['tenant_id', 'file_id'], ['stored_file.tenant_id', 'stored_file.id'], name=op.f('fk_attachment_tenant_id_file_id_stored_file')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_attachment'))
    )
    op.create_index('ix_attachment_owner', 'attachment', ['tenant_id', 'owner_kind', 'owner_id'], unique=False)
    op.create_table('certificate',
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('certificate_type_id', sa.UUID(), nullable=False),
    sa.Column('file_id', sa.UUID(), nullable=False),
    sa.Column('supersedes_id', sa.UUID(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('issuing_body', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('basic_udi_dis', postgresql.ARRAY(sa.String(length=40)), server_default='{}', nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='pending_review', nullable=False),
    sa.Column('uploaded_by', sa.UUID(), nullable=True),
    sa.Column('reviewed_by', sa.UUID(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.Column('responsible_user_id', sa.UUID(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("btrim(number) <> ''", name=op.f('ck_certificate_number')),
    sa.CheckConstraint("status in ('pending_review', 'approved', 'rejected', 'superseded')", name=op.f('ck_certificate_status')),
    sa.CheckConstraint("status not in ('approved', 'rejected') or reviewed_at is not null", name=op.f('ck_certificate_reviewed')),
    sa.CheckConstraint('expires_on is null or expires_on >= valid_from', name=op.f('ck_certificate_validity')),
    sa.ForeignKeyConstraint(['tenant_id', 'certificate_type_id'], ['certificate_type.tenant_id', 'certificate_type.id'], name=op.f('fk_certificate_tenant_id_certificate_type_id_certificate_type')),
    sa.ForeignKeyConstraint(['tenant_id', 'file_id'], ['stored_file.tenant_id', 'stored_file.id'], name=op.f('fk_certificate_tenant_id_file_id_stored_file')),
    sa.ForeignKeyConstraint(['tenant_id', 'supersedes_id'], ['certificate.tenant_id', 'certificate.id'], name=op.f('fk_certificate_tenant_id_supersedes_id_certificate')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_certificate_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_certificate'))
    )
    op.create_index('ix_certificate_expiry', 'certificate', ['expires_on'], unique=False, postgresql_where=sa.text("status = 'approved'"))
    op.create_index('ix_certificate_supplier', 'certificate', ['tenant_id', 'supplier_id', 'certificate_type_id'], unique=False)
    op.create_table('certificate_requirement',
    sa.Column('certificate_type_id', sa.UUID(), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('site_id', sa.UUID(), nullable=True),
    sa.Column('item_id', sa.UUID(), nullable=True),
    sa.Column('supplier_id', sa.UUID(), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(scope = 'all' and category is null and site_id is null and item_id is null) or (scope = 'category' and category is not null and site_id is null and item_id is null) or (scope = 'site' and site_id is not null and supplier_id is not null and category is null and item_id is null) or (scope = 'item' and item_id is not null and category is null and site_id is null)", name=op.f('ck_certificate_requirement_scope_target')),
    sa.CheckConstraint("category in ('component', 'raw_material', 'sterile_barrier', 'packaging', 'finished_device', 'contract_manufactured', 'consumable', 'service')", name=op.f('ck_certificate_requirement_category')),
    sa.CheckConstraint("scope in ('all', 'category', 'site', 'item')", name=op.f('ck_certificate_requirement_scope')),
    sa.ForeignKeyConstraint(['tenant_id', 'certificate_type_id'], ['certificate_type.tenant_id', 'certificate_type.id'], name=op.f('fk_certificate_requirement_tenant_id_certificate_type_id_certificate_type')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_certificate_requirement_tenant_id_item_id_item')),
    sa.ForeignKeyConstraint(['tenant_id', 'site_id'], ['site.tenant_id', 'site.id'], name=op.f('fk_certificate_requirement_tenant_id_site_id_site')),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['organisation.tenant_id', 'organisation.id'], name=op.f('fk_certificate_requirement_tenant_id_supplier_id_organisation')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_certificate_requirement'))
    )
    op.create_index('ix_certificate_requirement_cell', 'certificate_requirement', ['tenant_id', 'certificate_type_id', 'scope', 'category', 'site_id', 'item_id'], unique=True, postgresql_nulls_not_distinct=True)
    op.create_table('certificate_item',
    sa.Column('certificate_id', sa.UUID(), nullable=False),
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'certificate_id'], ['certificate.tenant_id', 'certificate.id'], name=op.f('fk_certificate_item_tenant_id_certificate_id_certificate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_certificate_item_tenant_id_item_id_item')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_certificate_item')),
    sa.UniqueConstraint('tenant_id', 'certificate_id', 'item_id', name=op.f('uq_certificate_item_tenant_id_certificate_id_item_id'))
    )
    op.create_index('ix_certificate_item_item', 'certificate_item', ['tenant_id', 'item_id'], unique=False)
    op.create_table('certificate_notice',
    sa.Column('certificate_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('threshold_days', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('days_left', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'certificate_id'], ['certificate.tenant_id', 'certificate.id'], name=op.f('fk_certificate_notice_tenant_id_certificate_id_certificate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_certificate_notice')),
    sa.UniqueConstraint('tenant_id', 'certificate_id', 'threshold_days', name=op.f('uq_certificate_notice_tenant_id_certificate_id_threshold_days'))
    )
    op.create_table('certificate_site',
    sa.Column('certificate_id', sa.UUID(), nullable=False),
    sa.Column('site_id', sa.UUID(), nullable=False),
    sa.Column('supplier_id', sa.UUID(), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'certificate_id'], ['certificate.tenant_id', 'certificate.id'], name=op.f('fk_certificate_site_tenant_id_certificate_id_certificate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'site_id'], ['site.tenant_id', 'site.id'], name=op.f('fk_certificate_site_tenant_id_site_id_site')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_certificate_site')),
    sa.UniqueConstraint('tenant_id', 'certificate_id', 'site_id', name=op.f('uq_certificate_site_tenant_id_certificate_id_site_id'))
    )
    op.create_index('ix_certificate_site_site', 'certificate_site', ['tenant_id', 'site_id'], unique=False)
    op.add_column('purchasing_setting', sa.Column('certificate_gate', sa.String(length=10), server_default='warn', nullable=False))
    op.create_check_constraint(op.f('ck_purchasing_setting_certificate_gate'), 'purchasing_setting', "certificate_gate in ('warn', 'block')")
    tenant_rls('tenant_data_key')
    audited('tenant_data_key', redact=('wrapped_key',))
    tenant_rls('certificate_type')
    audited('certificate_type')
    tenant_rls('certificate_requirement', supplier_column='supplier_id', supplier_sees_null=True)
    audited('certificate_requirement')
    for table in ('stored_file', 'certificate', 'certificate_site', 'certificate_item', 'certificate_notice'):
        tenant_rls(table, supplier_column='supplier_id')
        audited(table)
    # Attachments with no supplier (internal notes on a lot, say) are the tenant's only.
    tenant_rls('attachment', supplier_column='supplier_id')
    audited('attachment')
    # The functions below run as the owner, whom FORCE ROW LEVEL SECURITY binds too: with
    # no tenant in context the tenant policy would hide every row from them.
    for table in ('certificate', 'certificate_notice'):
        op.execute(f"CREATE POLICY owner_lookup ON {table} FOR SELECT TO CURRENT_USER USING (true)")
    # For each approved certificate expiring within the largest threshold: the most
    # urgent threshold it has crossed, unless that or a more urgent notice went already.
    # A scan run late sends only the most urgent notice due, not every one it missed.
    op.execute("""
CREATE FUNCTION app.certificates_due(as_of date, thresholds int[])
RETURNS TABLE (tenant_id uuid, certificate_id uuid, threshold_days int, days_left int)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
SELECT c.tenant_id, c.id, t.threshold, c.expires_on - as_of
FROM public.certificate c
CROSS JOIN LATERAL (SELECT min(x) AS threshold FROM unnest(thresholds) x WHERE x >= c.expires_on - as_of) t
WHERE c.status = 'approved'
  AND c.expires_on <= as_of + (SELECT max(x) FROM unnest(thresholds) x)
  AND t.threshold IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM public.certificate_notice n
                  WHERE n.tenant_id = c.tenant_id AND n.certificate_id = c.id AND n.threshold_days <= t.threshold)
$$;
""")
    op.execute("REVOKE ALL ON FUNCTION app.certificates_due(date, int[]) FROM PUBLIC")
    # The tenants whose quality engineers get a digest on `as_of`: approved certificates
    # lapsing within `days`, or lapsed and still approved (documents.expiry).
    op.execute("""
CREATE FUNCTION app.certificate_digest_tenants(as_of date, days int)
RETURNS TABLE (tenant_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
SELECT DISTINCT c.tenant_id FROM public.certificate c
WHERE c.status = 'approved' AND c.expires_on <= as_of + days
$$;
""")
    op.execute("REVOKE ALL ON FUNCTION app.certificate_digest_tenants(date, int) FROM PUBLIC")
    app_role = context.config.attributes.get("app_role", "traceport_app")
    # Files, keys, notices and attachments are written once; certificates change status
    # (review, supersession) but are never deleted: a new version supersedes an old one.
    op.execute(
        "GRANT SELECT, INSERT ON tenant_data_key, stored_file, attachment, certificate_site, certificate_item,"
        f" certificate_notice TO {app_role}"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON certificate_type, certificate TO {app_role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON certificate_requirement TO {app_role}")
    op.execute(f"GRANT EXECUTE ON FUNCTION app.certificates_due(date, int[]) TO {app_role}")
    op.execute(f"GRANT EXECUTE ON FUNCTION app.certificate_digest_tenants(date, int) TO {app_role}")


def downgrade() -> None:
    op.execute("DROP FUNCTION app.certificates_due(date, int[])")
    op.execute("DROP FUNCTION app.certificate_digest_tenants(date, int)")
    op.drop_constraint(op.f('ck_purchasing_setting_certificate_gate'), 'purchasing_setting')
    op.drop_column('purchasing_setting', 'certificate_gate')
    op.drop_index('ix_certificate_site_site', table_name='certificate_site')
    op.drop_table('certificate_site')
    op.drop_table('certificate_notice')
    op.drop_index('ix_certificate_item_item', table_name='certificate_item')
    op.drop_table('certificate_item')
    op.drop_index('ix_certificate_requirement_cell', table_name='certificate_requirement', postgresql_nulls_not_distinct=True)
    op.drop_table('certificate_requirement')
    op.drop_index('ix_certificate_supplier', table_name='certificate')
    op.drop_index('ix_certificate_expiry', table_name='certificate', postgresql_where=sa.text("status = 'approved'"))
    op.drop_table('certificate')
    op.drop_index('ix_attachment_owner', table_name='attachment')
    op.drop_table('attachment')
    op.drop_table('stored_file')
    op.drop_index('ix_tenant_data_key_created', table_name='tenant_data_key')
    op.drop_table('tenant_data_key')
    op.drop_table('certificate_type')
