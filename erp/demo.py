"""The demo data `make demo` seeds: two tenants sharing one supplier user, users for
every role, items and a few purchase orders. Running it again changes nothing."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from pypdf import PdfWriter

from auth import clients as api_clients
from auth import service as auth_service
from auth.models import ApiClient
from documents import certificates
from documents.vault import Vault
from erp.items import revisions
from erp.items.models import Item, ItemRevision
from erp.purchasing import confirmation
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from erp.suppliers import compliance
from erp.suppliers import service as suppliers
from erp.traceability import demo as traced_demo
from kernel.crypto import FieldCipher
from kernel.uow import Actor
from tenants import service as tenants
from tenants.errors import TenantNotFound

DEMO_PASSWORD = "traceport-demo-2026"  # noqa: S105 - printed to the user of the demo


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    tenants: str


LOGINS = [
    DemoLogin("admin@demo.example", "tenant_admin", "demo"),
    DemoLogin("buyer@demo.example", "buyer", "demo"),
    DemoLogin("quality@demo.example", "quality", "demo"),
    DemoLogin("warehouse@demo.example", "warehouse", "demo"),
    DemoLogin("viewer@demo.example", "viewer", "demo"),
    DemoLogin("sales@acme-polymers.example", "supplier_admin", "demo, demo2"),
    DemoLogin("qa@shenzhen-sterile.example", "supplier_admin", "demo"),
    DemoLogin("buyer@demo2.example", "buyer", "demo2"),
]


def seed(runtime) -> bool:
    """Seed both demo tenants; return False when they were already there."""
    with runtime.uow() as uow:
        try:
            tenants.tenant_id_by_slug(uow, slug="demo")
            return False
        except TenantNotFound:
            pass
        users = {
            login.email: auth_service.create_user(
                uow,
                email=login.email,
                full_name=_name(login.email),
                password=DEMO_PASSWORD,
                locale="zh_Hans_CN" if login.email.startswith(("qa@", "quality@")) else "en",
            )
            for login in LOGINS
        }
        uow.reason = "demo seed"
        _seed_demo(uow, users, Vault.from_settings(runtime.settings), runtime.settings)
        _seed_demo2(uow, users)
        uow.commit()
    return True


DEMO_API_CLIENT = "Demo ERP integration"
DEMO_API_SCOPES = ["items.view", "po.view"]


def api_client(runtime) -> tuple[str, str]:
    """The demo tenant's machine client and a fresh secret: created the first time,
    rotated on every later start (secrets are stored hashed, so the old one cannot be
    shown again). Returns (client_id, secret)."""
    with runtime.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with runtime.uow(tenant_id=tenant_id) as uow:
        uow.reason = "demo start"
        actor = Actor.system("demo")
        client = uow.session.scalar(sa.select(ApiClient).where(ApiClient.name == DEMO_API_CLIENT, ApiClient.revoked_at.is_(None)))
        if client is None:
            client, secret = api_clients.create_client(uow, actor, name=DEMO_API_CLIENT, scopes=DEMO_API_SCOPES)
        else:
            client, secret = api_clients.rotate_secret(uow, actor, client_pk=client.id)
        uow.commit()
        return client.client_id, secret


def _name(email: str) -> str:
    local, domain = email.split("@")
    return f"{local.title()} ({domain.split('.')[0]})"


def _seed_demo(uow, users, vault, settings) -> None:
    tenants.create_tenant(uow, slug="demo", name="Demo MedTech", name_zh="演示医疗器械")
    own = tenants.own_organisation(uow)
    tenants.create_site(
        uow, organisation=own, name="Suzhou plant", kind="manufacturing", address="88 Xinghu St, Suzhou", country="CN"
    )
    warehouse = tenants.create_site(
        uow, organisation=own, name="Central warehouse", kind="warehouse", address="12 Logistics Rd, Suzhou", country="CN"
    )
    acme = tenants.create_supplier(uow, code="ACME", name="Acme Polymers GmbH", name_zh="艾克米聚合物", country="DE")
    sterile = tenants.create_supplier(
        uow, code="SZST", name="Shenzhen Sterile Packaging Co.", name_zh="深圳无菌包装有限公司", country="CN"
    )
    tenants.create_site(uow, organisation=acme, name="Acme Ludwigshafen", kind="manufacturing", country="DE")
    sterile_site = tenants.create_site(
        uow, organisation=sterile, name="Shenzhen Bao'an plant", kind="manufacturing", country="CN"
    )
    for email, role in (
        ("admin@demo.example", "tenant_admin"),
        ("buyer@demo.example", "buyer"),
        ("quality@demo.example", "quality"),
        ("warehouse@demo.example", "warehouse"),
        ("viewer@demo.example", "viewer"),
    ):
        tenants.add_membership(uow, user=users[email], role=role)
    tenants.add_membership(uow, user=users["sales@acme-polymers.example"], role="supplier_admin", organisation=acme)
    tenants.add_membership(uow, user=users["qa@shenzhen-sterile.example"], role="supplier_admin", organisation=sterile)
    items = [
        Item(part_number="PC-1001", name="Polycarbonate housing", name_zh="聚碳酸酯外壳", category="component", uom="EA"),
        Item(part_number="TB-2040", name="Medical tubing 4 mm", name_zh="医用导管 4 毫米", category="raw_material", uom="M"),
        Item(
            part_number="SB-3300",
            name="Tyvek sterile barrier pouch",
            name_zh="特卫强无菌屏障袋",
            category="sterile_barrier",
            uom="EA",
            storage_temp_min_c=Decimal("15"),
            storage_temp_max_c=Decimal("25"),
            storage_humidity_min_pct=Decimal("30"),
            storage_humidity_max_pct=Decimal("60"),
            max_excursion_minutes=120,
        ),
        Item(
            part_number="FD-9000",
            name="Infusion set, sterile",
            name_zh="无菌输液器",
            category="finished_device",
            uom="EA",
            issuing_agency="GS1",
            udi_di="09506000134352",
            device_class="IIa",
            label_lot=True,
            label_expiry_date=True,
        ),
        # Contract-made and serialised: its ship notice carries lot, expiry and one serial
        # per unit, and receiving scans each unit (issue 7's demo walk).
        Item(
            part_number="PM-7100",
            name="Infusion pump controller",
            name_zh="输液泵控制器",
            category="contract_manufactured",
            uom="EA",
            issuing_agency="GS1",
            udi_di="09506000134376",
            device_class="IIb",
            label_lot=True,
            label_serial=True,
            label_expiry_date=True,
        ),
    ]
    for item in items:
        uow.add(item)
    uow.flush()
    _first_revisions(uow, items)
    # A design change scheduled for next month (ISO 13485 §7.3.9).
    uow.add(
        ItemRevision(
            item_id=items[3].id,
            revision="B",
            effective_from=revisions.today() + timedelta(days=30),
            description="Roller clamp changed to the supplier's new moulding; same materials and dimensions.",
        )
    )
    uow.flush()
    _purchase_order(
        uow, acme, [(items[0], Decimal("5000"), Decimal("1.85")), (items[1], Decimal("12000"), Decimal("0.42"))], "EUR", 0
    )
    _purchase_order(uow, acme, [(items[0], Decimal("2500"), Decimal("1.85"))], "EUR", 7)
    _purchase_order(uow, sterile, [(items[2], Decimal("20000"), Decimal("0.65"))], "CNY", 3)
    _approved_suppliers(uow, acme, sterile, sterile_site, items)
    _certificates(uow, users, vault, settings, sterile_site)
    pumps_and_pouches = [(items[4], Decimal("10"), Decimal("480")), (items[2], Decimal("500"), Decimal("0.65"))]
    _acknowledged_order(uow, sterile, warehouse, pumps_and_pouches)
    _traced_devices(uow, users, settings, sterile, warehouse, controller=items[4], pouch=items[2])
    # A draft for the buyer to issue and Acme to confirm line by line (README, demo walk).
    today = date.today()
    confirmation.create_purchase_order(
        uow,
        Actor.system("demo"),
        supplier_id=acme.id,
        currency="EUR",
        lines=[
            {"item_id": items[0].id, "quantity": "3000", "unit_price": "1.80", "requested_date": today + timedelta(days=30)},
            {"item_id": items[1].id, "quantity": "8000", "unit_price": "0.40", "requested_date": today + timedelta(days=30)},
            {"item_id": items[0].id, "quantity": "2000", "unit_price": "1.80", "requested_date": today + timedelta(days=45)},
            {"item_id": items[3].id, "quantity": "500", "unit_price": "12.50", "requested_date": today + timedelta(days=60)},
        ],
    )


def _traced_devices(uow, users, settings, sterile, warehouse, *, controller, pouch) -> None:
    """Issue 8's demo walk: devices built from received, released components and shipped
    to customers (erp.traceability.demo)."""
    order = _acknowledged_order(
        uow, sterile, warehouse, [(controller, Decimal("6"), Decimal("480")), (pouch, Decimal("200"), Decimal("0.65"))]
    )
    tenant_id = uow.tenant_id
    traced_demo.seed(
        uow,
        system=Actor.system("demo"),
        warehouse_actor=tenants.actor_in(uow, users["warehouse@demo.example"], tenant_id),
        quality_actor=tenants.actor_in(uow, users["quality@demo.example"], tenant_id),
        password=DEMO_PASSWORD,
        settings=settings,
        order=order,
        items=(controller, pouch),
    )
    uow.switch_tenant(tenant_id, Actor.system("demo"))


def _approved_suppliers(uow, acme, sterile, sterile_site, items) -> None:
    """Contacts and an approved supplier list with each status, so that a PO for the
    disqualified item shows the refusal (ISO 13485 §7.4.1)."""
    actor = Actor.system("demo")
    suppliers.add_contact(
        uow, actor, supplier_id=acme.id, name="Jonas Weber", email="sales@acme-polymers.example", role="Sales", is_primary=True
    )
    suppliers.add_contact(
        uow, actor, supplier_id=sterile.id, name="王芳", email="qa@shenzhen-sterile.example", role="Quality", is_primary=True
    )
    for kwargs in (
        {"supplier_id": acme.id, "category": "component", "status": "approved", "reason": "Initial audit passed"},
        {"supplier_id": acme.id, "category": "raw_material", "status": "approved", "reason": "Initial audit passed"},
        {"supplier_id": acme.id, "item_id": items[1].id, "status": "probation", "reason": "Two late deliveries"},
        {"supplier_id": acme.id, "item_id": items[2].id, "status": "disqualified", "reason": "Failed process audit"},
        {
            "supplier_id": sterile.id,
            "site_id": sterile_site.id,
            "category": "sterile_barrier",
            "status": "conditional",
            "reason": "Extra incoming inspection until the sterilisation validation is renewed",
        },
    ):
        suppliers.set_approval(uow, actor, **kwargs)


def _certificates(uow, users, vault, settings, sterile_site) -> None:
    """Certificate types, requirements (ISO 13485 from everyone, a sterilisation
    validation from sterile-barrier suppliers) and certificates that expire in 30 and 7
    days and one expired, each uploaded by its supplier and approved with the quality
    engineer's real e-signature, so the expiry scan has notices to send."""
    system = Actor.system("demo")
    iso = certificates.save_type(uow, system, code="iso13485", name="ISO 13485 certificate", name_zh="ISO 13485 证书")
    sterilisation = certificates.save_type(
        uow, system, code="sterilisation", name="Sterilisation validation report", name_zh="灭菌确认报告"
    )
    certificates.save_type(uow, system, code="ce-mdr", name="CE certificate (EU MDR)", name_zh="CE 证书（欧盟 MDR）")
    certificates.save_type(
        uow, system, code="rohs", name="RoHS/REACH declaration", name_zh="RoHS/REACH 声明",
        expiry_required=False, review_required=False,
    )  # fmt: skip
    compliance.add_requirement(uow, system, certificate_type_id=iso.id, scope="all")
    compliance.add_requirement(uow, system, certificate_type_id=sterilisation.id, scope="category", category="sterile_barrier")

    tenant_id, today = uow.tenant_id, date.today()
    quality = tenants.actor_in(uow, users["quality@demo.example"], tenant_id)
    for email, kind, number, body, expires_in, sites in (
        ("sales@acme-polymers.example", iso, "DE-Q5-2023-0412", "TÜV SÜD Product Service", 30, ()),
        ("qa@shenzhen-sterile.example", iso, "CN-13485-88121", "SGS-CSTC", 7, (sterile_site.id,)),
        ("qa@shenzhen-sterile.example", sterilisation, "EO-VAL-2024-07", "SGS-CSTC", -10, (sterile_site.id,)),
    ):
        uploader = tenants.actor_in(uow, users[email], tenant_id)
        uow.switch_tenant(tenant_id, uploader)
        cert = certificates.upload(
            uow,
            uploader,
            vault=vault,
            stream=io.BytesIO(_demo_pdf(f"{kind.name} {number}")),
            filename=f"{number}.pdf",
            certificate_type_id=kind.id,
            number=number,
            issuing_body=body,
            valid_from=today - timedelta(days=3 * 365),
            expires_on=today + timedelta(days=expires_in),
            site_ids=sites,
            today=min(today, today + timedelta(days=expires_in)),  # the expired one was current when uploaded
        )
        uow.switch_tenant(tenant_id, quality)
        certificates.review(
            uow, quality, certificate_id=cert.id, approve=True, reason=None, password=DEMO_PASSWORD,
            settings=settings, cipher=FieldCipher.from_settings(settings),
        )  # fmt: skip
    uow.switch_tenant(tenant_id, system)


