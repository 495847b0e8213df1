"""Page throughput: the portal's /buyer/purchase-orders as a signed-in buyer vs. a bare
Flask app (bench/bare_app.py) returning the same service call's rows. Both run under
gunicorn with infra/gunicorn.conf.py and the same environment, against the bench
database with the demo tenants seeded (plus enough purchase orders for a full page of
50), and get the same closed-loop load (bench/loadgen.py) on 127.0.0.1, in alternating
short bursts (see BURSTS below for why).
"""

from __future__ import annotations

import http.client
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from bench import loadgen
from bench.common import Bench, log, median
from erp import demo
from erp.items.models import Item
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from kernel.settings import PROJECT_ROOT
from kernel.uow import Actor
from tenants import service as tenants

SECTION = "pages"
PATH = "/buyer/purchase-orders"
USER = "buyer@demo.example"
APPS = {"portal": "portal.app:create_app()", "bare": "bench.bare_app:create_app()"}
CONNECTIONS = 16  # closed loop, more than the 2 workers x 4 threads
TARGET = 0.5
# A keep-alive connection stays with the worker that accepted it, and a burst of 16
# connects often went all to one of the two workers (half the machine for the whole
# run). Both apps get short bursts with fresh connections, alternately, and the figure
# is the median of the bursts whose requests were spread over both workers.
SETTLE = 1.5  # seconds of quiet before each burst
BURSTS = 4
MAX_BURSTS = 12
BALANCE = 0.6  # the less busy worker served at least this share of the busier one's requests
LOAD_FIELDS = ("tool", "requests", "errors", "seconds", "p50_ms", "p99_ms")
GUNICORN_CONF = PROJECT_ROOT / "infra" / "gunicorn.conf.py"


def run(b: Bench) -> None:
    if not (PROJECT_ROOT / "portal" / "app.py").exists():
        raise RuntimeError("portal/app.py does not exist yet")
    seed(b)
    burst = max(3.0, 5 * b.scale)
    logs = Path(tempfile.mkdtemp(prefix="traceport-bench-"))
    kept: dict[str, list[loadgen.LoadResult]] = {"portal": [], "bare": []}
    runs: dict[str, list[dict]] = {"portal": [], "bare": []}
    with ExitStack() as stack:
        ports = {name: stack.enter_context(gunicorn(b, spec, logs / f"{name}.log")) for name, spec in APPS.items()}
        headers = {"portal": login(ports["portal"]), "bare": {}}
        for name in APPS:
            check_page(ports[name], headers[name], name)
            loadgen.run(ports[name], PATH, headers=headers[name], connections=CONNECTIONS, seconds=3.0)  # warm up
        log(
            f"pages: bursts of {burst:.0f}s, {CONNECTIONS} keep-alive connections ({loadgen.tool()}), alternating apps,"
            f" until {BURSTS} bursts per app spread over both workers; gunicorn logs in {logs}"
        )
        for attempt in range(MAX_BURSTS):
            for name in ("portal", "bare") if attempt % 2 == 0 else ("bare", "portal"):
                if len(kept[name]) >= BURSTS:
                    continue
                time.sleep(SETTLE)
                offset = (logs / f"{name}.log").stat().st_size
                result = loadgen.run(ports[name], PATH, headers=headers[name], connections=CONNECTIONS, seconds=burst)
                if result.errors or not result.requests:
                    raise RuntimeError(f"pages: {name}: {result.errors} failed requests of {result.requests + result.errors}")
                split = worker_split(logs / f"{name}.log", offset)
                spread = len(split) == 2 and split[1] >= BALANCE * split[0]
                runs[name].append(vars(result) | {"rps": result.rps, "requests_per_worker": split, "kept": spread})
                if spread:
                    kept[name].append(result)
                log(f"pages: {name}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, per worker {split}")
        for name in APPS:  # still signed in, still the full page
            check_page(ports[name], headers[name], name)
    b.details[SECTION] = {
        "tool": loadgen.tool(),
        "connections": CONNECTIONS,
        "burst_s": burst,
        "gunicorn": {"workers": 2, "threads": 4, "worker_class": "gthread"},
        "runs": runs,
    }
    note = f"median of {BURSTS} bursts spread over both workers; {loadgen.tool()}, {CONNECTIONS} conns"
    for name in APPS:
        if len(kept[name]) < BURSTS:  # never spread: take every burst, and say so
            kept[name] = [loadgen.LoadResult(**{k: v for k, v in r.items() if k in LOAD_FIELDS}) for r in runs[name]]
            note = f"{name}: connections never spread over both workers; all bursts"
    rps = {name: median([r.rps for r in rs]) for name, rs in kept.items()}
    p50 = {name: median([r.p50_ms for r in rs]) for name, rs in kept.items()}
    b.info(SECTION, "portal page, p50 latency", p50["portal"], p50["bare"], "ms")
    b.at_least(SECTION, f"{PATH} throughput vs bare Flask", rps["portal"], rps["bare"], "req/s", TARGET, note=note)


