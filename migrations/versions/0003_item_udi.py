"""item udi

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00.000000

Items get their device data: issuing agency, UDI-DI (the former `gtin` column, renamed
and widened for the identifiers of HIBCC, ICCBBA, MA and AHM), Basic UDI-DI, device
class, the production identifiers the label carries, and storage conditions. Existing
GTINs become GS1 UDI-DIs in their canonical GTIN-14 form. The `item` table already has
its row-level security and audit triggers; the new columns are covered by them.
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

AGENCIES = ("GS1", "HIBCC", "ICCBBA", "MA", "AHM")


def upgrade() -> None:
    op.alter_column('item', 'gtin', new_column_name='udi_di', existing_type=sa.String(length=14), type_=sa.String(length=40), existing_nullable=True)
    op.add_column('item', sa.Column('issuing_agency', sa.String(length=10), nullable=True))
    op.add_column('item', sa.Column('basic_udi_di', sa.String(length=40), nullable=True))
    op.add_column('item', sa.Column('device_class', sa.String(length=20), nullable=True))
    op.add_column('item', sa.Column('label_lot', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('item', sa.Column('label_serial', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('item', sa.Column('label_manufacture_date', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('item', sa.Column('label_expiry_date', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('item', sa.Column('storage_temp_min_c', sa.Numeric(precision=5, scale=1), nullable=True))
    op.add_column('item', sa.Column('storage_temp_max_c', sa.Numeric(precision=5, scale=1), nullable=True))
    op.add_column('item', sa.Column('storage_humidity_min_pct', sa.Numeric(precision=4, scale=1), nullable=True))
    op.add_column('item', sa.Column('storage_humidity_max_pct', sa.Numeric(precision=4, scale=1), nullable=True))
    op.add_column('item', sa.Column('max_excursion_minutes', sa.Integer(), nullable=True))
    # A GTIN was the only identifier so far: GS1's, stored as GTIN-14 like new ones.
    _per_tenant(
        "UPDATE item SET issuing_agency = 'GS1',"
        " udi_di = CASE WHEN udi_di ~ '^[0-9]{8,13}$' THEN lpad(udi_di, 14, '0') ELSE udi_di END"
        " WHERE udi_di IS NOT NULL"
    )
    agencies = ", ".join(f"'{a}'" for a in AGENCIES)
    op.create_check_constraint(op.f('ck_item_issuing_agency'), 'item', f"issuing_agency in ({agencies})")
    op.create_check_constraint(op.f('ck_item_udi_di_agency'), 'item', "udi_di is null or issuing_agency is not null")
    op.create_check_constraint(op.f('ck_item_storage_temp_range'), 'item', "storage_temp_min_c <= storage_temp_max_c")
    op.create_check_constraint(
        op.f('ck_item_storage_humidity_range'), 'item', "storage_humidity_min_pct <= storage_humidity_max_pct"
    )
    op.create_check_constraint(
        op.f('ck_item_storage_humidity_percent'),
        'item',
        "storage_humidity_min_pct between 0 and 100 and storage_humidity_max_pct between 0 and 100",
    )
    op.create_check_constraint(op.f('ck_item_max_excursion_minutes'), 'item', "max_excursion_minutes >= 0")
    op.create_index('ix_item_tenant_id_udi_di', 'item', ['tenant_id', 'udi_di'], unique=True, postgresql_where=sa.text('udi_di is not null'))


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


def downgrade() -> None:
    op.drop_index('ix_item_tenant_id_udi_di', table_name='item', postgresql_where=sa.text('udi_di is not null'))
    for name in ('max_excursion_minutes', 'storage_humidity_percent', 'storage_humidity_range', 'storage_temp_range', 'udi_di_agency', 'issuing_agency'):
        op.drop_constraint(op.f(f'ck_item_{name}'), 'item', type_='check')
    # Only GTINs fit the old column.
    _per_tenant("UPDATE item SET udi_di = NULL WHERE issuing_agency IS DISTINCT FROM 'GS1' AND udi_di IS NOT NULL")
    op.drop_column('item', 'max_excursion_minutes')
    op.drop_column('item', 'storage_humidity_max_pct')
    op.drop_column('item', 'storage_humidity_min_pct')
    op.drop_column('item', 'storage_temp_max_c')
    op.drop_column('item', 'storage_temp_min_c')
    op.drop_column('item', 'label_expiry_date')
    op.drop_column('item', 'label_manufacture_date')
    op.drop_column('item', 'label_serial')
    op.drop_column('item', 'label_lot')
    op.drop_column('item', 'device_class')
    op.drop_column('item', 'basic_udi_di')
    op.drop_column('item', 'issuing_agency')
    op.alter_column('item', 'udi_di', new_column_name='gtin', existing_type=sa.String(length=40), type_=sa.String(length=14), existing_nullable=True)
