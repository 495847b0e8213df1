"""Shared plumbing: the bench database, connections, timing, figures and the report."""

from __future__ import annotations

import json
import os
import platform
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from unittest import mock

import psycopg
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import migrations.support as support
from kernel import migrate
from kernel.database import DatabaseUrls, embedded_admin_url, libpq_url, provision, start_embedded
from kernel.runtime import Runtime
from kernel.settings import PROJECT_ROOT, Settings, load_settings

DATABASE = "traceport_bench"
# Server settings that move the figures; recorded with the results.
SETTINGS = ["autovacuum", "shared_buffers", "synchronous_commit", "fsync", "jit", "max_connections", "work_mem"]
RESULTS = Path(__file__).resolve().parent / "results.json"
_T0 = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", flush=True)


# --- figures -----------------------------------------------------------------------


@dataclass
class Figure:
    section: str
    name: str
    value: float
    baseline: float | None
    unit: str
    ratio: float | None
    target: str  # "<= 1.15", ">= 0.8", ... on the ratio unless `on` says otherwise
    passed: bool | None  # None: information only
    on: str = "ratio"
    note: str = ""


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- the run -------------------------------------------------------------------------


@dataclass
class Bench:
    scale: float
    settings: Settings
    admin_url: str
    urls: DatabaseUrls
    server: str  # where: embedded or the DATABASE_URL host
    server_version: str
    signing_pem: str
    server_settings: dict[str, str] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    _runtime: Runtime | None = None
    _tenants: int = 0

    # sizes --------------------------------------------------------------------
    def n(self, full: int, minimum: int = 1) -> int:
        """A size at full scale, scaled by BENCH_SCALE."""
        return max(minimum, round(full * self.scale))

    # connections ----------------------------------------------------------------
    def app(self, **kwargs) -> psycopg.Connection:
        """The application role (NOBYPASSRLS, owns nothing), as the product connects."""
        return psycopg.connect(self.urls.app_conninfo, application_name="traceport-bench", **kwargs)

    def owner(self) -> psycopg.Connection:
        return psycopg.connect(self.urls.owner_conninfo, autocommit=True, application_name="traceport-bench-owner")

    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime.start(self.settings, self.urls)
        return self._runtime

    def tenant(self, prefix: str) -> uuid.UUID:
        """A real tenant (the sealer seals the tenants in the tenant table), made by the product's service."""
        from tenants.service import create_tenant

        self._tenants += 1
        with self.runtime().uow() as uow:
            tenant = create_tenant(uow, slug=f"{prefix}-{self._tenants}", name=f"Bench {prefix} {self._tenants}")
            uow.commit()
        return tenant.id

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None

    def server_env(self) -> dict[str, str]:
        """Environment for a server process (gunicorn) on the bench database."""
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.urls.app,
                "MIGRATION_DATABASE_URL": self.urls.owner,
                "DATABASE_NAME": DATABASE,
                "DATA_DIR": str(self.settings.data_dir),
                "SECRET_KEY": self.settings.secret_key,
                "AUDIT_SIGNING_KEY": self.signing_pem,
                # Production refuses to start without its own keys for stored secrets.
                "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "TRACEPORT_ENV": "production",
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(PROJECT_ROOT),
            }
        )
        return env

    # figures ----------------------------------------------------------------
    def at_most(self, section: str, name: str, value: float, baseline: float, unit: str, limit: float, note: str = "") -> Figure:
        ratio = value / baseline
        return self._add(Figure(section, name, value, baseline, unit, ratio, f"<= {limit:g}", ratio <= limit, note=note))

    def at_least(self, section: str, name: str, value: float, baseline: float, unit: str, limit: float, note: str = "") -> Figure:
        ratio = value / baseline
        return self._add(Figure(section, name, value, baseline, unit, ratio, f">= {limit:g}", ratio >= limit, note=note))

    def value_at_least(
        self, section: str, name: str, value: float, baseline: float, unit: str, limit: float, note: str = ""
    ) -> Figure:
        """An absolute target on the value; the ratio to the baseline is shown for context."""
        figure = Figure(
            section,
            name,
            value,
            baseline,
            unit,
            value / baseline,
            f">= {limit:,.0f} {unit}",
            value >= limit,
            on="value",
            note=note,
        )
        return self._add(figure)

    def value_at_most(
        self, section: str, name: str, value: float, baseline: float, unit: str, limit: float, note: str = ""
    ) -> Figure:
        """An absolute ceiling on the value; the ratio to the baseline is shown for context."""
        figure = Figure(
            section, name, value, baseline, unit, value / baseline, f"<= {limit:g} {unit}", value <= limit, on="value", note=note
        )
        return self._add(figure)

    def info(self, section: str, name: str, value: float, baseline: float | None, unit: str, note: str = "") -> Figure:
        ratio = value / baseline if baseline else None
        return self._add(Figure(section, name, value, baseline, unit, ratio, "-", None, note=note))

    def _add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print("  " + format_row(figure), flush=True)
        return figure

    # report ---------------------------------------------------------------------
    def write(self, started: float, sections: list[str]) -> None:
        data = {
            "postgres_version": self.server_version,
            "server": self.server,
            "server_settings": self.server_settings,
            "scale": self.scale,
            "sections": sections,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "duration_s": round(time.time() - started, 1),
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
            "figures": [asdict(f) for f in self.figures],
            "details": self.details,
        }
        RESULTS.write_text(json.dumps(data, indent=2, default=str) + "\n")


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.3f} s"
    if value >= 1000:
        return f"{value:,.0f} {unit}"
    return f"{value:.1f} {unit}"


