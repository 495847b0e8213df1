"""audit update trigger: pairs old and new rows by grouping

Revision ID: 0017
Revises: 0016

audit.on_update pairs the old and new rows of an UPDATE by grouping them on (id,
tenant) instead of joining the two transition tables. PL/pgSQL plans the join once per
session and table, for whatever the first update held - usually one row, a nested loop -
and a later bulk update in the same session then paired every row with every row:
1,000 recomputed scorecards took 4.4 s (make bench, scorecards section). A GROUP BY is
hashed or sorted whatever the estimate. See migrations/support.py.
"""

from alembic import op

from migrations.support import AUDIT_ON_UPDATE

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# The function as 0014 made it, for the downgrade (frozen here: support.py moved on).
AUDIT_ON_UPDATE_0014 = "\n-- Updates record only the fields that changed, old and new side by side; a statement\n-- that changed nothing in a row leaves no event for it.\nCREATE FUNCTION audit.on_update() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  WITH pairs AS (\n    SELECT o.j AS oj, n.j AS nj\n    FROM (SELECT j->>'id' AS id, j->>'tenant_id' AS t, j\n          FROM (SELECT CASE WHEN TG_ARGV[1] = '' THEN to_jsonb(x) ELSE audit.redact(to_jsonb(x), TG_ARGV[1]) END AS j FROM old_rows x OFFSET 0) a OFFSET 0) o\n    JOIN (SELECT j->>'id' AS id, j->>'tenant_id' AS t, j\n          FROM (SELECT CASE WHEN TG_ARGV[1] = '' THEN to_jsonb(y) ELSE audit.redact(to_jsonb(y), TG_ARGV[1]) END AS j FROM new_rows y OFFSET 0) b OFFSET 0) n\n      ON o.id = n.id\n    WHERE o.t IS NOT DISTINCT FROM n.t AND o.j IS DISTINCT FROM n.j),\n  diffs AS (\n    SELECT nj,\n           (SELECT jsonb_object_agg(k, oj->k) FROM jsonb_object_keys(nj) k\n             WHERE oj->k IS DISTINCT FROM nj->k AND k <> 'updated_at') AS old_values,\n           (SELECT jsonb_object_agg(k, nj->k) FROM jsonb_object_keys(nj) k\n             WHERE oj->k IS DISTINCT FROM nj->k AND k <> 'updated_at') AS new_values\n    FROM pairs)\n  INSERT INTO audit.event\n      (tenant_id, id, xact, actor_id, actor, action, table_name, row_id, old_values, new_values, reason, request_id)\n    SELECT audit.event_tenant(nj, TG_ARGV[0]), nextval('audit.event_id_seq'), pg_current_xact_id()::text::bigint, NULLIF(current_setting('app.user_id', true), '')::uuid, coalesce(NULLIF(current_setting('app.actor', true), ''), 'db:' || session_user), 'U',\n           TG_TABLE_NAME, nj->>'id', old_values, new_values, NULLIF(current_setting('app.reason', true), ''), NULLIF(current_setting('app.request_id', true), '')\n    FROM diffs WHERE new_values IS NOT NULL;\n  RETURN NULL;\nEND $$;\n"


def upgrade() -> None:
    op.execute(AUDIT_ON_UPDATE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))


def downgrade() -> None:
    op.execute(AUDIT_ON_UPDATE_0014.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
