"""Security events from the web layer (CSRF refusals, access refused by permission or
by tenant/supplier isolation, large exports) and the screen that lists them."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from babel.dates import format_datetime

from auth.models import SecurityEvent, User
from auth.permissions import require
from auth.security import record_security_event
from erp.items.models import Item
from kernel.models import NIL_TENANT_ID
from kernel.runtime import Runtime
from portal.admin.security import PAGE_SIZE
from portal.app import create_app
from portal.jobs import dispatcher
from portal.shell.lifecycle import request_uow
from tests.factories import PASSWORD
from tests.portal.support import login, text_of, token_in


def events(tx, tenant_id, kind, **where):
    with tx.uow(tenant_id=tenant_id) as uow:
        query = sa.select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)
        for name, value in where.items():
            query = query.where(getattr(SecurityEvent, name) == value)
        rows = list(uow.session.scalars(query))
        uow.session.expunge_all()
    return rows


def locale_of(tx, user) -> str | None:
    with tx.uow() as uow:
        return uow.scalar(sa.select(User.locale).where(User.id == user.id))


# --- CSRF ---------------------------------------------------------------------------------


def test_a_form_without_its_token_is_refused_changes_nothing_and_is_recorded(client, world, tx):
    buyer = world.users["buyer"]
    login(client, buyer)
    response = client.post("/language", data={"locale": "zh_Hans_CN", "next": "/buyer/"})
    assert response.status_code == 400
    assert "This form has expired or did not come from this site." in text_of(response)
    assert locale_of(tx, buyer) == "en"
    [event] = events(tx, world.tenant_id, "csrf_refused", user_id=buyer.id)
    assert event.severity == "warning" and event.email == buyer.email
    assert event.detail["endpoint"] == "shell.language" and event.detail["method"] == "POST"
    assert "token" in event.detail["reason"].lower()


def test_a_forged_token_is_refused_too(client, world, tx):
    login(client, world.users["buyer"])
    response = client.post("/language", data={"locale": "zh_Hans_CN", "csrf_token": "forged"})
    assert response.status_code == 400
    assert locale_of(tx, world.users["buyer"]) == "en"
    assert len(events(tx, world.tenant_id, "csrf_refused", user_id=world.users["buyer"].id)) == 1


def test_an_api_write_without_the_token_is_a_problem_and_an_event(client, world, tx):
    login(client, world.users["buyer"])
    response = client.post("/api/v1/items", json={"part_number": "CSRF-1", "name": "x", "category": "component", "uom": "EA"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Item).where(Item.part_number == "CSRF-1")) == 0
    assert events(tx, world.tenant_id, "csrf_refused", user_id=world.users["buyer"].id)


def test_an_anonymous_refusal_goes_to_the_platform(client, tx):
    response = client.post("/login", data={"email": "someone@example.test", "password": PASSWORD})
    assert response.status_code == 400
    assert [e.detail["endpoint"] for e in events(tx, NIL_TENANT_ID, "csrf_refused")][-1] == "auth.login"


# --- permission ------------------------------------------------------------------------------


def test_a_page_refused_by_permission_is_recorded(client, world, tx):
    viewer = world.users["viewer"]
    login(client, viewer)
    assert client.get("/admin/").status_code == 403
    [event] = events(tx, world.tenant_id, "permission_denied", user_id=viewer.id)
    assert event.detail["endpoint"] == "admin.members" and "users.manage" in event.detail["needs"]


def test_a_services_refusal_is_recorded_with_the_permission(app, client, world, tx):
    """A view that checks nothing itself: the service's Forbidden is what refuses."""

    def export_audit():
        from flask_login import current_user

        request_uow()
        require(current_user.actor, "audit.export")
        return "exported"

    app.add_url_rule("/test/export-audit", "test_export_audit", export_audit)
    login(client, world.users["buyer"])
    assert client.get("/test/export-audit").status_code == 403
    [event] = events(tx, world.tenant_id, "permission_denied", user_id=world.users["buyer"].id)
    assert event.detail["needs"] == ["audit.export"] and event.detail["endpoint"] == "test_export_audit"


# --- isolation ------------------------------------------------------------------------------