def format_row(f: Figure) -> str:
    result = "info" if f.passed is None else ("PASS" if f.passed else "MISS")
    ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
    return (
        f"{f.section:7} {f.name:44} {_fmt(f.value, f.unit):>16} {_fmt(f.baseline, f.unit):>16}"
        f" {ratio:>6} {f.target:>18} {result:>5}" + (f"  ({f.note})" if f.note else "")
    )


def header() -> str:
    return f"{'section':7} {'figure':44} {'measured':>16} {'baseline':>16} {'ratio':>6} {'target':>18} {'':>5}"


def print_table(figures: list[Figure]) -> None:
    print()
    print(header())
    print("-" * len(header()))
    for f in figures:
        print(format_row(f))
    missed = [f for f in figures if f.passed is False]
    print()
    print(f"{sum(f.passed is True for f in figures)} PASS, {len(missed)} MISS, {sum(f.passed is None for f in figures)} info")


# --- setting up ------------------------------------------------------------------------


def scale_from_env() -> float:
    raw = os.environ.get("BENCH_SCALE", "1.0")
    try:
        scale = float(raw)
    except ValueError:
        raise SystemExit(f"BENCH_SCALE must be a number, not {raw!r}") from None
    if not 0 < scale <= 10:
        raise SystemExit("BENCH_SCALE must be in (0, 10]")
    return scale


def setup() -> Bench:
    """Provision `traceport_bench` afresh (roles, database, migrations) on the embedded
    server, or on the server whose administrator's URL is DATABASE_URL."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    settings = load_settings(
        TRACEPORT_ENV="development",
        DATABASE_URL=None,
        MIGRATION_DATABASE_URL=None,
        DATABASE_NAME=DATABASE,
        AUDIT_SIGNING_KEY=pem,
        SECRET_KEY="bench-" + secrets.token_hex(24),
        LOG_LEVEL="WARNING",
    )
    admin_url = os.environ.get("DATABASE_URL")
    if admin_url:
        server = "DATABASE_URL"
        # A server that checks passwords needs one for the two roles; trust ignores it.
        password = os.environ.get("TRACEPORT_DB_PASSWORD", "traceport-bench-only")
    else:
        start_embedded(settings)
        admin_url = embedded_admin_url(settings)
        server = "embedded"
        password = None
    log(f"provisioning {DATABASE} ({server})")
    urls = provision(admin_url, DATABASE, password=password, recreate=True)
    migrate.upgrade(urls)
    with psycopg.connect(libpq_url(urls.app)) as conn:
        version = conn.execute("show server_version").fetchone()[0]
        server_settings = dict(
            conn.execute("select name, current_setting(name) from pg_settings where name = any(%s)", (SETTINGS,)).fetchall()
        )
    scale = scale_from_env()
    log(f"PostgreSQL {version}, BENCH_SCALE={scale:g}, {server_settings}")
    if server_settings.get("autovacuum") == "off":
        log("WARNING: autovacuum is off on this server: tables are never vacuumed or analyzed between phases")
    return Bench(
        scale=scale,
        server_settings=server_settings,
        settings=settings,
        admin_url=admin_url,
        urls=urls,
        server=server,
        server_version=version,
        signing_pem=pem,
    )


# --- the product's SQL shapes, captured from migrations.support ------------------------


class _Recorder:
    """Stands in for alembic's `op` to capture the SQL a migration helper would run."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, statement: str) -> None:
        self.statements.append(statement)


def product_sql(helper: Callable[..., None], *args, **kwargs) -> list[str]:
    """The statements `migrations.support.<helper>` emits, so the bench tables get the very
    policy and trigger SQL the product's tables get (TENANT / SUPPLIER shapes included)."""
    recorder = _Recorder()
    with mock.patch.object(support, "op", recorder):
        helper(*args, **kwargs)
    return recorder.statements


def tenant_rls_sql(table: str, *, supplier_column: str | None = "supplier_id") -> list[str]:
    return product_sql(support.tenant_rls, table, supplier_column=supplier_column)


def audited_sql(table: str) -> list[str]:
    return product_sql(support.audited, table)


def policies_match_product(conn: psycopg.Connection, table: str, product_table: str = "purchase_order") -> bool:
    """The bench table's policies that apply to the application role read exactly like
    the product table's (a policy for the owner only, such as the lookup behind
    app.purchase_order_exists, is left out)."""
    query = (
        "select policyname, permissive, cmd, qual, with_check from pg_policies"
        " where tablename = %s and 'public' = any(roles) order by policyname"
    )
    return conn.execute(query, (table,)).fetchall() == conn.execute(query, (product_table,)).fetchall()


@contextmanager
def timer():
    box = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["s"] = time.perf_counter() - start


CONTEXT_SQL = (
    "select set_config('app.tenant_id', %s, true), set_config('app.supplier_id', %s, true),"
    " set_config('app.user_id', %s, true), set_config('app.actor', %s, true),"
    " set_config('app.reason', %s, true), set_config('app.request_id', %s, true)"
)


def context_params(tenant, supplier=None, user=None, actor="bench", reason="", request="") -> tuple:
    """What kernel.uow sets at the start of every transaction (tenant, supplier, user,
    actor, reason, request id), as psycopg parameters."""
    return (str(tenant or ""), str(supplier or ""), str(user or ""), actor, reason, request)