# --- data ----------------------------------------------------------------------------------


def seed(b: Bench, purchase_orders: int | None = None) -> None:
    """The demo tenants, plus purchase orders so the buyer's first page is full (50 rows)."""
    runtime = b.runtime()
    demo.seed(runtime)
    n = purchase_orders or b.n(500, 120)
    rng = random.Random(3)
    with runtime.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with runtime.uow(tenant_id=tenant_id, actor=Actor.system("bench"), reason="bench data") as uow:
        suppliers = tenants.list_suppliers(uow)
        items = list(uow.session.scalars(sa.select(Item)))
        today = date.today()
        for i in range(n):
            supplier = suppliers[i % len(suppliers)]
            po = PurchaseOrder(
                number=tenants.next_number(uow, name="PO", prefix="PO", year=today.year),
                supplier_id=supplier.id,
                status=rng.choice(["issued", "acknowledged", "in_delivery", "received", "closed"]),
                currency=rng.choice(["EUR", "CNY", "USD"]),
                order_date=today - timedelta(days=rng.randrange(365)),
            )
            uow.add(po)
            uow.flush()
            for line_no in range(1, rng.randrange(2, 5)):
                item = rng.choice(items)
                uow.add(
                    PurchaseOrderLine(
                        purchase_order_id=po.id,
                        supplier_id=supplier.id,
                        line_no=line_no * 10,
                        item_id=item.id,
                        quantity=Decimal(rng.randrange(10, 20000)),
                        uom=item.uom,
                        unit_price=Decimal(rng.randrange(10, 100000)) / 100,
                        requested_date=today + timedelta(days=rng.randrange(7, 90)),
                    )
                )
        uow.flush()
        uow.commit()
    log(f"pages: demo tenants seeded, {n} more purchase orders in demo")


# --- servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(b: Bench, spec: str, log_path: Path):
    port = free_port()
    env = b.server_env() | {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4"}
    with open(log_path, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), spec],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(process, port, log_path)
            yield port
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen, port: int, log_path: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            status, _, _ = request(port, "GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready after {timeout}s:\n{log_path.read_text()[-3000:]}")


def worker_split(log_path: Path, offset: int = 0) -> list[int]:
    """Requests each gunicorn worker served (from the access log's pid), from offset on."""
    with open(log_path, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    counts: dict[str, int] = {}
    for pid in re.findall(r'"pid": "<(\d+)>"', text):
        counts[pid] = counts.get(pid, 0) + 1
    return sorted(counts.values(), reverse=True)


# --- HTTP ----------------------------------------------------------------------------------


def request(port: int, method: str, path: str, *, headers=None, body: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _cookies(jar: dict[str, str], headers) -> None:
    for raw in headers.get_all("Set-Cookie") or []:
        for name, morsel in SimpleCookie(raw).items():
            jar[name] = morsel.value


def _cookie_header(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}


CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')


def login(port: int) -> dict[str, str]:
    """Sign in as the demo buyer through /login (CSRF token and all); returns the headers
    (the session cookie) a signed-in browser would send."""
    jar: dict[str, str] = {}
    status, headers, html = request(port, "GET", "/login")
    if status != 200:
        raise RuntimeError(f"GET /login: {status}")
    _cookies(jar, headers)
    tag = CSRF.search(html)
    if not tag:
        raise RuntimeError("no csrf_token in the login form")
    token = VALUE.search(tag.group(0)).group(1)
    form = urlencode({"email": USER, "password": demo.DEMO_PASSWORD, "csrf_token": token})
    status, headers, body = request(
        port,
        "POST",
        "/login",
        headers={"Content-Type": "application/x-www-form-urlencoded", **_cookie_header(jar)},
        body=form,
    )
    _cookies(jar, headers)
    if status not in (302, 303):
        raise RuntimeError(f"POST /login: {status}, not a redirect:\n{body[:1000]}")
    return _cookie_header(jar)


def check_page(port: int, headers: dict[str, str], name: str) -> None:
    """The page answers 200 with all 50 purchase orders."""
    status, _, body = request(port, "GET", PATH, headers=headers)
    if status != 200:
        raise RuntimeError(f"{name}: GET {PATH}: {status}:\n{body[:500]}")
    numbers = set(re.findall(r"PO-\d{4}-\d{6}", body))
    if len(numbers) != 50:
        raise RuntimeError(f"{name}: GET {PATH} shows {len(numbers)} purchase orders, expected 50")
