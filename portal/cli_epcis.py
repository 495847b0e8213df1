"""`traceport epcis export|import`: EPCIS 2.0 documents of a tenant, from the command line.

    traceport epcis export --tenant SLUG [--lot LOT] [--asn NUMBER] [--since DATE] [--until DATE] --out FILE
    traceport epcis import --tenant SLUG FILE

Both act as the system for the tenant (an operator's command, as `traceport audit`
does); the export writes an EPCISDocument valid against GS1's EPCIS 2.0 JSON schema,
the import captures one (erp.traceability.epcis.capture) and prints its summary as JSON.
A document that breaks the schema exits 2 with its problems, and nothing is saved.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]


def _tenant_uow(runtime, slug: str, actor_name: str):
    from kernel.uow import Actor
    from tenants.service import tenant_id_by_slug

    with runtime.uow() as lookup:
        tenant_id = tenant_id_by_slug(lookup, slug=slug)
    return runtime.uow(tenant_id=tenant_id, actor=Actor.system(actor_name))


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _problems(error) -> None:
    click.echo(str(error), err=True)
    for place, message in getattr(error, "errors", {}).items():
        click.echo(f"  {place}: {message}", err=True)


@click.group()
def epcis() -> None:
    """EPCIS 2.0 traceability events (JSON-LD)."""


@epcis.command("export")
@click.option("--tenant", "slug", required=True)
@click.option("--lot", default=None, help="A lot number: every item's lot of that number.")
@click.option("--asn", default=None, help="A ship notice number.")
@click.option("--since", type=click.DateTime(formats=DATE_FORMATS), default=None, help="Events at or after (UTC).")
@click.option("--until", type=click.DateTime(formats=DATE_FORMATS), default=None, help="Events before (UTC).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True))
def epcis_export(slug: str, lot, asn, since, until, out_path: str) -> None:
    """Write the events of a lot, a ship notice or a period as an EPCISDocument."""
    from erp.traceability.epcis import export
    from kernel.errors import DomainError
    from portal.cli import _runtime
    from tenants.errors import TenantNotFound

    runtime = _runtime()
    try:
        with _tenant_uow(runtime, slug, "epcis-cli") as uow:
            document = export.export_document(uow, uow.actor, lot=lot, asn=asn, since=_utc(since), until=_utc(until))
    except TenantNotFound as exc:
        raise click.UsageError(f"no tenant {slug!r}") from exc
    except DomainError as exc:
        _problems(exc)
        sys.exit(2)
    finally:
        runtime.close()
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2, ensure_ascii=False)
    click.echo(f"exported {len(document['epcisBody']['eventList'])} events to {out_path}")


@epcis.command("import")
@click.option("--tenant", "slug", required=True)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def epcis_import(slug: str, path: str) -> None:
    """Capture an EPCISDocument: print what was stored and recorded, as JSON."""
    from erp.traceability.epcis import capture
    from erp.traceability.epcis.schema import EpcisInvalid
    from kernel.errors import DomainError
    from portal.cli import _runtime
    from tenants.errors import TenantNotFound

    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except (ValueError, UnicodeDecodeError) as exc:
        click.echo(f"{path} is not JSON: {exc}", err=True)
        sys.exit(2)
    runtime = _runtime()
    try:
        with _tenant_uow(runtime, slug, "epcis-cli") as uow:
            summary = capture.capture_document(uow, uow.actor, document=document)
            uow.commit()
    except TenantNotFound as exc:
        raise click.UsageError(f"no tenant {slug!r}") from exc
    except (EpcisInvalid, DomainError) as exc:
        _problems(exc)
        sys.exit(2)
    finally:
        runtime.close()
    click.echo(json.dumps(_summary(summary), indent=2, ensure_ascii=False))


def _summary(summary) -> dict:
    def text(message: str, params: dict) -> str:
        return message % params if params and "%(" in message else message

    return {
        "capture_id": str(summary.capture_id),
        "received": summary.received,
        "stored": summary.stored,
        "already_known": summary.known,
        "mapped": [
            {"event_id": o.event_id, "event_type": o.event_type, "target": o.target, "record_id": str(o.record_id)}
            for o in summary.mapped
        ],
        "not_mapped": [
            {
                "event_id": o.event_id,
                "event_type": o.event_type,
                "target": o.target,
                "reason": text(o.reason, o.params),
                "errors": {k: text(v, o.error_params.get(k) or o.params) for k, v in o.errors.items()},
            }
            for o in summary.not_mapped
        ],
    }
