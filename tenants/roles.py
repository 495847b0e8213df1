"""Default roles. The permission model proper comes with the identity issue; the shell
needs to know which side of the portal a membership belongs to."""

BUYER_SIDE = ("tenant_admin", "buyer", "quality", "warehouse", "viewer")
SUPPLIER_SIDE = ("supplier_admin", "supplier_user")
ROLES = BUYER_SIDE + SUPPLIER_SIDE


def is_supplier_role(role: str) -> bool:
    return role in SUPPLIER_SIDE
