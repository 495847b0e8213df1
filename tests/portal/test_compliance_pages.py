"""The compliance dashboard page and its CSV export: the four figures with their links,
the suppliers not compliant first, the month calendar and its navigation (a bad month
falls back to this one), the export in the user's language with a byte order mark and
its security event; supplier users are refused; another tenant's certificates never
show."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent
from erp.suppliers import compliance
from erp.suppliers import service as suppliers
from erp.suppliers.dashboard import add_months
from kernel.clock import utcnow
from tenants import service as tenants
from tests.factories import actor_in, make_item, make_tenant_world, make_user, unique
from tests.factories.documents import make_certificate, make_certificate_type
from tests.portal.support import login, text_of
from tests.portal.test_i18n import switch_language

PAGE = "/buyer/compliance"
EXPORT = "/buyer/compliance/export.csv"
_TILE = re.compile(r'stat-value">([\d,]+)</span>\s*<span class="stat-label">([^<]+)</span>')


def today():
    return utcnow().date()


def month_param(day) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def new_world(tx, slug: str):
    with tx.uow() as uow:
        world = make_tenant_world(uow, slug=unique(slug))
        uow.commit()
    with tx.uow() as uow:
        buyer = actor_in(uow, world, "buyer")
    return world, buyer


@pytest.fixture
def scene(tx):
    """Supplier 1 is compliant (its certificate expires today) and has one waiting for
    review; supplier 2's has expired; a third company supplies nothing a rule names. A
    certificate of supplier 1 expires in the middle of next month."""
    world, buyer = new_world(tx, "cdash")
    day = today()
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        iso = make_certificate_type(uow, name="ISO 13485", name_zh="ISO 13485 质量体系")
        ce = make_certificate_type(uow, name="CE certificate", name_zh="CE 证书")
        compliance.add_requirement(uow, buyer, certificate_type_id=iso.id, scope="category", category="component")
        item = make_item(uow, part_number=unique("CMP-"))
        suppliers.set_approval(uow, buyer, supplier_id=world.suppliers[0].id, item_id=item.id, status="approved", reason="Ok")
        compliance.add_requirement(uow, buyer, certificate_type_id=ce.id, scope="item", item_id=item.id)
        s1, s2 = world.suppliers
        for supplier in (s1, s2):
            suppliers.set_approval(uow, buyer, supplier_id=supplier.id, category="component", status="approved", reason="Ok")
        tenants.create_supplier(uow, code="S9", name="Zeta Lonely Ltd", name_zh="孤独有限公司")
        certs = {
            "today": make_certificate(uow, supplier=s1, type=iso, expires_on=day, number="ISO-TODAY"),
            "pending": make_certificate(uow, supplier=s1, type=ce, status="pending_review", number="CE-PENDING"),
            "expired": make_certificate(uow, supplier=s2, type=iso, expires_on=day - timedelta(days=5), number="ISO-GONE"),
            "next": make_certificate(
                uow, supplier=s1, type=ce, expires_on=add_months(day.replace(day=1), 1) + timedelta(days=14), number="=CE-NEXT"
            ),
        }
        uow.commit()
    return {"world": world, "buyer": buyer, "item": item, "certs": certs}


@pytest.fixture
def elsewhere(tx):
    """Another tenant with certificates expiring today, expired and pending."""
    world, buyer = new_world(tx, "celse")
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        kind = make_certificate_type(uow, name="Elsewhere type")
        compliance.add_requirement(uow, buyer, certificate_type_id=kind.id, scope="all")
        for supplier in world.suppliers:
            make_certificate(uow, supplier=supplier, type=kind, expires_on=today(), number=unique("ELSEWHERE-"))
            make_certificate(
                uow, supplier=supplier, type=kind, expires_on=today() - timedelta(days=3), number=unique("ELSEWHERE-")
            )
            make_certificate(uow, supplier=supplier, type=kind, status="pending_review", number=unique("ELSEWHERE-"))
        uow.commit()
    return world


def tiles(page: str) -> dict[str, int]:
    return {label.strip(): int(value.replace(",", "")) for value, label in _TILE.findall(page)}


def signed_in(app, world, who: str = "buyer"):
    client = app.test_client()
    login(client, world.users[who])
    return client


# --- the page ------------------------------------------------------------------------------------


def test_the_page_shows_the_figures_with_their_links_and_the_suppliers(app, scene, elsewhere):
    world = scene["world"]
    client = signed_in(app, world)
    response = client.get(PAGE)
    assert response.status_code == 200
    page = text_of(response)
    assert tiles(page) == {
        "Suppliers fully compliant": 2,
        "Suppliers with certificates expiring this month": 1,
        "Suppliers with expired certificates": 1,
        "Certificates waiting for review": 1,
    }
    assert "Suppliers in all: 3" in page and "No requirements apply: 1" in page
    assert "Expired certificates: 1" in page and "From suppliers: 1" in page
    assert 'href="/buyer/certificates?status=pending_review"' in page
    assert 'href="/buyer/certificates?state=expired"' in page
    s1, s2 = world.suppliers
    # Not compliant first, then by name; each links to its supplier page.
    assert page.index(s2.name) < page.index(s1.name) < page.index("Zeta Lonely Ltd")
    assert f'href="/suppliers/{s2.id}"' in page
    assert "Not compliant" in page and "No requirements apply</span>" in page
    assert 'href="/buyer/compliance/export.csv"' in page
    assert "ELSEWHERE-" not in page


def test_the_nav_and_the_home_page_link_to_the_dashboard(app, world):
    client = signed_in(app, world)
    home = text_of(client.get("/buyer/"))
    assert home.count('href="/buyer/compliance"') == 2  # the nav and the home page's link
    assert '<a href="/buyer/compliance" aria-current="page">' in text_of(client.get(PAGE))


def test_the_calendar_shows_this_month_and_moves_by_month(app, scene):
    client = signed_in(app, scene["world"])
    this_month = today().replace(day=1)
    later = add_months(this_month, 1)
    page = text_of(client.get(PAGE))
    grid = page[page.index('<table class="calendar">') :]
    grid = grid[: grid.index("</table>")]
    assert '<td class="has-expiry today" aria-current="date">' in grid
    assert "ISO-TODAY" in grid and "Expires today" in grid and "=CE-NEXT" not in grid
    assert "ISO-GONE" in grid or today().day <= 5  # expired this month, before today: still on the grid
    assert "CE-PENDING" not in page  # not approved: no expiry to show
    assert "=CE-NEXT" in page  # next month, listed under the grid
    assert f'href="/buyer/compliance?month={month_param(add_months(this_month, -1))}#calendar"' in page
    assert f'href="/buyer/compliance?month={month_param(later)}#calendar"' in page
    assert "This month</a>" not in page

    page = text_of(client.get(f"{PAGE}?month={month_param(later)}"))
    grid = page[page.index('<table class="calendar">') : page.index("</table>", page.index('<table class="calendar">'))]
    assert f"<caption>{later.strftime('%B %Y')}</caption>" in grid
    assert "=CE-NEXT" in grid and "ISO-TODAY" not in page
    assert f'<time class="day" datetime="{(later + timedelta(days=14)).isoformat()}">' in grid
    assert f'href="/buyer/compliance?month={month_param(this_month)}#calendar"' in page  # back, and "This month"
    assert "This month</a>" in page

    page = text_of(client.get(f"{PAGE}?month={month_param(add_months(this_month, 4))}"))
    assert "No approved certificate expires from" in page and "=CE-NEXT" not in page


@pytest.mark.parametrize("month", ["2027-13", "2027-1", "March", "1999-01", "9999-12", "2027-00"])
def test_a_bad_month_shows_this_month_with_a_message(app, scene, month):
    client = signed_in(app, scene["world"])
    response = client.get(f"{PAGE}?month={month}")
    assert response.status_code == 200
    page = text_of(response)
    assert "The month could not be read" in page
    assert f"<caption>{today().strftime('%B %Y')}</caption>" in page and "ISO-TODAY" in page


def test_the_page_is_in_chinese_with_the_chinese_names(app, scene):
    client = signed_in(app, scene["world"])
    switch_language(client, "zh_Hans_CN", PAGE)
    page = text_of(client.get(PAGE))
    assert "孤独有限公司" in page and "ISO 13485 质量体系" in page
    assert f"<caption>{today().year}年{today().month}月</caption>" in page


def test_a_tenant_without_suppliers_sees_the_empty_states(app, tx):
    with tx.uow() as uow:
        tenant = tenants.create_tenant(uow, slug=unique("nosup"), name="No Suppliers Co")
        user = make_user(uow)
        uow.switch_tenant(tenant.id)
        tenants.add_membership(uow, user=user, role="viewer")
        uow.commit()
    client = app.test_client()
    login(client, user)
    page = text_of(client.get(PAGE))
    assert "No suppliers yet." in page and "No approved certificate expires from" in page
    assert 'class="stats' not in page


# --- the export ----------------------------------------------------------------------------------


def rows_of(response) -> list[list[str]]:
    data = response.data
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_export_has_one_row_per_site_obligation_and_is_recorded(app, tx, scene, elsewhere):
    world = scene["world"]
    client = signed_in(app, world)
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header == [
        "Supplier code",
        "Supplier name",
        "Site",
        "Certificate type",
        "Part number",
        "Certificate state",
        "Certificate number",
        "Expires on",
        "Days left",
    ]
    part = scene["item"].part_number
    day = today()
    next_day = scene["certs"]["next"].expires_on
    s1, s2 = (s.name for s in world.suppliers)
    assert sorted(rows) == [
        # The approved CE certificate of next month answers before the pending one; its
        # number starts like a formula, so it is written as text.
        ["S1", s1, "Site 1", "CE certificate", part, "Expiring", "'=CE-NEXT", next_day.isoformat(), str((next_day - day).days)],
        ["S1", s1, "Site 1", "ISO 13485", "", "Expiring", "ISO-TODAY", day.isoformat(), "0"],
        # Supplier 2 supplies the item's category: the item's rule applies to it too.
        ["S2", s2, "Site 2", "CE certificate", part, "Missing", "", "", ""],
        ["S2", s2, "Site 2", "ISO 13485", "", "Expired", "ISO-GONE", (day - timedelta(days=5)).isoformat(), "-5"],
    ]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        [event] = uow.session.scalars(
            sa.select(SecurityEvent).where(SecurityEvent.kind == "bulk_export", SecurityEvent.user_id == world.users["buyer"].id)
        ).all()
        assert (event.severity, event.detail["what"], event.detail["rows"]) == ("info", "compliance", 4)
    assert "ELSEWHERE-" not in response.data.decode("utf-8-sig")


def test_the_export_is_in_the_users_language(app, scene):
    client = signed_in(app, scene["world"])
    switch_language(client, "zh_Hans_CN", PAGE)
    header, *rows = rows_of(client.get(EXPORT))
    assert header[0] == "供应商代码" and header[2] == "场地" and header[4] == "物料编号"
    expired = next(r for r in rows if r[6] == "ISO-GONE")
    assert expired[3] == "ISO 13485 质量体系" and expired[5] == "已过期"


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PAGE, EXPORT, f"{PAGE}?month=2027-01"])
def test_supplier_users_are_refused(app, scene, path):
    client = signed_in(app, scene["world"], "supplier1")
    assert client.get(path).status_code == 403
    assert 'href="/buyer/compliance"' not in text_of(client.get("/supplier/"))
