"""Every route, as every built-in role, against the role matrix.

How the matrix and the routes are kept in step:

- A route declares what it needs in one place, `permission_required(*permissions, side=...)`
  (portal/shell/identity.py). The decorator enforces it and keeps it on the view
  (`view.requirement`); `endpoint_requirements(app)` lists every declaration.
- The role matrix screen (/admin/roles) reads the permission list in code
  (auth.permissions.PERMISSIONS) and the tenant's roles (the `role` table); nothing else.
- This test walks `app.url_map` - every rule there is, so a new route is walked without
  anyone adding it here - signs in as each built-in role, and expects exactly what the
  declaration and the tenant's role rows say: allowed (2xx/3xx) when the role is on the
  declared side and holds one of the declared permissions, 403 otherwise. Write routes
  are posted by every role the matrix refuses: 403, and nothing in the audit trail.
- A route with no declaration fails the test unless it is in PUBLIC below, with the
  reason it needs no permission; one declared with no permission (any member) fails
  unless it is in ANY_MEMBER, with its reason. So a new route without a permission
  cannot slip through, and the services' own `require` checks stay the second line.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent
from auth.roles import BUILTIN_ROLES, list_roles
from portal.shell.identity import Requirement, endpoint_requirements
from tenants import service as tenants
from tenants.models import Membership
from tests.factories import make_user
from tests.portal.support import login, text_of, token_in

# Endpoints that need no permission, and why.
PUBLIC = {
    "static": "stylesheets, scripts and images",
    "health.healthz": "liveness probe for the load balancer",
    "health.readyz": "readiness probe for the load balancer",
    "shell.index": "sends each person to the home page of their side (or the sign-in page)",
    "shell.tenants": "the tenant picker: before a tenant (and so a role) is chosen",
    "shell.switch_tenant": "switches only among the person's own memberships",
    "shell.language": "the language preference, before or after sign-in",
    "auth.login": "sign-in",
    "auth.logout": "sign-out",
    "auth.login_verify": "the second step of sign-in (second factor)",
    "auth.forgot_password": "password reset request: no sign-in yet",
    "auth.forgot_password_sent": "password reset request: no sign-in yet",
    "auth.reset_password": "password reset by the emailed single-use token",
    "auth.invitation": "accepting an invitation by its emailed single-use token",
    "auth.sso_choose": "single sign-on: no sign-in yet",
    "auth.sso_start": "single sign-on: no sign-in yet",
    "auth.sso_callback": "single sign-on: the provider's answer",
    "api.me": "the signed-in person and their memberships, also before a tenant is chosen",
    "api.openapi": "the API's description, public like any API reference",
    "api.token": "OAuth2 client credentials: the client authenticates itself with its secret",
}
# Endpoints any member may use (declared with no permission), and why. "blueprint.*"
# covers a whole blueprint.
ANY_MEMBER = {
    "home.buyer": "the buyer side's landing page; its sections follow the member's permissions",
    "home.supplier": "the supplier side's landing page; its sections follow the member's permissions",
    "auth.change_password": "a person's own password",
    "account.*": "a person's own account: profile, second factor, sessions",
}

# What each route declares (any one of the permissions; the side, None for either), as
# reviewed. The walk below checks that the app enforces each declaration for every role;
# this table makes a change to a declaration a visible change to this file, so a route
# given a wrong or looser permission does not pass unnoticed.
DECLARED = {
    "account.index": (set(), None),
    "account.mfa": (set(), None),
    "account.mfa_confirm": (set(), None),
    "account.mfa_disable": (set(), None),
    "account.mfa_qr": (set(), None),
    "account.mfa_recovery_codes": (set(), None),
    "account.mfa_restart": (set(), None),
    "account.revoke_all_sessions": (set(), None),
    "account.revoke_session": (set(), None),
    "account.sessions": (set(), None),
    "admin.api_clients": ({"api_clients.manage"}, "buyer"),
    "admin.change_role": ({"users.manage"}, None),
    "admin.company_members": ({"users.manage"}, "supplier"),
    "admin.delete_role": ({"roles.manage"}, None),
    "admin.edit_role": ({"roles.manage"}, None),
    "admin.invitations": ({"suppliers.invite", "users.manage"}, None),
    "admin.invite": ({"suppliers.invite", "users.manage"}, None),
    "admin.invite_supplier": ({"suppliers.manage"}, "buyer"),
    "admin.members": ({"users.manage"}, "buyer"),
    "admin.members_csv": ({"users.manage"}, "buyer"),
    "admin.new_api_client": ({"api_clients.manage"}, "buyer"),
    "admin.new_role": ({"roles.manage"}, None),
    "admin.revoke": ({"users.manage"}, None),
    "admin.revoke_api_client": ({"api_clients.manage"}, "buyer"),
    "admin.revoke_invitation": ({"suppliers.invite", "users.manage"}, None),
    "admin.roles": ({"roles.manage", "users.manage"}, None),
    "admin.rotate_api_client": ({"api_clients.manage"}, "buyer"),
    "admin.security_events": ({"security.view"}, "buyer"),
    "admin.security_settings": ({"roles.manage"}, "buyer"),
    "admin.sso": ({"sso.manage"}, "buyer"),
    "api.add_supplier_contact": ({"suppliers.manage"}, None),
    "api.asn": ({"asn.view", "asn.submit"}, None),
    "api.asn_from_purchase_orders": ({"asn.submit"}, None),
    "api.asn_list": ({"asn.view", "asn.submit"}, None),
    "api.asn_readings": ({"coldchain.view"}, None),
    "api.bind_logger": ({"coldchain.record"}, None),
    "api.cancel_asn": ({"asn.submit"}, None),
    "api.cold_chain_alerts": ({"coldchain.view"}, None),
    "api.create_asn": ({"asn.submit"}, None),
    "api.create_customer_shipment": ({"production.record"}, None),
    "api.create_item": ({"items.manage"}, None),
    "api.create_production_run": ({"production.record"}, None),
    "api.create_purchase_order": ({"po.manage"}, None),
    "api.customer": ({"production.record", "recall.run"}, None),
    "api.customer_list": ({"production.record", "recall.run"}, None),
    "api.customer_shipment": ({"production.record", "recall.run"}, None),
    "api.customer_shipment_list": ({"production.record", "recall.run"}, None),
    "api.decide_on_response": ({"po.manage"}, None),
    "api.epcis_capture": ({"production.record"}, None),
    "api.epcis_events": ({"recall.run"}, None),
    "api.import_asn": ({"asn.submit"}, None),
    "api.issue_purchase_order": ({"po.manage"}, None),
    "api.item": ({"items.view"}, None),
    "api.lot_readings": ({"coldchain.view"}, None),
    "api.parse_gs1": ({"items.view", "asn.view", "asn.submit", "receipt.scan"}, None),
    "api.post_purchase_order_message": ({"po.confirm", "po.manage"}, None),
    "api.production_run": ({"production.record", "recall.run"}, None),
    "api.production_run_list": ({"production.record", "recall.run"}, None),
    "api.purchase_order": ({"po.view"}, None),
    "api.purchase_order_attachment": ({"po.view"}, None),
    "api.purchase_order_detail": ({"po.view"}, None),
    "api.purchase_order_messages": ({"po.view"}, None),
    "api.purchase_order_revisions": ({"po.view"}, None),
    "api.purchase_orders": ({"po.view"}, None),
    "api.respond_to_purchase_order": ({"po.confirm"}, None),
    "api.revise_purchase_order": ({"po.manage"}, None),
    "api.run_trace": ({"recall.run"}, None),
    "api.scorecard_detail": ({"scorecard.view"}, None),
    "api.scorecard_list": ({"scorecard.view"}, None),
    "api.send_readings": ({"coldchain.record"}, None),
    "api.set_supplier_approval": ({"suppliers.manage"}, None),
    "api.submit_asn": ({"asn.submit"}, None),
    "api.supplier_approvals": ({"suppliers.view"}, None),
    "api.supplier_contacts": ({"suppliers.view"}, None),
    "api.trace_snapshot": ({"recall.run"}, None),
    "api.traces": ({"recall.run"}, None),
    "api.update_asn": ({"asn.submit"}, None),
    "api.update_item": ({"items.manage"}, None),
    "api.upsert_customer": ({"production.record"}, None),
    "auth.change_password": (set(), None),
    "coldchain.acknowledge_alert": ({"coldchain.record"}, "buyer"),
    "coldchain.alert": ({"coldchain.view"}, "buyer"),
    "coldchain.alerts": ({"coldchain.view"}, "buyer"),
    "coldchain.bind": ({"coldchain.record"}, "buyer"),
    "coldchain.binding_chart": ({"coldchain.view"}, "buyer"),
    "coldchain.conditions": ({"coldchain.view"}, "buyer"),
    "coldchain.end_binding": ({"coldchain.record"}, "buyer"),
    "coldchain.logger": ({"coldchain.view"}, "buyer"),
    "coldchain.loggers": ({"coldchain.view"}, "buyer"),
    "coldchain.lot": ({"coldchain.view"}, "buyer"),
    "coldchain.lot_chart": ({"coldchain.view"}, "buyer"),
    "coldchain.shipment": ({"coldchain.view"}, "buyer"),
    "coldchain.shipment_chart": ({"coldchain.view"}, "buyer"),
    "coldchain.upload": ({"coldchain.record"}, "buyer"),
    "documents.add_requirement": ({"suppliers.manage"}, "buyer"),
    "documents.buyer_certificate": ({"cert.review", "suppliers.view"}, "buyer"),
    "documents.certificate": ({"cert.review", "cert.upload", "suppliers.view"}, None),
    "documents.certificate_file": ({"cert.review", "cert.upload", "suppliers.view"}, None),
    "documents.certificate_type": ({"cert.review"}, "buyer"),
    "documents.certificate_types": ({"cert.review", "suppliers.view"}, "buyer"),
    "documents.compliance": ({"suppliers.view"}, "buyer"),
    "documents.create_certificate_type": ({"cert.review"}, "buyer"),
    "documents.export_compliance": ({"suppliers.view"}, "buyer"),
    "documents.remove_requirement": ({"suppliers.manage"}, "buyer"),
    "documents.renew_certificate": ({"cert.upload"}, "supplier"),
    "documents.requirements": ({"suppliers.view"}, "buyer"),
    "documents.review_certificate": ({"cert.review"}, "buyer"),
    "documents.review_queue": ({"cert.review", "suppliers.view"}, "buyer"),
    "documents.supplier_certificates": ({"cert.upload"}, "supplier"),
    "documents.upload_certificate": ({"cert.upload"}, "supplier"),
    "home.buyer": (set(), "buyer"),
    "home.supplier": (set(), "supplier"),
    "inventory.consume_stock": ({"stock.move"}, "buyer"),
    "inventory.decide_lot": ({"lot.release"}, "buyer"),
    "inventory.dispose_nonconformance": ({"lot.release"}, "buyer"),
    "inventory.inspection": ({"inspection.record"}, "buyer"),
    "inventory.inspection_plans": ({"inspection.record"}, "buyer"),
    "inventory.inspections_list": ({"inspection.record"}, "buyer"),
    "inventory.lot": ({"inspection.record", "lot.release", "stock.view"}, "buyer"),
    "inventory.move_stock": ({"stock.move"}, "buyer"),
    "inventory.nonconformance": ({"inspection.record", "lot.release", "stock.view"}, "buyer"),
    "inventory.nonconformances_list": ({"inspection.record", "lot.release", "stock.view"}, "buyer"),
    "inventory.stock_list": ({"stock.view"}, "buyer"),
    "items.add_revision": ({"items.manage"}, "buyer"),
    "items.cancel_revision": ({"items.manage"}, "buyer"),
    "items.edit_item": ({"items.manage"}, "buyer"),
    "items.export_csv": ({"items.view"}, "buyer"),
    "items.export_xlsx": ({"items.view"}, "buyer"),
    "items.import_errors": ({"items.manage"}, "buyer"),
    "items.import_items": ({"items.manage"}, "buyer"),
    "items.import_status": ({"items.manage"}, "buyer"),
    "items.item_detail": ({"items.view"}, "buyer"),
    "items.item_list": ({"items.view"}, "buyer"),
    "items.new_item": ({"items.manage"}, "buyer"),
    "purchasing.add_reason_code": ({"po.manage"}, "buyer"),
    "purchasing.create_purchase_order": ({"po.manage"}, "buyer"),
    "purchasing.decide": ({"po.manage"}, "buyer"),
    "purchasing.export_purchase_orders": ({"po.view"}, "buyer"),
    "purchasing.import_purchase_orders": ({"po.manage"}, "buyer"),
    "purchasing.issue": ({"po.manage"}, "buyer"),
    "purchasing.message_attachment": ({"po.view"}, None),
    "purchasing.new_purchase_order": ({"po.manage"}, "buyer"),
    "purchasing.post_message": ({"po.confirm", "po.manage"}, None),
    "purchasing.purchase_order": ({"po.view"}, None),
    "purchasing.purchase_order_pdf": ({"po.view"}, None),
    "purchasing.purchase_orders": ({"po.view"}, "buyer"),
    "purchasing.purchasing_settings": ({"po.manage"}, "buyer"),
    "purchasing.reason_codes": ({"po.manage"}, "buyer"),
    "purchasing.respond": ({"po.confirm"}, "supplier"),
    "purchasing.restore_reason_code": ({"po.manage"}, "buyer"),
    "purchasing.retire_reason_code": ({"po.manage"}, "buyer"),
    "purchasing.revise": ({"po.manage"}, "buyer"),
    "purchasing.supplier_export_purchase_orders": ({"po.view"}, "supplier"),
    "purchasing.supplier_purchase_orders": ({"po.view"}, "supplier"),
    "receiving.close": ({"receipt.scan"}, "buyer"),
    "receiving.index": ({"receipt.scan"}, "buyer"),
    "receiving.receipt": ({"receipt.scan"}, "buyer"),
    "receiving.receive_item": ({"receipt.scan"}, "buyer"),
    "receiving.record_damage": ({"receipt.scan"}, "buyer"),
    "receiving.record_seal": ({"receipt.scan"}, "buyer"),
    "receiving.scan": ({"receipt.scan"}, "buyer"),
    "receiving.start": ({"receipt.scan"}, "buyer"),
    "scoring.dashboard": ({"scorecard.view"}, "buyer"),
    "scoring.dashboard_chart": ({"scorecard.view"}, "buyer"),
    "scoring.dashboard_list": ({"scorecard.view"}, "buyer"),
    "scoring.dispute_decide": ({"scorecard.manage"}, "buyer"),
    "scoring.dispute_queue": ({"scorecard.manage"}, "buyer"),
    "scoring.scorecard_detail": ({"scorecard.view"}, "buyer"),
    "scoring.scorecard_evidence": ({"scorecard.view"}, "buyer"),
    "scoring.scorecard_list": ({"scorecard.view"}, "buyer"),
    "scoring.scorecard_pdf": ({"scorecard.view"}, None),
    "scoring.scorecard_recompute": ({"scorecard.manage"}, "buyer"),
    "scoring.scorecard_settings": ({"scorecard.manage"}, "buyer"),
    "scoring.scorecard_sign": ({"scorecard.manage"}, "buyer"),
    "scoring.scorecard_trend_chart": ({"scorecard.view"}, None),
    "scoring.scorecard_trends": ({"scorecard.view"}, None),
    "scoring.supplier_dispute": ({"scorecard.view"}, "supplier"),
    "scoring.supplier_disputes": ({"scorecard.view"}, "supplier"),
    "scoring.supplier_evidence": ({"scorecard.view"}, "supplier"),
    "scoring.supplier_scorecard": ({"scorecard.view"}, "supplier"),
    "shipping.asn": ({"asn.view", "asn.submit"}, None),
    "shipping.asn_template": ({"asn.submit"}, "supplier"),
    "shipping.attach_lot_document": ({"asn.submit"}, "supplier"),
    "shipping.cancel_asn": ({"asn.submit"}, "supplier"),
    "shipping.close_asn": ({"po.manage"}, "buyer"),
    "shipping.create_asn": ({"asn.submit"}, "supplier"),
    "shipping.edit_asn": ({"asn.submit"}, "supplier"),
    "shipping.import_asn": ({"asn.submit"}, "supplier"),
    "shipping.import_asn_form": ({"asn.submit"}, "supplier"),
    "shipping.incoming_asns": ({"asn.view"}, "buyer"),
    "shipping.labels_pdf": ({"asn.view", "asn.submit"}, None),
    "shipping.lot_document": ({"asn.view", "asn.submit"}, None),
    "shipping.new_asn": ({"asn.submit"}, "supplier"),
    "shipping.submit_asn": ({"asn.submit"}, "supplier"),
    "shipping.supplier_asns": ({"asn.submit", "asn.view"}, "supplier"),
    "shipping.symbol": ({"asn.view", "asn.submit"}, None),
    "shipping.update_asn": ({"asn.submit"}, "supplier"),
    "suppliers.add_contact": ({"suppliers.manage"}, "buyer"),
    "suppliers.set_approval": ({"suppliers.manage"}, "buyer"),
    "suppliers.supplier_detail": ({"suppliers.view"}, "buyer"),
    "suppliers.supplier_list": ({"suppliers.view"}, "buyer"),
    "traceability.acknowledge_notice": ({"recall.acknowledge"}, "supplier"),
    "traceability.add_note": ({"recall.run"}, "buyer"),
    "traceability.add_scope": ({"recall.run"}, "buyer"),
    "traceability.close_recall": ({"recall.run"}, "buyer"),
    "traceability.customer_detail": ({"production.record", "recall.run"}, "buyer"),
    "traceability.customer_list": ({"production.record", "recall.run"}, "buyer"),
    "traceability.customer_new": ({"production.record"}, "buyer"),
    "traceability.hold_stock": ({"recall.run"}, "buyer"),
    "traceability.mark_located": ({"recall.run"}, "buyer"),
    "traceability.new_recall": ({"recall.run"}, "buyer"),
    "traceability.notify_customers": ({"recall.run"}, "buyer"),
    "traceability.notify_suppliers": ({"recall.run"}, "buyer"),
    "traceability.production_detail": ({"production.record", "recall.run"}, "buyer"),
    "traceability.production_import": ({"production.record"}, "buyer"),
    "traceability.production_list": ({"production.record", "recall.run"}, "buyer"),
    "traceability.production_new": ({"production.record"}, "buyer"),
    "traceability.production_template": ({"production.record"}, "buyer"),
    "traceability.recall": ({"recall.run"}, "buyer"),
    "traceability.recall_report_pdf": ({"recall.run"}, "buyer"),
    "traceability.recall_timer": ({"recall.run"}, "buyer"),
    "traceability.recalls_list": ({"recall.run"}, "buyer"),
    "traceability.record_destruction": ({"recall.run"}, "buyer"),
    "traceability.record_return": ({"recall.run"}, "buyer"),
    "traceability.remove_scope": ({"recall.run"}, "buyer"),
    "traceability.shipment_detail": ({"production.record", "recall.run"}, "buyer"),
    "traceability.shipment_import": ({"production.record"}, "buyer"),
    "traceability.shipment_list": ({"production.record", "recall.run"}, "buyer"),
    "traceability.shipment_new": ({"production.record"}, "buyer"),
    "traceability.shipment_template": ({"production.record"}, "buyer"),
    "traceability.supplier_notice": ({"recall.acknowledge"}, "supplier"),
    "traceability.supplier_notices": ({"recall.acknowledge"}, "supplier"),
    "traceability.trace_csv": ({"recall.run"}, "buyer"),
    "traceability.trace_index": ({"recall.run"}, "buyer"),
    "traceability.trace_pdf": ({"recall.run"}, "buyer"),
    "traceability.trace_run": ({"recall.run"}, "buyer"),
    "traceability.trace_snapshot": ({"recall.run"}, "buyer"),
    "traceability.trace_xlsx": ({"recall.run"}, "buyer"),
}

# A supplier user (the second supplier role), in supplier 1's company.
SUPPLIER_USER = "supplier_user"
WHO = {role: role for role in BUILTIN_ROLES} | {"supplier_admin": "supplier1"}


def any_member(endpoint: str) -> bool:
    return endpoint in ANY_MEMBER or f"{endpoint.split('.')[0]}.*" in ANY_MEMBER


@pytest.fixture
def people(tx, world):
    """world.users plus a supplier user; the tenant's roles as the matrix has them."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow)
        tenants.add_membership(uow, user=user, role="supplier_user", organisation=world.suppliers[0])
        roles = {role.key: role for role in list_roles(uow)}
        memberships = {
            m.user_id: m.id for m in uow.session.scalars(sa.select(Membership).where(Membership.tenant_id == world.tenant_id))
        }
        uow.commit()
    users = dict(world.users) | {SUPPLIER_USER: user}
    return users, roles, memberships


