"""Permissions in code and the default roles built from them.

Every service operation checks a permission with `require`, so the CLI and jobs cannot
skip what a view checks. Tenant-editable roles (identity issue) store sets of these
names; the defaults below are what a new tenant starts with.
"""

from __future__ import annotations

from kernel.errors import N_, Forbidden

PERMISSIONS: dict[str, str] = {
    "po.view": N_("View purchase orders"),
    "po.manage": N_("Create, issue and change purchase orders"),
    "po.confirm": N_("Confirm purchase order lines"),
    "asn.view": N_("View ship notices"),
    "asn.submit": N_("Submit ship notices"),
    "items.view": N_("View items"),
    "items.manage": N_("Create and change items"),
    "suppliers.view": N_("View suppliers"),
    "suppliers.manage": N_("Approve and change suppliers"),
    "cert.upload": N_("Upload certificates"),
    "cert.review": N_("Review certificates"),
    "receipt.scan": N_("Receive goods"),
    "inspection.record": N_("Record incoming inspections"),
    "lot.release": N_("Release, reject or hold lots"),
    "stock.view": N_("View stock"),
    "stock.move": N_("Move and consume stock"),
    "recall.run": N_("Run traces and recalls"),
    "recall.acknowledge": N_("Read and acknowledge recall notices"),
    "production.record": N_("Record production and customer shipments"),
    "coldchain.view": N_("View cold-chain records and alerts"),
    "coldchain.record": N_("Manage data loggers, readings and storage conditions"),
    "audit.view": N_("View the audit trail"),
    "audit.export": N_("Export the audit trail"),
    "users.manage": N_("Invite and manage users"),
    "suppliers.invite": N_("Invite supplier contacts"),
    "roles.manage": N_("Edit roles and the tenant's sign-in rules"),
    "sso.manage": N_("Configure single sign-on"),
    "api_clients.manage": N_("Manage API clients"),
    "security.view": N_("View security events"),
    "scorecard.view": N_("View supplier scorecards"),
    "scorecard.manage": N_("Set scorecard weights and grades, decide disputes"),
    "po.approve": N_("Issue orders to suppliers whose grade requires approval"),
}

# Which side of the portal may hold a permission: a supplier role never gets buyer
# powers (a supplier admin cannot grant them, and tenant-edited roles are checked).
SUPPLIER_PERMISSIONS = frozenset(
    {"po.view", "po.confirm", "asn.view", "asn.submit", "items.view", "cert.upload", "users.manage", "recall.acknowledge",
     "scorecard.view"}
)
BUYER_PERMISSIONS = frozenset(PERMISSIONS) - {"po.confirm", "asn.submit", "cert.upload", "recall.acknowledge"}

_BUYER_READ = {"po.view", "asn.view", "items.view", "suppliers.view", "scorecard.view"}
DEFAULT_ROLES: dict[str, frozenset[str]] = {
    "tenant_admin": BUYER_PERMISSIONS,
    "buyer": frozenset(_BUYER_READ | {"po.manage", "items.manage", "suppliers.manage", "suppliers.invite", "scorecard.manage"}),
    "quality": frozenset(
        _BUYER_READ
        | {"cert.review", "recall.run", "audit.view", "audit.export", "inspection.record", "lot.release", "stock.view"}
        | {"coldchain.view", "coldchain.record", "scorecard.manage"}
    ),
    "warehouse": frozenset(
        _BUYER_READ | {"receipt.scan", "stock.view", "stock.move", "production.record", "coldchain.view", "coldchain.record"}
    ),
    "viewer": frozenset(_BUYER_READ),
    "supplier_admin": SUPPLIER_PERMISSIONS,
    "supplier_user": SUPPLIER_PERMISSIONS - {"users.manage"},
}


def require(actor, permission: str) -> None:
    """Raise Forbidden unless the actor holds the permission (system actors hold all)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    if actor.kind == "system" or permission in actor.permissions:
        return
    raise Forbidden(permission=permission)  # named for the security event (portal.shell.security_log)


def require_any(actor, *permissions: str) -> None:
    """Raise Forbidden unless the actor holds one of the permissions (named: the first)."""
    if actor.kind == "system" or any(p in actor.permissions for p in permissions):
        return
    require(actor, permissions[0])
