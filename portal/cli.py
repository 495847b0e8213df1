"""The `traceport` command (click). The composition root: it may import every layer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import click

from kernel.settings import load_settings
from portal.cli_epcis import epcis


def _runtime():
    from kernel.runtime import Runtime

    return Runtime.start(load_settings())


@click.group()
def main() -> None:
    """Traceport: supplier and partner portal for medical-device supply chains."""


# --- database -----------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database roles and migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations as the owner role (MIGRATION_DATABASE_URL)."""
    from kernel import migrate
    from kernel.database import resolve_urls

    urls = resolve_urls(load_settings())
    migrate.upgrade(urls, revision)
    click.echo(f"database at revision {migrate.current(urls)}")


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree (alembic check)."""
    from kernel import migrate
    from kernel.database import resolve_urls

    migrate.check(resolve_urls(load_settings()))
    click.echo("models and migrations agree")


@db.command("provision")
@click.option("--admin-url", required=True, help="An administrator's URL, used for this command only.")
@click.option("--database", default="traceport", show_default=True)
@click.option("--password", envvar="TRACEPORT_DB_PASSWORD", help="Password for both roles.")
def db_provision(admin_url: str, database: str, password: str | None) -> None:
    """Create the owner and application roles and the database on a server."""
    from kernel.database import provision

    urls = provision(admin_url, database, password=password)
    click.echo(f"DATABASE_URL={_hide(urls.app)}\nMIGRATION_DATABASE_URL={_hide(urls.owner)}")


def _hide(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server."""
    from kernel.database import stop_embedded

    stop_embedded(load_settings())


# --- serving ------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=None, type=int, help="gunicorn workers (default: from infra/gunicorn.conf.py)")
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the portal with gunicorn."""
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(Path(__file__).resolve().parent.parent / "infra" / "gunicorn.conf.py"),
        "--bind",
        f"{host}:{port}",
    ]
    if workers:
        args += ["--workers", str(workers)]
    # gunicorn's factory form: each worker builds its own app (and database pool) after the fork.
    os.execv(sys.executable, [*args, "portal.app:create_app()"])  # noqa: S606 - replaces this process with gunicorn


@main.command()
@click.option("--concurrency", default=2, show_default=True)
def worker(concurrency: int) -> None:
    """Run background jobs, periodic tasks and the audit sealer."""
    from portal.jobs import run_worker

    run_worker(_runtime(), concurrency=concurrency)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Seed only.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Migrate, seed the demo tenants (once), then serve with a worker beside."""
    from erp import demo as demo_data
    from kernel import migrate

    mail_server = None
    if not no_serve and not os.environ.get("SMTP_URL"):
        # The worker (a child process) inherits SMTP_URL and delivers to the console.
        mail_server, os.environ["SMTP_URL"] = _console_mail_server()
    runtime = _runtime()
    migrate.upgrade(runtime.urls)
    created = demo_data.seed(runtime)
    if created:
        from scoring.demo import seed_demo_scores

        with runtime.uow() as uow:
            seed_demo_scores(uow)  # last month's deliveries of Acme, one late, and the scorecards
            uow.commit()
    from audit.tasks import seal_all

    seal_all(runtime)
    click.echo("Seeded the demo tenants." if created else "Demo tenants already there; reusing them.")
    from documents.expiry import notify_all

    # The daily expiry scan, once now (the same code path as the job): the demo's
    # certificates that expire in 7 and 30 days and the expired one get their notices,
    # which the worker then mails (to the console below). Each goes once, ever.
    click.echo(f"Certificate expiry notices queued: {notify_all(runtime)}")
    from scoring.tasks import refresh_all

    # The dashboard's aggregates, once now (the worker refreshes them every few minutes).
    refresh_all(runtime)
    url = f"http://{host}:{port}"
    click.echo(f"\nTraceport is at {url}\n\nDemo logins (password: {demo_data.DEMO_PASSWORD}):")
    for login in demo_data.LOGINS:
        click.echo(f"  {login.email:32} {login.role:16} tenants: {login.tenants}")
    client_id, secret = demo_data.api_client(runtime)
    click.echo(
        f"\nAPI client of tenant demo (secret new at every start, shown once):\n"
        f"  client_id={client_id}\n  client_secret={secret}\n"
        f"  TOKEN=$(curl -s -u {client_id}:{secret} -d grant_type=client_credentials {url}/api/v1/oauth/token"
        f" | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')\n"
        f'  curl -H "Authorization: Bearer $TOKEN" {url}/api/v1/me'
    )
    _demo_walks(runtime, url)
    if mail_server is not None:
        click.echo(f"\nMail the portal sends is printed here (SMTP server at {runtime.settings.smtp_url}).")
    elif not no_serve:
        click.echo(f"\nMail goes to SMTP_URL={_hide(runtime.settings.smtp_url)}.")
    click.echo("")
    if no_serve:
        return
    worker_process = subprocess.Popen([sys.executable, "-m", "portal.cli", "worker"])
    # Stopped by SIGTERM as by Ctrl-C: leave through `finally`, taking the worker along.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        from portal.app import create_app

        create_app(runtime=runtime).run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        worker_process.terminate()
        worker_process.wait(10)
        if mail_server is not None:
            mail_server.stop()


