"""The real app on a real port, driven by Debian's chromium (notes/browser.md).

The server runs in a thread on the committing runtime, so the browser sees what a
person would; the people signing in are made here (committed, unique) so that the
language they choose does not leak into other tests' users.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.app import create_app
from tenants import service as tenants
from tests.factories import make_user, unique
from tests.portal.support import compile_translations, quiet_logging_after_tests

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class People:
    supplier: object
    buyer: object
    admin: object


# Module scope: Playwright's sync API keeps an event loop in this thread while it runs,
# which later tests that call asyncio.run() must not find.
@pytest.fixture(scope="module")
def base_url(runtime, settings, worlds):
    compile_translations()
    app = create_app(settings, runtime=runtime)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="session")
def people(runtime, worlds) -> People:
    world = worlds[0]
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        supplier = make_user(uow, email=f"{unique('e2e-supplier')}@example.test")
        tenants.add_membership(uow, user=supplier, role="supplier_admin", organisation=world.suppliers[0])
        buyer = make_user(uow, email=f"{unique('e2e-buyer')}@example.test")
        tenants.add_membership(uow, user=buyer, role="buyer")
        admin = make_user(uow, email=f"{unique('e2e-admin')}@example.test")
        tenants.add_membership(uow, user=admin, role="tenant_admin")
        uow.commit()
    return People(supplier=supplier, buyer=buyer, admin=admin)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make browser)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    yield context
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-US"
    )
    yield context
    context.close()


@pytest.fixture(scope="session", autouse=True)
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    yield ARTIFACTS
    quiet_logging_after_tests()
