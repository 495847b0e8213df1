"""Tampering with the trail is detected at the exact sequence number.

The tampering is done as a database superuser (the application role cannot change the
trail at all), with the refusal triggers switched off - what a rogue administrator could
do. Each test tampers with a fresh tenant's chain (`sealed_tenant`).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from audit import service
from audit.chain import link
from portal.cli import main as cli
from tests.audit.conftest import verify


def tamper(admin, sql: str, params: dict) -> None:
    """Run `;`-separated statements as the superuser, refusal triggers off."""
    with admin.transaction():
        admin.execute("set local session_replication_role = replica")
        for statement in sql.split(";"):
            admin.execute(statement, params)


def seal_row(admin, tenant_id, seq: int):
    return admin.execute("select event_id, hash from audit.seal where tenant_id = %s and seq = %s", (tenant_id, seq)).fetchone()


def first_problem(runtime, world, signing_key):
    report = verify(runtime, world.tenant_id, signing_key.public_key())
    assert not report.intact
    return report.first_problem


def test_changed_field_is_found_at_its_sequence(runtime, sealed_tenant, signing_key, admin):
    event_id, _ = seal_row(admin, sealed_tenant.tenant_id, 7)
    tamper(
        admin,
        'update audit.event set new_values = new_values || \'{"name": "forged"}\' where tenant_id = %(t)s and id = %(e)s',
        {"t": sealed_tenant.tenant_id, "e": event_id},
    )
    problem = first_problem(runtime, sealed_tenant, signing_key)
    assert (problem.seq, problem.kind) == (7, "altered")


def test_changed_actor_is_found(runtime, sealed_tenant, signing_key, admin):
    event_id, _ = seal_row(admin, sealed_tenant.tenant_id, 3)
    tamper(
        admin,
        "update audit.event set actor = 'someone else' where tenant_id = %(t)s and id = %(e)s",
        {"t": sealed_tenant.tenant_id, "e": event_id},
    )
    assert first_problem(runtime, sealed_tenant, signing_key).seq == 3


def test_deleted_middle_event_is_found(runtime, sealed_tenant, signing_key, admin):
    event_id, _ = seal_row(admin, sealed_tenant.tenant_id, 10)
    tamper(admin, "delete from audit.event where tenant_id = %(t)s and id = %(e)s", {"t": sealed_tenant.tenant_id, "e": event_id})
    problem = first_problem(runtime, sealed_tenant, signing_key)
    assert (problem.seq, problem.kind) == (10, "removed")


def test_deleted_event_with_its_seal_is_found(runtime, sealed_tenant, signing_key, admin):
    event_id, _ = seal_row(admin, sealed_tenant.tenant_id, 12)
    tamper(
        admin,
        "delete from audit.event where tenant_id = %(t)s and id = %(e)s; "
        "delete from audit.seal where tenant_id = %(t)s and seq = 12",
        {"t": sealed_tenant.tenant_id, "e": event_id},
    )
    problem = first_problem(runtime, sealed_tenant, signing_key)
    assert (problem.seq, problem.kind) == (12, "removed")


def test_deleted_tail_is_found(runtime, sealed_tenant, signing_key, admin):
    last = admin.execute("select max(seq) from audit.seal where tenant_id = %s", (sealed_tenant.tenant_id,)).fetchone()[0]
    tamper(
        admin,
        "delete from audit.event e using audit.seal s where s.tenant_id = %(t)s and s.seq > %(n)s"
        " and e.tenant_id = s.tenant_id and e.id = s.event_id; delete from audit.seal where tenant_id = %(t)s and seq > %(n)s",
        {"t": sealed_tenant.tenant_id, "n": last - 2},
    )
    problem = first_problem(runtime, sealed_tenant, signing_key)
    assert (problem.seq, problem.kind) == (last - 1, "removed")


def test_swapped_events_are_found(runtime, sealed_tenant, signing_key, admin):
    t = sealed_tenant.tenant_id
    a, _ = seal_row(admin, t, 5)
    b, _ = seal_row(admin, t, 6)
    tamper(
        admin,
        "update audit.seal set event_id = -1 where tenant_id = %(t)s and seq = 5;"
        "update audit.seal set event_id = %(a)s where tenant_id = %(t)s and seq = 6;"
        "update audit.seal set event_id = %(b)s where tenant_id = %(t)s and seq = 5",
        {"t": t, "a": a, "b": b},
    )
    assert first_problem(runtime, sealed_tenant, signing_key).seq == 5


def test_forged_checkpoint_signature_is_found(runtime, sealed_tenant, signing_key, admin):
    t = sealed_tenant.tenant_id
    seq = admin.execute("select min(seq) from audit.checkpoint where tenant_id = %s", (t,)).fetchone()[0]
    tamper(
        admin,
        "update audit.checkpoint set signature = %(s)s where tenant_id = %(t)s and seq = %(q)s",
        {"t": t, "q": seq, "s": bytes(64)},
    )
    problem = first_problem(runtime, sealed_tenant, signing_key)
    assert (problem.seq, problem.kind) == (seq, "checkpoint-signature")


def test_chain_rewritten_consistently_fails_against_signed_checkpoint(runtime, sealed_tenant, signing_key, admin):
    """A rogue owner alters an event and recomputes every later hash: the chain is
    self-consistent again, but no longer passes through its signed checkpoints."""
    t = sealed_tenant.tenant_id
    event_id, _ = seal_row(admin, t, 4)
    tamper(admin, "update audit.event set reason = 'rewritten' where tenant_id = %(t)s and id = %(e)s", {"t": t, "e": event_id})
    with runtime.uow(tenant_id=t) as uow:
        links = list(service._links(uow))
    prev = seal_row(admin, t, 3)[1]
    for item in links[3:]:
        prev = link(bytes(prev), item.seq, item.canonical)
        tamper(
            admin,
            "update audit.seal set hash = %(h)s where tenant_id = %(t)s and seq = %(q)s",
            {"h": prev, "t": t, "q": item.seq},
        )
    report = verify(runtime, t, signing_key.public_key())
    kinds = {(p.kind) for p in report.problems}
    assert kinds == {"checkpoint-mismatch"}
    assert report.first_problem.seq >= 4


def test_wrong_public_key_fails(runtime, sealed_tenant):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    report = verify(runtime, sealed_tenant.tenant_id, Ed25519PrivateKey.generate().public_key())
    assert {p.kind for p in report.problems} == {"unknown-key"}


# --- the command line and offline export ---------------------------------------------


@pytest.fixture
def cli_env(db_urls, settings, tmp_path):
    return {
        "DATABASE_URL": db_urls.app,
        "MIGRATION_DATABASE_URL": db_urls.owner,
        "AUDIT_SIGNING_KEY": settings.audit_signing_key,
        "DATA_DIR": str(tmp_path),
    }


@pytest.fixture
def public_key_file(tmp_path, signing_key):
    path = tmp_path / "audit.pub"
    path.write_bytes(
        signing_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def test_cli_verify_exits_zero_when_intact_and_names_the_sequence_when_not(sealed_tenant, cli_env, admin):
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify", "--tenant", sealed_tenant.slug], env=cli_env)
    assert ok.exit_code == 0, ok.output
    assert "audit trail intact" in ok.output
    event_id, _ = seal_row(admin, sealed_tenant.tenant_id, 9)
    tamper(
        admin,
        "update audit.event set row_id = 'x' where tenant_id = %(t)s and id = %(e)s",
        {"t": sealed_tenant.tenant_id, "e": event_id},
    )
    bad = runner.invoke(cli, ["audit", "verify", "--tenant", sealed_tenant.slug], env=cli_env)
    assert bad.exit_code == 1
    assert "TAMPERED at sequence 9" in bad.output


def test_cli_unknown_tenant_is_a_clear_error(cli_env):
    result = CliRunner().invoke(cli, ["audit", "verify", "--tenant", "no-such-tenant"], env=cli_env)
    assert result.exit_code != 0


def test_export_verifies_offline_and_detects_an_edited_file(sealed_tenant, cli_env, public_key_file, tmp_path):
    runner = CliRunner()
    out = tmp_path / "trail.jsonl"
    exported = runner.invoke(cli, ["audit", "export", "--tenant", sealed_tenant.slug, "--out", str(out)], env=cli_env)
    assert exported.exit_code == 0, exported.output
    offline = runner.invoke(cli, ["audit", "verify", "--file", str(out), "--public-key", str(public_key_file)], env={})
    assert offline.exit_code == 0, offline.output
    assert "audit trail intact" in offline.output

    lines = out.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[8])  # the event at sequence 8 (line 0 is the header)
    assert record["seq"] == 8
    record["fields"]["actor"] = "forged"
    lines[8] = json.dumps(record)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    edited = runner.invoke(cli, ["audit", "verify", "--file", str(out), "--public-key", str(public_key_file)], env={})
    assert edited.exit_code == 1
    assert "TAMPERED at sequence 8" in edited.output


def test_export_and_database_agree_on_every_hash(runtime, sealed_tenant, signing_key, tmp_path):
    """The SQL canonical form and the Python one (used offline) must be identical."""
    import io

    buffer = io.StringIO()
    with runtime.uow(tenant_id=sealed_tenant.tenant_id) as uow:
        service.export(uow, buffer, public_key=signing_key.public_key(), tenant_slug=sealed_tenant.slug)
        db_links = list(service._links(uow))
    report = service.verify_export(iter(buffer.getvalue().splitlines()), public_key_text=_pem(signing_key))
    assert report.intact and report.events == len(db_links)


def _pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