class _ConsoleMail:
    """aiosmtpd handler for the demo: every message received, printed as a block."""

    async def handle_DATA(self, server, session, envelope) -> str:
        from email import message_from_bytes
        from email import policy as email_policy

        message = message_from_bytes(envelope.original_content or envelope.content, policy=email_policy.default)
        body = message.get_body(("plain",))
        text = body.get_content().replace("\r\n", "\n").rstrip() if body is not None else "(no text part)"
        rule = "=" * 78
        click.echo(
            f"\n{rule}\nMAIL  From:     {message['From']}\n      To:       {message['To'] or ', '.join(envelope.rcpt_tos)}"
            f"\n      Subject:  {message['Subject']}\n      Language: {message['Content-Language'] or '-'}"
            f"\n{'-' * 78}\n{text}\n{rule}\n"
        )
        return "250 Message accepted for delivery"


def _demo_walks(runtime, url: str) -> None:
    """Issue 8's walk: the pump's UDI to trace, and a fresh logger export with an
    excursion to upload (its times just before now, so it is always accepted)."""
    from erp.coldchain import demo as coldchain_demo
    from erp.traceability import demo as traced_demo
    from tenants import service as tenants

    with runtime.uow() as lookup:
        tenant_id = tenants.tenant_id_by_slug(lookup, slug="demo")
    with runtime.uow(tenant_id=tenant_id) as uow:
        udi, after = traced_demo.walk_udi(uow), coldchain_demo.last_reading_at(uow)
    export = Path(runtime.settings.data_dir) / "demo" / f"{coldchain_demo.LOGGER_CODE}-export.csv"
    export.parent.mkdir(parents=True, exist_ok=True)
    export.write_bytes(coldchain_demo.excursion_csv(after=after))
    click.echo(
        f"\nTrace and recall: as quality@demo.example, Trace, scan or paste the pump's UDI\n  {udi}\n"
        f"Cold chain: Cold chain -> Loggers -> {coldchain_demo.LOGGER_CODE} -> upload\n  {export}\n"
        f"  (a 40-minute excursion: the pouches' lot goes on hold and the quality engineer gets an email)\n"
        f"EPCIS: .venv/bin/traceport epcis export --tenant demo --lot {traced_demo.PUMP_LOT} --out pump.jsonld"
    )


def _console_mail_server(host: str = "127.0.0.1") -> tuple[object, str]:
    """Start an in-process SMTP server (aiosmtpd) that prints what it receives; port
    8025 (the SMTP_URL default) when free, another free port otherwise."""
    import logging
    import socket

    from aiosmtpd.controller import Controller

    def bind(port: int) -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's server will
            s.bind((host, port))
            return s.getsockname()[1]

    try:
        port = bind(8025)
    except OSError:
        port = bind(0)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-connection chatter
    controller = Controller(_ConsoleMail(), hostname=host, port=port)
    controller.start()
    return controller, f"smtp://{host}:{port}"


# --- audit --------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """The signed, tamper-evident audit trail."""


def _tenant_uow(runtime, slug: str):
    from kernel.uow import Actor
    from tenants.service import tenant_id_by_slug

    with runtime.uow() as lookup:
        tenant_id = tenant_id_by_slug(lookup, slug=slug) if slug != "platform" else uuid.UUID(int=0)
    return runtime.uow(tenant_id=tenant_id, actor=Actor.system("audit-cli"))


def _public_key(runtime, path: str | None):
    from audit.signing import load_public_key, signing_key

    if path:
        return load_public_key(Path(path).read_text())
    return signing_key(runtime.settings.audit_signing_key, runtime.settings.data_dir).public_key()


def _print_report(report) -> None:
    click.echo(
        f"tenant {report.tenant_id}: {report.events} events verified, {report.checkpoints} checkpoints,"
        f" {report.unsealed} not yet sealed"
    )
    if report.intact:
        click.echo("audit trail intact")
        return
    first = report.first_problem
    click.echo(f"TAMPERED at sequence {first.seq}: {first.detail}", err=True)
    for problem in sorted(report.problems, key=lambda p: p.seq)[1:]:
        click.echo(f"  also at {problem.seq}: {problem.detail}", err=True)
    sys.exit(1)


@audit.command("verify")
@click.option("--tenant", "slug", help="Tenant slug (or 'platform') to verify in the database.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="An export to verify offline.")
@click.option("--public-key", "public_key_path", type=click.Path(exists=True, dir_okay=False))
def audit_verify(slug: str | None, path: str | None, public_key_path: str | None) -> None:
    """Check the chain and its signed checkpoints; exit 1 naming the first bad sequence."""
    from audit import service

    if path:
        if not public_key_path:
            raise click.UsageError("--file needs --public-key")
        with open(path, encoding="utf-8") as f, click.progressbar(length=_count_lines(path), label="verifying") as bar:
            report = service.verify_export(iter(f), public_key_text=Path(public_key_path).read_text(), progress=bar.update)
        _print_report(report)
        return
    if not slug:
        raise click.UsageError("give --tenant SLUG or --file FILE")
    runtime = _runtime()
    with _tenant_uow(runtime, slug) as uow:
        sealed, _ = service.counts(uow)
        with click.progressbar(length=sealed, label="verifying") as bar:
            report = service.verify_database(uow, public_key=_public_key(runtime, public_key_path), progress=bar.update)
    _print_report(report)


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f) - 1