class Walk:
    """URLs for a rule, with real ids from the world where there are any."""

    def __init__(self, world, users, memberships, who: str) -> None:
        # Another member of the walker's own side and company (never themselves).
        target = {"supplier1": SUPPLIER_USER, SUPPLIER_USER: "supplier1", "viewer": "warehouse"}.get(who, "viewer")
        self.values = {
            "membership_id": memberships[users[target].id],
            "key": "supplier_user" if who in ("supplier1", SUPPLIER_USER) else "viewer",
            "po_id": world.purchase_orders[0].id,
            "tenant_slug": world.slug,
            "filename": "css/app.css",
        }
        self.placeholder = False

    def url(self, rule) -> str:
        self.placeholder = False
        values = {}
        for name in rule.arguments:
            if name in self.values:
                values[name] = self.values[name]
            else:
                # A parameter this walk does not know: a value of the right shape. The
                # permission is checked before the object is looked up, so the refusal
                # is the same; an allowed request may then find nothing (404).
                self.placeholder = True
                values[name] = uuid.uuid4() if type(rule._converters[name]).__name__ == "UUIDConverter" else "x"
        return rule.build(values, append_unknown=False)[1]


def requirement_of(app, endpoint: str) -> Requirement | None:
    return endpoint_requirements(app).get(endpoint)


