"""Every model module, so alembic sees the whole schema (alembic check)."""

import audit.models
import auth.models
import documents.models
import erp.coldchain.models
import erp.inventory.models
import erp.items.models
import erp.purchasing.models
import erp.receiving.models
import erp.shipping.models
import erp.suppliers.models
import erp.traceability.models
import kernel.idempotency
import kernel.outbox
import scoring.aggregates
import scoring.mailing
import scoring.models
import tenants.models
from kernel.models import Base

metadata = Base.metadata

__all__ = ["audit", "auth", "documents", "erp", "kernel", "metadata", "scoring", "tenants"]
