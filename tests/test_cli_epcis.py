"""`traceport epcis export|import`: a lot's events written as an EPCISDocument valid
against the schema, captured by another tenant (idempotently); a bad document exits 2
with its problems and saves nothing. Committed data in two fresh tenants."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from erp.traceability.epcis import schema
from erp.traceability.models import EpcisEvent, ProductionRun
from portal.cli import main as cli
from tests.erp.traceability.epcis_support import make_chain, partner_with_items
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
def two_tenants(runtime):
    with runtime.uow() as uow:
        a = make_tenant_world(uow, slug=unique("epcis-a"))
        b = make_tenant_world(uow, slug=unique("epcis-b"))
        uow.commit()
    return a, b


def count(runtime, world, model) -> int:
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(model))


def test_export_then_import_into_another_tenant(runtime, two_tenants, cli_env, tmp_path):
    a, b = two_tenants
    chain = make_chain(runtime, a)
    partner_with_items(runtime, b, chain)
    out = tmp_path / "lot.jsonld"
    exported = CliRunner().invoke(
        cli, ["epcis", "export", "--tenant", a.slug, "--lot", chain.finished_lot, "--out", str(out)], env=cli_env
    )
    assert exported.exit_code == 0, exported.output
    assert f"exported 3 events to {out}" in exported.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert schema.problems(document) == {} and document["type"] == "EPCISDocument"

    imported = CliRunner().invoke(cli, ["epcis", "import", "--tenant", b.slug, str(out)], env=cli_env)
    assert imported.exit_code == 0, imported.output
    summary = json.loads(imported.stdout)
    assert (summary["received"], summary["stored"], summary["already_known"]) == (3, 3, 0)
    assert [m["target"] for m in summary["mapped"]] == ["production_run", "customer_shipment"]
    again = CliRunner().invoke(cli, ["epcis", "import", "--tenant", b.slug, str(out)], env=cli_env)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["already_known"] == 3
    assert count(runtime, b, EpcisEvent) == 3 and count(runtime, b, ProductionRun) == 1

    since = CliRunner().invoke(
        cli,
        ["epcis", "export", "--tenant", a.slug, "--asn", chain.asn_number, "--since", "2000-01-01", "--out", str(out)],
        env=cli_env,
    )
    assert since.exit_code == 0, since.output
    assert len(json.loads(out.read_text(encoding="utf-8"))["epcisBody"]["eventList"]) == 7


def test_a_bad_document_exits_2_with_its_problems_and_saves_nothing(runtime, two_tenants, cli_env, tmp_path):
    _, b = two_tenants
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "EPCISDocument", "schemaVersion": "2.0"}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["epcis", "import", "--tenant", b.slug, str(bad)], env=cli_env)
    assert result.exit_code == 2
    assert "The document is not valid EPCIS 2.0" in result.stderr
    assert "document: '@context' is a required property" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert CliRunner().invoke(cli, ["epcis", "import", "--tenant", b.slug, str(broken)], env=cli_env).exit_code == 2
    assert count(runtime, b, EpcisEvent) == 0


def test_bad_arguments(two_tenants, cli_env, tmp_path):
    a, _ = two_tenants
    out = str(tmp_path / "x.json")
    nothing = CliRunner().invoke(cli, ["epcis", "export", "--tenant", a.slug, "--out", out], env=cli_env)
    assert nothing.exit_code == 2 and "lot: Give a lot, a ship notice or a start date." in nothing.stderr
    nobody = CliRunner().invoke(cli, ["epcis", "export", "--tenant", "no-such-tenant", "--lot", "L", "--out", out], env=cli_env)
    assert nobody.exit_code == 2 and "no tenant 'no-such-tenant'" in nobody.output
    bad_date = CliRunner().invoke(cli, ["epcis", "export", "--tenant", a.slug, "--since", "tomorrow", "--out", out], env=cli_env)
    assert bad_date.exit_code == 2 and "--since" in bad_date.output
