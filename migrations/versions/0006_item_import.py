"""item import

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:00:00.000000

Imports of items from CSV or XLSX files (erp.items.imports): the file as sent, its
status and progress, and the outcome (counts, or every error by row and column). A
tenant table with row-level security and audit triggers; the file's bytes are redacted
in the trail (a digest stands for them).
"""

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from migrations.support import audited, tenant_rls

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

STATUSES = ("queued", "running", "done", "failed")  # frozen as at this revision


def upgrade() -> None:
    op.create_table('item_import',
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='queued', nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=True),
    sa.Column('total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('done', sa.Integer(), server_default='0', nullable=False),
    sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.UUID(), server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint(f"status in ({', '.join(repr(s) for s in STATUSES)})", name=op.f('ck_item_import_status')),
    sa.CheckConstraint('done >= 0 and done <= total', name=op.f('ck_item_import_progress')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_item_import'))
    )
    op.create_index('ix_item_import_tenant_id_created_at', 'item_import', ['tenant_id', 'created_at'], unique=False)
    tenant_rls('item_import')
    audited('item_import', redact=('content',))
    app_role = context.config.attributes.get("app_role", "traceport_app")
    # Kept as the record of what was imported: changed (progress, outcome), never removed.
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON item_import TO {app_role}")


def downgrade() -> None:
    op.drop_index('ix_item_import_tenant_id_created_at', table_name='item_import')
    op.drop_table('item_import')
