"""Transactions with chosen dates, written straight through the ORM (as the domains
write them), so each KPI can be checked against numbers worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from erp.inventory.models import Location, Lot, StockMovement
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from erp.receiving.models import Discrepancy, Inspection, Nonconformance, Receipt, ReceiptLine
from erp.shipping.models import Asn, AsnLine
from tenants import service as tenants
from tests.factories import actor_in, unique

PEOPLE = ("buyer", "quality", "viewer", "tenant_admin", "supplier1", "supplier2")


def people(tx, world) -> dict:
    with tx.uow() as lookup:
        return {who: actor_in(lookup, world, who) for who in PEOPLE}


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


class Books:
    """A supplier's transactions in one tenant."""

    def __init__(self, uow, world, supplier, *, item=None):
        self.uow, self.world, self.supplier = uow, world, supplier
        self.item = item or world.items[0]
        own = tenants.own_organisation(uow)
        self.site = tenants.create_site(uow, organisation=own, name=unique("DC "), kind="warehouse")
        self.location = Location(code=unique("RCV-"), name="Receiving", kind="receiving", site_id=self.site.id)
        uow.add(self.location)
        uow.flush()

    def order(self, *, due: date, quantity: str = "100", issued: datetime | None = None, acknowledged: datetime | None = None,
              promised: date | None = None):
        po = PurchaseOrder(number=unique("PO-"), supplier_id=self.supplier.id, status="issued", currency="EUR",
                           order_date=due, issued_at=issued, acknowledged_at=acknowledged)
        self.uow.add(po)
        self.uow.flush()
        line = PurchaseOrderLine(purchase_order_id=po.id, supplier_id=self.supplier.id, line_no=10, item_id=self.item.id,
                                 quantity=Decimal(quantity), uom="EA", unit_price=Decimal(1), requested_date=due,
                                 promised_date=promised, ship_to_site_id=self.site.id)
        self.uow.add(line)
        self.uow.flush()
        return po, line

    def delivery(self, line, *, arrived: datetime, quantity: str = "100", submitted: datetime | None = None,
                 discrepancies: tuple[str, ...] = ()):
        """An ASN for the line, received (closed) at `arrived`."""
        asn = Asn(number=unique("ASN-"), supplier_id=self.supplier.id, ship_to_site_id=self.site.id, status="received",
                  ship_date=arrived.date(), expected_arrival=arrived.date(), submitted_at=submitted or arrived.replace(hour=1))
        self.uow.add(asn)
        self.uow.flush()
        asn_line = AsnLine(asn_id=asn.id, supplier_id=self.supplier.id, line_no=1, purchase_order_id=line.purchase_order_id,
                           purchase_order_line_id=line.id, item_id=self.item.id, quantity=Decimal(quantity))
        self.uow.add(asn_line)
        self.uow.flush()
        receipt = self._receipt(arrived, asn_id=asn.id)
        self.uow.add(ReceiptLine(receipt_id=receipt.id, supplier_id=self.supplier.id, asn_line_id=asn_line.id,
                                 item_id=self.item.id, quantity=Decimal(quantity)))
        for kind in discrepancies:
            self.uow.add(Discrepancy(receipt_id=receipt.id, supplier_id=self.supplier.id, kind=kind))
        self.uow.flush()
        return receipt

    def receipt_without_asn(self, *, arrived: datetime, quantity: str = "10"):
        receipt = self._receipt(arrived, asn_id=None, without_asn=True)
        self.uow.add(ReceiptLine(receipt_id=receipt.id, supplier_id=self.supplier.id, item_id=self.item.id,
                                 quantity=Decimal(quantity)))
        self.uow.flush()
        return receipt

    def _receipt(self, arrived: datetime, **kw):
        receipt = Receipt(number=unique("GR-"), supplier_id=self.supplier.id, site_id=self.site.id,
                          location_id=self.location.id, status="closed", created_at=arrived, closed_at=arrived, **kw)
        self.uow.add(receipt)
        self.uow.flush()
        return receipt

    def inspection(self, receipt, *, received: str, rejected: str = "0", completed: datetime):
        lot = Lot(item_id=self.item.id, supplier_id=self.supplier.id, number=unique("L"))
        self.uow.add(lot)
        self.uow.flush()
        found = Inspection(receipt_id=receipt.id, supplier_id=self.supplier.id, item_id=self.item.id, lot_id=lot.id,
                           status="done", received_quantity=Decimal(received), rejected_quantity=Decimal(rejected),
                           accepted_quantity=Decimal(received) - Decimal(rejected),
                           defect_codes=["dimension"] if Decimal(rejected) else [], completed_at=completed)
        self.uow.add(found)
        self.uow.flush()
        return found

    def returned(self, inspection, *, quantity: str, moved: datetime, rma: str | None = None):
        """The inspection's lot sent back to the supplier by its nonconformance's
        disposition (as erp.receiving.disposition records it)."""
        return self._disposed(inspection, "return_to_supplier", "return", "returned", quantity, moved, rma)

    def reworked(self, inspection, *, quantity: str, moved: datetime):
        """The inspection's lot put back into quarantine for rework."""
        return self._disposed(inspection, "rework", "rework", "quarantine", quantity, moved, None)

    def _disposed(self, inspection, disposition, kind, to_status, quantity, moved, rma):
        nc = Nonconformance(number=unique("NC-"), supplier_id=self.supplier.id, item_id=self.item.id,
                            lot_id=inspection.lot_id, inspection_id=inspection.id, quantity=Decimal(quantity),
                            description="rejected", created_at=moved, status="closed", disposition=disposition,
                            disposition_quantity=Decimal(quantity), disposition_reason="out of tolerance",
                            disposed_at=moved, rma_number=rma)
        self.uow.add(nc)
        self.uow.flush()
        movement = StockMovement(kind=kind, item_id=self.item.id, lot_id=inspection.lot_id, quantity=Decimal(quantity),
                                 from_location_id=self.location.id, from_status="rejected", to_status=to_status,
                                 reference_kind="nonconformance", reference_id=nc.id, supplier_id=self.supplier.id,
                                 moved_at=moved)
        self.uow.add(movement)
        self.uow.flush()
        return nc, movement

    def nonconformance(self, *, opened: datetime):
        row = Nonconformance(number=unique("NC-"), supplier_id=self.supplier.id, item_id=self.item.id, description="bad",
                             created_at=opened)
        self.uow.add(row)
        self.uow.flush()
        return row