def test_switching_to_a_tenant_one_is_not_in_is_refused_and_recorded(client, world, other_world, tx):
    buyer = world.users["buyer"]
    login(client, buyer)
    token = token_in(client.get("/tenants").data)
    response = client.post("/tenants", data={"tenant_id": str(other_world.tenant_id), "csrf_token": token})
    assert response.status_code == 403
    with client.session_transaction() as session:
        assert session["tenant_id"] == str(world.tenant_id)
    [event] = events(tx, world.tenant_id, "isolation_denied", user_id=buyer.id)
    assert event.detail["value"] == str(other_world.tenant_id) and event.detail["where"] == "form"
    # Never written into the tenant named: that one is the caller's choice.
    assert events(tx, other_world.tenant_id, "isolation_denied", user_id=buyer.id) == []


@pytest.mark.parametrize("where", ["query", "json"])
def test_another_tenants_id_in_a_request_is_refused_and_recorded(client, world, other_world, tx, where):
    buyer = world.users["buyer"]
    login(client, buyer)
    if where == "query":
        response = client.get(f"/buyer/purchase-orders?tenant_id={other_world.tenant_id}")
    else:
        token = client.get("/api/v1/me").json["csrf_token"]
        body = {
            "tenant_id": str(other_world.tenant_id),
            "part_number": "ISO-1",
            "name": "x",
            "category": "component",
            "uom": "EA",
        }
        response = client.post("/api/v1/items", json=body, headers={"X-CSRFToken": token})
        assert response.mimetype == "application/problem+json"
    assert response.status_code == 403
    [event] = events(tx, world.tenant_id, "isolation_denied", user_id=buyer.id)
    assert event.detail["where"] == where and event.detail["field"] == "tenant_id"
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Item).where(Item.part_number == "ISO-1")) == 0


def test_the_own_tenant_id_passes(client, world):
    login(client, world.users["buyer"])
    assert client.get(f"/buyer/purchase-orders?tenant_id={world.tenant_id}").status_code == 200


def test_a_supplier_naming_another_supplier_is_refused_and_recorded(client, world, tx):
    supplier = world.users["supplier1"]
    login(client, supplier)
    other = world.suppliers[1].id
    assert client.get(f"/supplier/?supplier_id={other}").status_code == 403
    [event] = events(tx, world.tenant_id, "isolation_denied", user_id=supplier.id)
    assert event.detail["value"] == str(other) and event.detail["field"] == "supplier_id"
    assert client.get(f"/supplier/?supplier_id={world.suppliers[0].id}").status_code == 200


# --- exports ----------------------------------------------------------------------------------


def test_an_access_review_export_is_recorded_with_its_row_count(client, world, tx):
    admin = world.users["tenant_admin"]
    login(client, admin)
    response = client.get("/admin/members.csv")
    assert response.status_code == 200
    rows = len(response.get_data(as_text=True).strip().splitlines()) - 1
    [event] = events(tx, world.tenant_id, "bulk_export", user_id=admin.id)
    assert event.severity == "info" and event.detail["rows"] == rows and event.detail["what"] == "access_review"


def test_a_large_export_is_critical_and_emails_the_security_administrators(tx, world, settings, mailbox):
    strict = Runtime(
        settings=tx.settings.model_copy(update={"alert_export_rows": 3}), urls=tx.urls, engine=tx.engine, sessions=tx.sessions
    )
    client = create_app(settings, runtime=strict).test_client()
    admin = world.users["tenant_admin"]
    login(client, admin)
    assert client.get("/admin/members.csv").status_code == 200
    [event] = events(tx, world.tenant_id, "bulk_export", user_id=admin.id)
    assert event.severity == "critical"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        dispatcher(settings).deliver_pending(uow)
        uow.commit()
    [alert] = [m for m in mailbox if m["To"] == admin.email and "Large export" in m["Subject"]]
    assert "access_review" in alert.get_body(("plain",)).get_content()


# --- the screen -----------------------------------------------------------------------------


def seed(tx, world, kind="login_failed", n=1, **kw):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        for _ in range(n):
            record_security_event(uow, kind=kind, **kw)
        uow.commit()


