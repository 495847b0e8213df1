"""`traceport trace --tenant SLUG CODE`: the kept snapshot as JSON (a system actor runs it,
--reason says why); a code that names nothing exits 2 with the message; an unknown tenant
is an error."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from erp.traceability.models import TraceSnapshot
from portal.cli import main as cli
from tests.erp.traceability.trace_support import genealogy
from tests.factories import make_tenant_world, unique


@pytest.fixture
def cli_env(db_urls, settings, tmp_path):
    return {
        "TRACEPORT_ENV": "test",
        "DATABASE_URL": db_urls.app,
        "MIGRATION_DATABASE_URL": db_urls.owner,
        "AUDIT_SIGNING_KEY": settings.audit_signing_key,
        "SECRET_KEY": settings.secret_key,
        "DATA_DIR": str(tmp_path),
    }


@pytest.fixture
def committed(runtime):
    """A tenant of its own with the three-level genealogy, committed (the command connects anew)."""
    with runtime.uow() as uow:
        world = make_tenant_world(uow, slug=unique("cli-trace"))
        uow.commit()
    return world, genealogy(runtime, world)


def test_trace_prints_the_snapshot_as_json(cli_env, committed, runtime):
    world, tree = committed
    result = CliRunner().invoke(
        cli, ["trace", "--tenant", world.slug, "--reason", "Supplier notice 4", "--direction", "forward",
              tree.components[0].lot.number],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["start_kind"], body["reason"], body["run_by"]) == ("lot", "Supplier notice 4", None)
    assert {c.name for c in tree.customers} <= {n["label"] for n in body["result"]["nodes"]}
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        kept = uow.scalar(sa.select(TraceSnapshot).where(TraceSnapshot.id == body["id"]))
        assert kept.result == body["result"]


def test_a_code_that_names_nothing_exits_2_with_the_message(cli_env, committed):
    world, _ = committed
    result = CliRunner().invoke(cli, ["trace", "--tenant", world.slug, "NOPE-42"], env=cli_env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "code: Nothing here has the code NOPE-42" in result.stderr


def test_an_unknown_tenant_is_an_error(cli_env):
    result = CliRunner().invoke(cli, ["trace", "--tenant", "no-such-tenant", "X"], env=cli_env)
    assert result.exit_code == 1 and "no tenant" in result.output