def test_every_route_declares_a_permission_or_is_allow_listed(app):
    declared = endpoint_requirements(app)
    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(declared) - set(PUBLIC))
    assert not missing, f"routes with no permission_required(...) and no entry in PUBLIC: {missing}"
    unexplained = sorted(e for e, r in declared.items() if not r.permissions and not any_member(e))
    assert not unexplained, f"routes open to any member, not listed in ANY_MEMBER: {unexplained}"
    both = sorted(set(declared) & set(PUBLIC))
    assert not both, f"routes in PUBLIC that declare a permission (take them out of PUBLIC): {both}"


def test_the_declarations_are_the_reviewed_ones(app):
    declared = {e: (set(r.permissions), r.side) for e, r in endpoint_requirements(app).items()}
    assert declared == DECLARED


def test_the_allow_lists_name_real_routes(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    blueprints = {e.split(".")[0] for e in endpoints}
    assert not {e for e in ANY_MEMBER if not e.endswith(".*") and e not in endpoints}
    assert {e[:-2] for e in ANY_MEMBER if e.endswith(".*")} <= blueprints | {"account"}


def gets(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" in rule.methods and rule.endpoint in endpoint_requirements(app):
            yield rule


def posts(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            if rule.endpoint in endpoint_requirements(app):
                yield rule, method


def allowed_for(requirement: Requirement, role) -> bool:
    return requirement.allows(frozenset(role.permissions), is_supplier=role.side == "supplier")


@pytest.mark.parametrize("role_key", BUILTIN_ROLES)
def test_each_role_reaches_exactly_what_the_matrix_gives_it(app, client, world, people, role_key):
    users, roles, memberships = people
    role = roles[role_key]
    who = WHO[role_key]
    assert login(client, users[who]).status_code in (302, 303)
    walk = Walk(world, users, memberships, who)
    wrong = []
    for rule in gets(app):
        url = walk.url(rule)
        status = client.get(url).status_code
        if allowed_for(requirement_of(app, rule.endpoint), role):
            ok = (status != 403 and status < 500) if walk.placeholder else 200 <= status < 400
        else:
            ok = status == 403
        if not ok:
            expected = "allowed" if allowed_for(requirement_of(app, rule.endpoint), role) else "403"
            wrong.append(f"GET {url} ({rule.endpoint}): {status}, expected {expected}")
    assert not wrong, f"{role_key}:\n" + "\n".join(wrong)


def audit_mark(tx, tenant_id) -> int:
    with tx.uow(tenant_id=tenant_id) as uow:
        return uow.scalar(sa.text("select coalesce(max(id), 0) from audit.event where tenant_id = :t"), {"t": tenant_id})


def denials(tx, tenant_id) -> int:
    with tx.uow(tenant_id=tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(SecurityEvent).where(SecurityEvent.kind == "permission_denied"))


@pytest.mark.parametrize("role_key", BUILTIN_ROLES)
def test_writes_the_matrix_refuses_are_refused_and_change_nothing(app, client, tx, world, people, role_key):
    users, roles, memberships = people
    role = roles[role_key]
    who = WHO[role_key]
    login(client, users[who])
    token = token_in(client.get("/tenants").data)
    walk = Walk(world, users, memberships, who)
    refused = [(rule, method) for rule, method in posts(app) if not allowed_for(requirement_of(app, rule.endpoint), role)]
    before, denied_before = audit_mark(tx, world.tenant_id), denials(tx, world.tenant_id)
    wrong = []
    for rule, method in refused:
        url = walk.url(rule)
        if url.startswith("/api/"):
            response = client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
        else:
            response = client.open(url, method=method, data={"csrf_token": token})
        if response.status_code != 403:
            wrong.append(f"{method} {url} ({rule.endpoint}): {response.status_code}")
        elif url.startswith("/api/"):
            assert response.mimetype == "application/problem+json"
    assert not wrong, f"{role_key}:\n" + "\n".join(wrong)
    # Nothing changed (no audit event in the tenant), and each refusal left a security event.
    assert audit_mark(tx, world.tenant_id) == before
    assert denials(tx, world.tenant_id) - denied_before >= len(refused)


def test_a_refusal_names_the_missing_permission_in_the_pages_language(client, world):
    login(client, world.users["viewer"])
    page = client.get("/admin/members.csv")
    assert page.status_code == 403 and "Invite and manage users" in text_of(page)
    token = token_in(client.get("/tenants").data)
    problem = client.post("/api/v1/items", json={}, headers={"X-CSRFToken": token})
    assert problem.status_code == 403 and problem.mimetype == "application/problem+json"
    assert problem.json["type"] == "urn:traceport:problem:forbidden" and "Create and change items" in problem.json["detail"]
    client.post("/language", data={"locale": "zh_Hans_CN", "next": "/tenants", "csrf_token": token})
    page = client.get("/admin/members.csv")
    assert page.status_code == 403 and "无权访问" in text_of(page) and "邀请和管理用户" in text_of(page)


def test_an_edited_role_takes_effect_on_the_next_request(client, tx, world):
    from auth import roles as role_service
    from tests.factories import actor_in

    login(client, world.users["viewer"])
    assert client.get("/buyer/purchase-orders").status_code == 200
    assert client.get("/api/v1/purchase-orders").status_code == 200
    with tx.uow() as lookup:
        admin = actor_in(lookup, world, "tenant_admin")
    with tx.uow(tenant_id=world.tenant_id, actor=admin) as uow:
        role_service.update_role(uow, admin, key="viewer", permissions=["asn.view", "items.view", "suppliers.view"])
        uow.commit()
    assert client.get("/buyer/purchase-orders").status_code == 403
    assert client.get("/api/v1/purchase-orders").status_code == 403
    # The home page stays open to every member, without the orders.
    home = client.get("/buyer/")
    assert home.status_code == 200 and "no access to purchase orders" in home.get_data(as_text=True)
    assert 'href="/buyer/purchase-orders"' not in home.get_data(as_text=True)