def _demo_pdf(title: str) -> bytes:
    """A one-page PDF standing in for a scanned certificate."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _seed_demo2(uow, users) -> None:
    tenants.create_tenant(uow, slug="demo2", name="Second Cardio Ltd", name_zh="第二心血管有限公司")
    acme = tenants.create_supplier(uow, code="ACME", name="Acme Polymers GmbH", name_zh="艾克米聚合物", country="DE")
    tenants.add_membership(uow, user=users["buyer@demo2.example"], role="buyer")
    tenants.add_membership(uow, user=users["sales@acme-polymers.example"], role="supplier_admin", organisation=acme)
    item = Item(part_number="CB-77", name="Catheter balloon", name_zh="导管球囊", category="component", uom="EA")
    uow.add(item)
    uow.flush()
    _first_revisions(uow, [item])
    _purchase_order(uow, acme, [(item, Decimal("800"), Decimal("12.50"))], "USD", 1)


def _acknowledged_order(uow, supplier, site, lines) -> PurchaseOrder:
    """An order the supplier has accepted in full, shipping to `site`: ready for its ship
    notice (the supplier scans its labels into one, README's demo walk)."""
    po = _purchase_order(uow, supplier, lines, "CNY", 10)
    uow.execute(
        sa.update(PurchaseOrderLine)
        .where(PurchaseOrderLine.purchase_order_id == po.id)
        .values(status="accepted", ship_to_site_id=site.id)
    )
    po.status = "acknowledged"
    po.acknowledged_at = datetime.now(UTC) - timedelta(days=9)
    uow.flush()
    return po


def _first_revisions(uow, items) -> None:
    for item in items:
        uow.add(revisions.first_revision(Actor.system("demo"), item_id=item.id, revision=revisions.INITIAL_REVISION))
    uow.flush()


def _purchase_order(uow, supplier, lines, currency: str, days_ago: int) -> PurchaseOrder:
    today = date.today()
    po = PurchaseOrder(
        number=tenants.next_number(uow, name="PO", prefix="PO", year=today.year),
        supplier_id=supplier.id,
        status="issued",
        currency=currency,
        order_date=today - timedelta(days=days_ago),
        issued_at=datetime.now(UTC) - timedelta(days=days_ago),
    )
    uow.add(po)
    uow.flush()
    for n, (item, quantity, price) in enumerate(lines, start=1):
        uow.add(
            PurchaseOrderLine(
                purchase_order_id=po.id,
                supplier_id=supplier.id,
                line_no=n * 10,
                item_id=item.id,
                quantity=quantity,
                uom=item.uom,
                unit_price=price,
                requested_date=today + timedelta(days=21 + n * 7),
            )
        )
    uow.flush()
    return po
