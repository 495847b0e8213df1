"""`traceport trace --tenant SLUG CODE`: the trace of a code as JSON, for scripts. The trace
is kept as a snapshot like one run from a page (who: the system actor "trace-cli";
why: --reason). A code that names nothing exits 2 with the message on stderr."""

from __future__ import annotations

import json
import sys

import click


@click.command("trace")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--reason", default="Traced from the command line", show_default=True, help="Why: kept with the trace.")
@click.option("--direction", type=click.Choice(["both", "backward", "forward"]), default="both", show_default=True)
@click.argument("code")
def trace_command(slug: str, reason: str, direction: str, code: str) -> None:
    """Trace CODE (a UDI, GTIN and lot, serial, SSCC, lot, supplier, PO or ASN number)
    backward to the sources and forward to the customers; print the kept snapshot as JSON."""
    from erp.traceability import trace
    from erp.traceability.trace_schemas import TraceOut
    from kernel.errors import NotFound, ValidationFailed
    from kernel.runtime import Runtime
    from kernel.settings import load_settings
    from kernel.uow import Actor
    from tenants.service import tenant_id_by_slug

    runtime = Runtime.start(load_settings())
    try:
        with runtime.uow() as lookup:
            try:
                tenant_id = tenant_id_by_slug(lookup, slug=slug)
            except NotFound as exc:
                raise click.ClickException(f"no tenant {slug!r}") from exc
        actor = Actor.system("trace-cli")
        with runtime.uow(tenant_id=tenant_id, actor=actor, reason=reason) as uow:
            try:
                snapshot = trace.run_trace(uow, actor, code=code, reason=reason, direction=direction)
            except ValidationFailed as error:
                for field, message in error.errors.items():
                    text = message % error.params if error.params and "%(" in message else message
                    click.echo(f"{field}: {text}", err=True)
                sys.exit(2)
            body = TraceOut.of(snapshot).model_dump(mode="json")
            uow.commit()
    finally:
        runtime.close()
    click.echo(json.dumps(body, indent=2, ensure_ascii=False))
