"""Transport alerts: a shipment late (its ASN submitted or in transit and the expected
arrival passed) and a seal number on arrival that is not the one the ASN gave.

Late shipments are looked for among those that concern the cold chain: an ASN a logger
is bound to, or one carrying an item with storage conditions. Both alerts are raised
once (per ASN, per receipt) and mailed; they hold nothing (see erp.coldchain.alerts).
"""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from auth.permissions import require_any
from erp.coldchain import alerts as alerting
from erp.coldchain.models import LoggerBinding, StorageCondition
from erp.inventory import service as inventory
from erp.receiving.errors import ReceiptNotFound
from erp.receiving.models import Receipt
from erp.shipping.models import Asn, AsnLine
from kernel.errors import Forbidden, ValidationFailed, checked_text

IN_TRANSIT = ("submitted", "in_transit")
MAX_SEAL = 40


def check_delayed(uow, actor, *, today: date) -> int:
    """Alert each late cold-chain shipment of the tenant in context once; the number raised."""
    cold = sa.or_(
        sa.exists().where(LoggerBinding.asn_id == Asn.id),
        sa.exists().where(AsnLine.asn_id == Asn.id, AsnLine.item_id.in_(sa.select(StorageCondition.item_id))),
    )
    late = list(
        uow.session.scalars(
            sa.select(Asn).where(Asn.status.in_(IN_TRANSIT), Asn.expected_arrival < today, cold).order_by(Asn.expected_arrival)
        )
    )
    raised = 0
    for asn in late:
        lots = _lots_of_asn(uow, asn.id)
        alert = alerting.raise_alert(
            uow,
            actor,
            alerting.Raise(
                kind="delayed",
                asn_id=asn.id,
                minutes=None,
                lot_ids=tuple(lots),
                evidence={
                    "target": asn.number,
                    "expected_arrival": asn.expected_arrival.isoformat(),
                    "days_late": (today - asn.expected_arrival).days,
                    "status": asn.status,
                    "carrier": asn.carrier,
                    "tracking_number": asn.tracking_number,
                    "detail": f"{asn.number}: expected {asn.expected_arrival.isoformat()}, {asn.status}",
                    "lots": sorted(lot.number for lot in inventory.lots_by_id(uow, ids=lots).values()),
                },
            ),
        )
        raised += alert is not None
    return raised


def _lots_of_asn(uow, asn_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        dict.fromkeys(uow.session.scalars(sa.select(AsnLine.lot_id).where(AsnLine.asn_id == asn_id, AsnLine.lot_id.is_not(None))))
    )


def check_seal(uow, actor, *, receipt_id: uuid.UUID, seal_number: str | None):
    """Record the seal found on arrival on the receipt; when the ASN gave another one, a
    "seal_mismatch" alert (once per receipt). Returns the alert or None. Seals are
    compared without case and surrounding spaces."""
    require_any(actor, "receipt.scan", "coldchain.record")
    if actor.supplier_id is not None:
        raise Forbidden()
    errors: dict[str, str] = {}
    seal = checked_text(seal_number, MAX_SEAL, "seal_number", errors)
    if errors:
        raise ValidationFailed(errors=errors)
    receipt = uow.session.scalars(sa.select(Receipt).where(Receipt.id == receipt_id).with_for_update()).first()
    if receipt is None:
        raise ReceiptNotFound()
    receipt.seal_number = seal
    uow.flush()
    if receipt.asn_id is None or seal is None:
        return None
    asn = uow.session.scalars(sa.select(Asn).where(Asn.id == receipt.asn_id)).first()
    if asn is None or not asn.seal_number or asn.seal_number.strip().casefold() == seal.casefold():
        return None
    lots = _lots_of_asn(uow, asn.id)
    return alerting.raise_alert(
        uow,
        actor,
        alerting.Raise(
            kind="seal_mismatch",
            asn_id=asn.id,
            receipt_id=receipt.id,
            lot_ids=tuple(lots),
            evidence={
                "target": asn.number,
                "receipt": receipt.number,
                "expected_seal": asn.seal_number,
                "found_seal": seal,
                "detail": f"{asn.number}: seal {asn.seal_number} expected, {seal} found on receipt {receipt.number}",
                "lots": sorted(lot.number for lot in inventory.lots_by_id(uow, ids=lots).values()),
            },
        ),
    )
