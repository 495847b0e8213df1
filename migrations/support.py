"""SQL shapes used by the migrations: row-level security, grants and audit triggers.

Policy shapes follow notes/postgres.md: the tenant predicate unwrapped (keeps index
order), the optional supplier restriction as a CASE over wrapped lookups, NULLIF for
the '' a pooled connection reads after a transaction ends.
"""

from __future__ import annotations

from alembic import op

TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
SUPPLIER = "(SELECT NULLIF(current_setting('app.supplier_id', true), ''))"
USER = "NULLIF(current_setting('app.user_id', true), '')::uuid"
NIL_TENANT = "'00000000-0000-0000-0000-000000000000'::uuid"
ACTOR = "coalesce(NULLIF(current_setting('app.actor', true), ''), 'db:' || session_user)"
REASON = "NULLIF(current_setting('app.reason', true), '')"
REQUEST = "NULLIF(current_setting('app.request_id', true), '')"
XACT = "pg_current_xact_id()::text::bigint"
# The row as jsonb, redacted only where the table names columns to redact. OFFSET 0 keeps
# the planner from flattening the subquery, which would compute it once per reference
# (three times a row; measured in make bench).
ROW_JSON = "CASE WHEN TG_ARGV[1] = '' THEN to_jsonb({row}) ELSE audit.redact(to_jsonb({row}), TG_ARGV[1]) END"


def tenant_rls(table: str, *, supplier_column: str | None = None, supplier_sees_null: bool = False) -> None:
    """ENABLE + FORCE RLS with the tenant policy; optionally the restrictive supplier one.

    supplier_sees_null: rows with no supplier (the tenant's own sites, say) stay visible
    to supplier users.
    """
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})")
    if supplier_column:
        own = f"{supplier_column} = {SUPPLIER}::uuid"
        if supplier_sees_null:
            own = f"({supplier_column} IS NULL OR {own})"
        op.execute(
            f"CREATE POLICY supplier_scope ON {table} AS RESTRICTIVE"
            f" USING (CASE WHEN {SUPPLIER} IS NULL THEN true ELSE {own} END)"
            f" WITH CHECK (CASE WHEN {SUPPLIER} IS NULL THEN true ELSE {own} END)"
        )


def buyer_only(table: str) -> None:
    """The restrictive policy of tables no supplier user has any business reading (the
    tenant's customers, genealogy, traces, cold-chain records): with a supplier in
    context they are empty, whatever a view asks."""
    op.execute(
        f"CREATE POLICY buyer_only ON {table} AS RESTRICTIVE USING ({SUPPLIER} IS NULL) WITH CHECK ({SUPPLIER} IS NULL)"
    )


def buyer_writes(table: str, commands: tuple[str, ...] = ("INSERT", "UPDATE", "DELETE")) -> None:
    """Restrictive policies for rows a supplier may read but never write (its grade, its
    computed scorecards, the decision on its dispute): with a supplier in context these
    commands find or admit no row."""
    buyer = f"{SUPPLIER} IS NULL"
    for command in commands:
        clauses = {"INSERT": f"WITH CHECK ({buyer})", "UPDATE": f"USING ({buyer}) WITH CHECK ({buyer})"}
        op.execute(
            f"CREATE POLICY buyer_writes_{command.lower()} ON {table} AS RESTRICTIVE FOR {command}"
            f" {clauses.get(command, f'USING ({buyer})')}"
        )


def audited(table: str, *, tenant_column: str = "tenant_id", redact: tuple[str, ...] = ()) -> None:
    """Statement-level audit triggers with transition tables: one INSERT ... SELECT per
    statement, however many rows, so bulk writes stay cheap."""
    args = f"'{tenant_column}', '{','.join(redact)}'"
    for action, ref in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER audit_{action.lower()} AFTER {action} ON {table} REFERENCING {ref}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION audit.on_{action.lower()}({args})"
        )
    # Row triggers never fire on TRUNCATE; the app role has no TRUNCATE grant, and this
    # refuses it for everyone else so no change escapes the trail.
    op.execute(f"CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse()")


def _whole_row_trigger(name: str, transition: str, action: str, column: str) -> str:
    """An insert or delete trigger: the whole row, redacted, as new or old values.

    No RETURNING: it would need the rows to pass the SELECT policy, which platform
    events (no tenant in context) do not.
    """
    return f"""
CREATE FUNCTION audit.{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit.event (tenant_id, id, xact, actor_id, actor, action, table_name, row_id, {column}, reason, request_id)
    SELECT audit.event_tenant(j, TG_ARGV[0]), nextval('audit.event_id_seq'), {XACT}, {USER}, {ACTOR}, '{action}',
           TG_TABLE_NAME, j->>'id', j, {REASON}, {REQUEST}
    FROM (SELECT {ROW_JSON.format(row="r")} AS j FROM {transition} r OFFSET 0) s;
  RETURN NULL;
END $$;
"""


