"""Default roles. The permission model proper comes with the identity issue; the shell
needs to know which side of the portal a membership belongs to."""

from kernel.errors import N_

BUYER_SIDE = ("tenant_admin", "buyer", "quality", "warehouse", "viewer")
SUPPLIER_SIDE = ("supplier_admin", "supplier_user")
ROLES = BUYER_SIDE + SUPPLIER_SIDE

# Display names, translated where they are shown.
ROLE_LABELS = {
    "tenant_admin": N_("Tenant administrator"),
    "buyer": N_("Buyer"),
    "quality": N_("Quality engineer"),
    "warehouse": N_("Warehouse operator"),
    "viewer": N_("Viewer"),
    "supplier_admin": N_("Supplier administrator"),
    "supplier_user": N_("Supplier user"),
}


def is_supplier_role(role: str) -> bool:
    return role in SUPPLIER_SIDE