@audit.command("export")
@click.option("--tenant", "slug", required=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True))
def audit_export(slug: str, out_path: str) -> None:
    """Write the tenant's events and checkpoints for offline verification."""
    from audit import service

    runtime = _runtime()
    with _tenant_uow(runtime, slug) as uow, open(out_path, "w", encoding="utf-8") as out:
        sealed, _ = service.counts(uow)
        with click.progressbar(length=sealed, label="exporting") as bar:
            n = service.export(uow, out, public_key=_public_key(runtime, None), tenant_slug=slug, progress=bar.update)
    click.echo(f"exported {n} events to {out_path}")


@audit.command("seal")
def audit_seal() -> None:
    """Chain all pending events now (the worker does this continuously)."""
    from audit.tasks import seal_all

    click.echo(f"sealed {seal_all(_runtime())} events")


@audit.command("public-key")
def audit_public_key() -> None:
    """Print the public key that verifies checkpoints (PEM)."""
    from audit.signing import public_pem

    runtime = _runtime()
    click.echo(public_pem(_public_key(runtime, None)), nl=False)


# --- certificates -------------------------------------------------------------------


@main.group()
def certificates() -> None:
    """Supplier certificates."""


@certificates.command("notify-expiring")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Scan as on this day, YYYY-MM-DD (default: today, UTC).",
)
@click.option("--digest", is_flag=True, help="Also queue the quality engineers' digest for that day.")
def certificates_notify_expiring(as_of, digest: bool) -> None:
    """Queue the certificate expiry notices due, as the daily job does, and send the mail
    (to SMTP_URL). Each notice goes once, however often this runs."""
    from documents import expiry

    runtime = _runtime()
    day = as_of.date() if as_of is not None else None
    touched: set[uuid.UUID] = set()

    def note(tenant_id, count: int) -> None:
        if count:
            touched.add(tenant_id)

    failure = None
    try:
        try:
            click.echo(f"{expiry.notify_all(runtime, as_of=day, on_tenant=note)} expiry notice(s) queued")
        except expiry.ExpiryScanIncomplete as exc:
            click.echo(f"{exc.done} expiry notice(s) queued")
            failure = exc
        if digest:
            try:
                click.echo(f"{expiry.digest_all(runtime, as_of=day, on_tenant=note)} digest mail(s) queued")
            except expiry.ExpiryScanIncomplete as exc:
                click.echo(f"{exc.done} digest mail(s) queued")
                failure = failure or exc
        sent, left = _deliver_outbox(runtime, touched)
        click.echo(f"{sent} mail(s) sent to {_hide(runtime.settings.smtp_url)}")
        if left:
            click.echo(f"{left} mail(s) could not be sent now; they stay in the outbox for the worker to retry", err=True)
    finally:
        runtime.close()
    if failure is not None:
        raise click.ClickException(f"{failure}; see the log. Those tenants are due again at the next run.")


def _deliver_outbox(runtime, tenant_ids) -> tuple[int, int]:
    """Send the outbox of these tenants now, as the worker would; (sent, left undelivered)."""
    import sqlalchemy as sa

    from kernel.outbox import OutboxMessage
    from kernel.uow import Actor
    from portal.jobs import dispatcher

    deliver = dispatcher(runtime.settings)
    sent = left = 0
    for tenant_id in sorted(tenant_ids):
        while True:
            with runtime.uow(tenant_id=tenant_id, actor=Actor.system("outbox")) as uow:
                batch = deliver.deliver_pending(uow)
                uow.commit()
            sent += batch
            if not batch:  # nothing left, or only what fails now (recorded for a retry)
                break
        with runtime.uow(tenant_id=tenant_id) as uow:
            left += uow.scalar(sa.select(sa.func.count()).where(OutboxMessage.delivered_at.is_(None)))
    return sent, left


# --- GS1 and HIBCC codes ----------------------------------------------------------------


@main.group()
def gs1() -> None:
    """GS1 and HIBCC codes (no database needed)."""


@gs1.command("parse")
@click.argument("text")
def gs1_parse(text: str) -> None:
    """Read a code as scanned (]d2…, GS as <GS>), printed ((01)…), a Digital Link URI or an
    HIBC code, and print its data as JSON; a code that breaks a rule exits 2, saying why."""
    import json

    from erp.gs1.errors import Gs1Invalid
    from erp.gs1.parse import parse_code

    try:
        parsed = parse_code(text)
    except Gs1Invalid as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(json.dumps(parsed.rendered(), indent=2, ensure_ascii=False))


from portal.cli_trace import trace_command  # noqa: E402 - `traceport trace`

main.add_command(trace_command)


main.add_command(epcis)  # portal/cli_epcis.py

if __name__ == "__main__":
    main()