# Old and new rows are paired by grouping them on (id, tenant): a GROUP BY is hashed or
# sorted, never a nested loop. A join of the two transition tables was planned by
# PL/pgSQL once per session and table, for whatever the first update held - usually one
# row, a nested loop - so a later bulk update in that session paired every row with every
# row (4.4 s per 1,000 recomputed scorecards, make bench's scorecards section). Planning
# the join anew each time (EXECUTE) or switching nested loops off for the function cost
# a 500-line order's acceptance, 500 one-row UPDATEs, half as much again (make bench,
# po_confirm).
_UPDATE_EVENTS = """
  WITH pairs AS (
    SELECT (array_agg(j) FILTER (WHERE side = 0))[1] AS oj, (array_agg(j) FILTER (WHERE side = 1))[1] AS nj
    FROM (SELECT * FROM (SELECT 0 AS side, {old_json} AS j FROM old_rows x
                         UNION ALL
                         SELECT 1, {new_json} FROM new_rows y) u OFFSET 0) sides
    GROUP BY j->>'id', j->>'tenant_id'),
  diffs AS (
    SELECT nj,
           (SELECT jsonb_object_agg(k, oj->k) FROM jsonb_object_keys(nj) k
             WHERE oj->k IS DISTINCT FROM nj->k AND k <> 'updated_at') AS old_values,
           (SELECT jsonb_object_agg(k, nj->k) FROM jsonb_object_keys(nj) k
             WHERE oj->k IS DISTINCT FROM nj->k AND k <> 'updated_at') AS new_values
    FROM pairs WHERE oj IS NOT NULL AND nj IS NOT NULL AND oj IS DISTINCT FROM nj)
  INSERT INTO audit.event
      (tenant_id, id, xact, actor_id, actor, action, table_name, row_id, old_values, new_values, reason, request_id)
    SELECT audit.event_tenant(nj, TG_ARGV[0]), nextval('audit.event_id_seq'), {xact}, {user}, {actor}, 'U',
           TG_TABLE_NAME, nj->>'id', old_values, new_values, {reason}, {request}
    FROM diffs WHERE new_values IS NOT NULL"""

AUDIT_ON_UPDATE = f"""
-- Updates record only the fields that changed, old and new side by side; a statement
-- that changed nothing in a row leaves no event for it.
CREATE FUNCTION audit.on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{_UPDATE_EVENTS.format(
    old_json=ROW_JSON.format(row="x"), new_json=ROW_JSON.format(row="y"),
    xact=XACT, user=USER, actor=ACTOR, reason=REASON, request=REQUEST,
)};
  RETURN NULL;
END $$;
"""

AUDIT_FUNCTIONS = f"""
CREATE FUNCTION audit.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit trail: % on % is not allowed', TG_OP, TG_TABLE_NAME;
END $$;

CREATE FUNCTION audit.redact(j jsonb, cols text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN cols = '' THEN j ELSE
    j || coalesce((SELECT jsonb_object_agg(c, CASE WHEN j->>c IS NULL THEN 'null'::jsonb
                                                 ELSE to_jsonb('redacted:' || md5(j->>c)) END)
                   FROM unnest(string_to_array(cols, ',')) c WHERE j ? c), '{{}}'::jsonb)
  END
$$;

CREATE FUNCTION audit.event_tenant(j jsonb, tenant_column text) RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(CASE WHEN tenant_column <> '' THEN (j->>tenant_column)::uuid END, {TENANT}, {NIL_TENANT})
$$;

{_whole_row_trigger("on_insert", "new_rows", "I", "new_values")}
{_whole_row_trigger("on_delete", "old_rows", "D", "old_values")}
{AUDIT_ON_UPDATE}
"""


def grant_new_permissions(new: dict[str, list[str]]) -> None:
    """Give the permissions a revision adds to the built-in roles of existing tenants, as
    auth.permissions.DEFAULT_ROLES gives them to new ones; roles a tenant edited keep
    their edits and gain only these."""
    for key, permissions in new.items():
        op.execute(f"""
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenant LOOP
    PERFORM set_config('app.tenant_id', t::text, true);
    UPDATE role SET permissions = ARRAY(SELECT DISTINCT unnest(permissions || ARRAY{permissions!r}::varchar[]) ORDER BY 1)
      WHERE key = '{key}' AND is_builtin;
  END LOOP;
  PERFORM set_config('app.tenant_id', '', true);
END $$""")
