"""item revisions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 20:00:00.000000

Revisions of items with the date each takes effect (ISO 13485 §7.3.9, §4.2.3): the one
in effect on a day is the one with the latest effective_from on or before it. A tenant
table with row-level security and audit triggers. The history is a record: the
application role inserts and may delete only a revision that has not yet taken effect
(a restrictive policy), never update one. Every existing item gets revision "A",
effective from the day it was created.
"""

import sqlalchemy as sa
from alembic import context, op

from migrations.support import audited, tenant_rls

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

CONTEXT_TENANT = sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid")
# The day in UTC, as the services count it (kernel.clock).
TODAY_UTC = "(now() AT TIME ZONE 'UTC')::date"


def upgrade() -> None:
    op.create_table('item_revision',
    sa.Column('item_id', sa.UUID(), nullable=False),
    sa.Column('revision', sa.String(length=10), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(), server_default=CONTEXT_TENANT, nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("btrim(revision) <> ''", name=op.f('ck_item_revision_revision')),
    sa.CheckConstraint("btrim(description) <> ''", name=op.f('ck_item_revision_description')),
    sa.ForeignKeyConstraint(['tenant_id', 'item_id'], ['item.tenant_id', 'item.id'], name=op.f('fk_item_revision_tenant_id_item_id_item')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_item_revision')),
    sa.UniqueConstraint('tenant_id', 'item_id', 'effective_from', name=op.f('uq_item_revision_tenant_id_item_id_effective_from')),
    sa.UniqueConstraint('tenant_id', 'item_id', 'revision', name=op.f('uq_item_revision_tenant_id_item_id_revision'))
    )
    tenant_rls('item_revision')
    audited('item_revision')
    # Existing items: revision "A" from the day each was created, in its tenant's context
    # (FORCE RLS holds for the owner too; the trail records the rows in that tenant's chain).
    op.execute("""
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenant LOOP
    PERFORM set_config('app.tenant_id', t::text, true);
    INSERT INTO item_revision (tenant_id, id, item_id, revision, effective_from, description, created_by, created_at)
      SELECT i.tenant_id, gen_random_uuid(), i.id, 'A', (i.created_at AT TIME ZONE 'UTC')::date, 'Initial release', NULL, now()
      FROM item i;
  END LOOP;
  PERFORM set_config('app.tenant_id', '', true);
END $$""")
    # Only a revision still to come may be cancelled; one in effect (or superseded) stays.
    op.execute(
        f"CREATE POLICY scheduled_only ON item_revision AS RESTRICTIVE FOR DELETE USING (effective_from > {TODAY_UTC})"
    )
    app_role = context.config.attributes.get("app_role", "traceport_app")
    op.execute(f"GRANT SELECT, INSERT, DELETE ON item_revision TO {app_role}")


def downgrade() -> None:
    op.drop_table('item_revision')