def test_the_screen_lists_the_tenants_events_newest_first_in_the_viewers_time_zone(client, world, other_world, tx):
    admin = world.users["tenant_admin"]
    with tx.uow() as uow:
        uow.execute(sa.update(User).where(User.id == admin.id).values(timezone="Asia/Shanghai"))
        uow.commit()
    seed(
        tx, world, "account_locked", severity="critical", email="locked@example.test", detail={"minutes": 15, "previous_ip": None}
    )
    seed(tx, other_world, "account_locked", severity="critical", email="elsewhere@example.test")
    login(client, admin)
    page = text_of(client.get("/admin/security"))
    assert "Security events" in page and "locked@example.test" in page and "Account locked" in page
    assert "elsewhere@example.test" not in page
    assert 'class="badge badge-critical"' in page and "minutes:" in page
    assert "previous_ip" not in page  # an empty detail is left out, not shown as "None"
    [event] = events(tx, world.tenant_id, "account_locked", email="locked@example.test")
    shown = format_datetime(event.occurred_at, "medium", tzinfo=ZoneInfo("Asia/Shanghai"), locale="en")
    assert shown in page


def test_the_screen_filters_by_kind_and_pages(client, world, tx):
    seed(tx, world, "mfa_disabled", n=PAGE_SIZE + 1, email="pager@example.test")
    seed(tx, world, "role_changed", email="other-kind@example.test")
    login(client, world.users["tenant_admin"])
    first = text_of(client.get("/admin/security?kind=mfa_disabled"))
    assert first.count("pager@example.test") == PAGE_SIZE and "other-kind@example.test" not in first
    assert '<option value="mfa_disabled" selected>' in first and 'rel="next"' in first
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = text_of(client.get(older))
    assert second.count("pager@example.test") == 1 and 'rel="next"' not in second and "Newest" in second
    assert "other-kind@example.test" in text_of(client.get("/admin/security"))


def test_the_screen_has_an_empty_state_and_ignores_a_bad_cursor(client, world):
    login(client, world.users["tenant_admin"])
    page = text_of(client.get("/admin/security?kind=sso_configured"))
    assert "No events of this kind." in page
    assert client.get(f"/admin/security?before=not-a-cursor&kind={uuid.uuid4()}").status_code == 200


@pytest.mark.parametrize("who", ["viewer", "buyer", "supplier1"])
def test_the_screen_is_refused_to_those_without_security_view(client, world, tx, who):
    user = world.users[who]
    login(client, user)
    assert client.get("/admin/security").status_code == 403
    assert events(tx, world.tenant_id, "permission_denied", user_id=user.id)


# --- brute force on the sign-in page --------------------------------------------------------


def test_brute_force_on_the_sign_in_page_locks_the_account_and_alerts(client, world, tx, settings, mailbox):
    """Each refusal answers 401 (its unit of work would roll back): the counter, the
    lockout and the events are kept all the same."""
    victim = world.users["quality"]
    limit = tx.settings.login_max_failures
    for n in range(1, limit):
        response = login(client, victim, password=f"guess-{n}")
        assert response.status_code == 401 and "The email or password is not correct." in text_of(response)
    response = login(client, victim, password="guess-last")
    assert response.status_code == 401
    minutes = tx.settings.lockout_minutes
    assert f"Too many failed attempts. Try again in {minutes} minutes or reset your password." in text_of(response)
    # The right password is refused while the lock holds, with the same clear message.
    response = login(client, victim)
    assert response.status_code == 401 and "Too many failed attempts." in text_of(response)
    assert client.get("/buyer/").status_code == 302
    kinds = [e.kind for e in events(tx, world.tenant_id, "login_failed", user_id=victim.id)]
    assert len(kinds) == limit
    assert events(tx, world.tenant_id, "account_locked", user_id=victim.id)[0].severity == "critical"
    assert events(tx, world.tenant_id, "login_refused_locked", user_id=victim.id)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        dispatcher(settings).deliver_pending(uow)
        uow.commit()
    admin = world.users["tenant_admin"].email
    assert [m for m in mailbox if m["To"] == admin and "Account locked" in m["Subject"]]


def test_a_successful_sign_in_resets_the_failure_count(client, world, tx):
    user = world.users["warehouse"]
    login(client, user, password="wrong-once")
    login(client, user, password="wrong-twice")
    assert login(client, user).status_code == 302
    with tx.uow() as uow:
        assert uow.scalar(sa.select(User.failed_logins).where(User.id == user.id)) == 0
