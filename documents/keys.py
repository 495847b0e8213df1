"""Tenant data keys: one AES-256 key encrypts a tenant's files; it is stored wrapped by
a master key (documents.crypto.MasterKeys) in `tenant_data_key`, insert-only.

New files use the tenant's newest key. When the newest key was wrapped by a master key
that is no longer the newest (ENCRYPTION_KEYS got a new key in front), a fresh data key
is made under the new master key, so new files stop depending on the old one; old files
keep their own key, which unwraps as long as its master key stays listed.

Two first uploads of a tenant at the same moment may each make a key: both are valid,
the newer serves the files after them.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from documents.crypto import new_data_key
from documents.models import TenantDataKey
from kernel.ids import new_id


def data_key_for_new_file(uow, vault) -> tuple[TenantDataKey, bytes]:
    """The tenant's current data key (row, plaintext key), made on first use."""
    if uow.tenant_id is None:
        raise RuntimeError("a data key needs a tenant in context")
    row = uow.session.scalars(
        sa.select(TenantDataKey).order_by(TenantDataKey.created_at.desc(), TenantDataKey.id.desc()).limit(1)
    ).first()
    if row is None or row.master_key_id != vault.master_keys.current_id:
        key = new_data_key()
        wrapped, master_key_id = vault.master_keys.wrap(key)
        row = TenantDataKey(id=new_id(), tenant_id=uow.tenant_id, wrapped_key=wrapped, master_key_id=master_key_id)
        uow.add(row)
        uow.flush()
        return row, key
    return row, vault.master_keys.unwrap(row.wrapped_key, row.master_key_id)


def data_key(uow, vault, data_key_id: uuid.UUID) -> bytes:
    """The plaintext data key a stored file names (KeyUnavailable if its master key is gone)."""
    row = uow.session.get(TenantDataKey, (uow.tenant_id, data_key_id))
    if row is None:
        raise LookupError(f"data key {data_key_id} is not visible")
    return vault.master_keys.unwrap(row.wrapped_key, row.master_key_id)
