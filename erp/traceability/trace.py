"""Trace: from any code to every lot, serial, source and customer it touches.

A trace starts from what a person scans or types (`resolve_start`): a UDI in any GS1 form
(scanned with ]d2/]C1 and GS, printed with brackets, a Digital Link URI) or an HIBC
code; a GTIN or part number with a lot or serial ("09506000134352 L-7"); a serial alone;
an SSCC; a lot number alone; a supplier (code or name); a purchase order or ship notice
number. The start is a set of root units: lots, or one serial of a lot.

The walk is one recursive SQL statement over the genealogy link indexes: backward (what
went into the roots, to any depth of sub-assembly) and forward (what the roots went
into). Each step is a unit state, a lot or one serial of a lot: from a serial, a link
counts when it names that serial or none (the link then speaks for the whole lot); a
state reached once is not walked again (the recursive UNION keeps each state once), so
a cycle in the data ends the walk instead of looping. Then a few set-based lookups
for all units at once: where each came from (receipts, ship notices, orders, suppliers
through erp.receiving and erp.shipping), where each went (customer shipments), and its
stock now (erp.inventory), grouped by status and location.

`run_trace` keeps the result as a snapshot with who ran it and why. The result's shape
(nodes, edges, affected) is the contract recalls and the EPCIS export read.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm

from auth.permissions import require
from erp.gs1.errors import Gs1Invalid
from erp.gs1.parse import parse_code
from erp.inventory import service as inventory
from erp.pagination import Page, check_limit, decode_cursor, encode_cursor
from erp.receiving import service as receiving
from erp.shipping import service as shipping
from erp.traceability.models import (
    Customer,
    CustomerShipment,
    CustomerShipmentLine,
    GenealogyLink,
    TraceSnapshot,
)
from kernel.errors import N_, TOO_LONG, NotFound, ValidationFailed
from tenants import service as tenants

DIRECTIONS = ("both", "backward", "forward")
CODE_MAX = 200
REASON_MAX = 2000
MAX_ROOT_LOTS = 1_000  # a supplier's or an order's lots traced at once (newest first)
MAX_LINKS = 50_000  # genealogy links a trace reads; past it the result says it is cut short
GS = "\x1d"

CODE_REQUIRED = N_(
    "Scan or type what to trace: a UDI, a GTIN or part number with a lot or serial, a serial, an SSCC, a lot, "
    "a supplier, a purchase order or a ship notice number."
)
REASON_REQUIRED = N_("Say why this trace is run (a complaint, an adverse event, a supplier's notice, a mock recall): "
                     "it is kept with the result.")
DIRECTION_CHOICE = N_("Choose both directions, backward (sources) or forward (where it went).")
NOTHING_FOUND = N_(
    "Nothing here has the code %(code)s: no UDI, lot, serial, SSCC, supplier, purchase order or ship notice. "
    "Check the code, or scan the label again."
)
UNKNOWN_DI = N_("No item has the device identifier %(di)s. Check the code, or add the device identifier to the item.")
PRODUCT_ONLY = N_(
    "%(di)s names a product, not a unit: scan the whole UDI, or add the lot or serial, "
    "such as (01)%(di)s(10)LOT or %(di)s LOT."
)
NO_SUCH_LOT = N_("Item %(item)s has no lot %(lot)s.")
NO_SUCH_UNIT = N_("Item %(item)s has no lot or serial %(value)s.")
SERIAL_AMBIGUOUS = N_(
    "Serial %(serial)s is used by %(count)s items (%(items)s). Scan the UDI, or type the GTIN or part number "
    "before the serial, such as %(example)s."
)
LOT_AMBIGUOUS = N_(
    "Lot %(lot)s exists for %(count)s items (%(items)s). Scan the UDI, or type the GTIN or part number "
    "before the lot, such as %(example)s."
)
NO_LOTS = N_("%(code)s was found, but no lot is recorded for it yet, so there is nothing to trace.")
SNAPSHOT_NOT_FOUND = N_("There is no such trace.")


class TraceNotFound(NotFound):
    code = "trace-not-found"
    message = SNAPSHOT_NOT_FOUND


@dataclass(frozen=True)
class Start:
    """Where a trace starts: what was given, what it is, and its root units, each a lot
    (serial None) or one serial of a lot. `anchor` is the ASN, order or supplier node a
    start of that kind hangs its lots from."""

    code: str
    kind: str  # one of erp.traceability.models.START_KINDS
    label: str
    roots: tuple[tuple[uuid.UUID, str | None], ...]
    anchor: tuple[str, uuid.UUID, str] | None = None  # (node kind, id, label)
    truncated: bool = False


# --- the start ---------------------------------------------------------------------------


def resolve_start(uow, actor, *, code: str) -> Start:
    """What `code` names, or ValidationFailed({"code": ...}) saying why nothing matches."""
    require(actor, "recall.run")
    text = _clean(code)
    if not text:
        raise ValidationFailed(errors={"code": CODE_REQUIRED})
    if len(text) > CODE_MAX:
        raise ValidationFailed(errors={"code": TOO_LONG})
    gs1_error = None
    if _looks_gs1(text):
        try:
            parsed = parse_code(text)
        except Gs1Invalid as error:
            gs1_error = error
        else:
            return _from_parsed(uow, text, parsed)
    for finder in (_ship_notice, _purchase_order, _package, _supplier, _item_and_unit, _unit):
        start = finder(uow, text)
        if start is not None:
            return start
    if gs1_error is not None and _surely_gs1(text):
        raise ValidationFailed(errors={"code": gs1_error.message}, **gs1_error.params)
    raise ValidationFailed(errors={"code": NOTHING_FOUND}, code=text)


def _clean(code) -> str:
    text = unicodedata.normalize("NFKC", code) if isinstance(code, str) else ""
    return text.strip().strip("\r\n").strip()


def _surely_gs1(text: str) -> bool:
    """Written as GS1 data and nothing else: a symbology identifier, brackets, a URI, a GS."""
    lowered = text.lower()
    return (
        text.startswith(("]", "("))
        or lowered.startswith(("http://", "https://"))
        or GS in text
        or "<gs>" in lowered
        or "{gs}" in lowered
    )


def _looks_gs1(text: str) -> bool:
    if _surely_gs1(text) or text.startswith(("+", "*+")):
        return True
    # Element strings typed without brackets: (01) GTIN and more, or (00) an SSCC. A
    # lot or serial of digits alone is not read as AIs.
    return text.isdigit() and ((text.startswith("01") and len(text) > 16) or (text.startswith("00") and len(text) == 20))


def _from_parsed(uow, text: str, parsed) -> Start:
    if parsed.sscc:
        return _package(uow, parsed.sscc, given=text) or _refuse(NOTHING_FOUND, code=parsed.sscc)
    di = parsed.di or parsed.gtin
    item = inventory.item_by_code(uow, code=di) if di else None
    if item is None:
        raise ValidationFailed(errors={"code": UNKNOWN_DI}, di=di or text)
    full_udi = parsed.kind == "hibcc" or bool(parsed.serial or parsed.expiry_date or parsed.production_date)
    if parsed.serial:
        return _serial_start(uow, text, "udi", parsed.serial, item=item, lot=parsed.lot)
    if parsed.lot:
        lots = inventory.lots_numbered(uow, number=parsed.lot, item_id=item.id)
        if not lots:
            raise ValidationFailed(errors={"code": NO_SUCH_LOT}, item=item.part_number, lot=parsed.lot)
        return _lots_start(text, "udi" if full_udi else "gtin_lot", lots, item)
    raise ValidationFailed(errors={"code": PRODUCT_ONLY}, di=di)


def _refuse(message: str, **params):
    raise ValidationFailed(errors={"code": message}, **params)


def _ship_notice(uow, text: str) -> Start | None:
    asn = shipping.asn_numbered(uow, number=text.upper())
    if asn is None:
        return None
    lots = shipping.lots_on_asn(uow, asn_id=asn.id)
    if not lots:
        _refuse(NO_LOTS, code=asn.number)
    return Start(text, "asn", asn.number, tuple((lot, None) for lot in lots), ("asn", asn.id, asn.number))


def _purchase_order(uow, text: str) -> Start | None:
    order = shipping.purchase_order_numbered(uow, number=text.upper())
    if order is None:
        return None
    lots = shipping.lots_of_purchase_order(uow, po_id=order.id)
    if not lots:
        _refuse(NO_LOTS, code=order.number)
    truncated = len(lots) > MAX_ROOT_LOTS
    return Start(
        text, "purchase_order", order.number, tuple((lot, None) for lot in lots[:MAX_ROOT_LOTS]),
        ("purchase_order", order.id, order.number), truncated,
    )


def _package(uow, text: str, *, given: str | None = None) -> Start | None:
    digits = text[2:] if len(text) == 20 and text.startswith("00") else text
    if not (len(digits) == 18 and digits.isdigit()):
        return None
    found = shipping.package_numbered(uow, sscc=digits)
    if found is None:
        return None
    _package_row, asn, lots = found
    if not lots:
        _refuse(NO_LOTS, code=digits)
    return Start(given or text, "sscc", digits, tuple((lot, None) for lot in lots), ("asn", asn.id, asn.number))


def _supplier(uow, text: str) -> Start | None:
    wanted = text.casefold()
    matches = [
        s for s in tenants.list_suppliers(uow)
        if s.code.casefold() == wanted or s.name.casefold() == wanted or (s.name_zh or "").casefold() == wanted
    ]
    if len(matches) != 1:
        return None
    supplier = matches[0]
    lots = inventory.lots_of_supplier(uow, supplier_id=supplier.id, limit=MAX_ROOT_LOTS + 1)
    if not lots:
        _refuse(NO_LOTS, code=supplier.name)
    return Start(
        text, "supplier", supplier.name, tuple((lot.id, None) for lot in lots[:MAX_ROOT_LOTS]),
        ("supplier", supplier.id, supplier.name), len(lots) > MAX_ROOT_LOTS,
    )


def _item_and_unit(uow, text: str) -> Start | None:
    """"<GTIN or part number> <lot or serial>", as typed from a label that will not scan."""
    parts = text.split()
    if len(parts) != 2:
        return None
    item = inventory.item_by_code(uow, code=parts[0])
    if item is None:
        return None
    value = parts[1]
    if _serial_holders(uow, value, item_id=item.id):
        return _serial_start(uow, text, "serial", value, item=item)
    lots = inventory.lots_numbered(uow, number=value, item_id=item.id)
    if lots:
        return _lots_start(text, "gtin_lot", lots, item)
    raise ValidationFailed(errors={"code": NO_SUCH_UNIT}, item=item.part_number, value=value)


def _unit(uow, text: str) -> Start | None:
    """A serial alone, else a lot number alone; either may be several items'."""
    holders = _serial_holders(uow, text)
    if holders:
        item_ids = {item_id for item_id, _ in holders}
        if len(item_ids) > 1:
            items = inventory.items_by_id(uow, ids=item_ids)
            names = sorted(items[i].part_number for i in item_ids)
            example = _example(items[next(iter(item_ids))], text)
            raise ValidationFailed(
                errors={"code": SERIAL_AMBIGUOUS}, serial=text, count=len(names), items=", ".join(names), example=example
            )
        item = inventory.items_by_id(uow, ids=item_ids)[next(iter(item_ids))]
        return _serial_start(uow, text, "serial", text, item=item, holders=holders)
    lots = inventory.lots_numbered(uow, number=text)
    if not lots:
        return None
    item_ids = {lot.item_id for lot in lots}
    items = inventory.items_by_id(uow, ids=item_ids)
    if len(item_ids) > 1:
        names = sorted(items[i].part_number for i in item_ids)
        raise ValidationFailed(
            errors={"code": LOT_AMBIGUOUS}, lot=text, count=len(names), items=", ".join(names),
            example=_example(items[lots[0].item_id], text),
        )
    return _lots_start(text, "lot", lots, items[lots[0].item_id])


def _example(item, value: str) -> str:
    return f"{item.udi_di or item.part_number} {value}"


def _serial_holders(uow, serial: str, *, item_id: uuid.UUID | None = None) -> set[tuple[uuid.UUID, uuid.UUID | None]]:
    """(item, lot) of every record of this serial: stock (finished units too), receipts,
    ship notices, genealogy (as a component) and customer shipments; each lookup on an
    index that leads with the item."""
    found = set(inventory.serial_units(uow, serial=serial, item_id=item_id))
    found |= receiving.serial_receipts(uow, serial=serial, item_id=item_id)
    found |= shipping.serial_shipments(uow, serial=serial, item_id=item_id)
    consumed = sa.select(GenealogyLink.input_item_id, GenealogyLink.input_lot_id).where(GenealogyLink.input_serial == serial)
    shipped = sa.select(CustomerShipmentLine.item_id, CustomerShipmentLine.lot_id).where(CustomerShipmentLine.serial == serial)
    if item_id is not None:
        consumed = consumed.where(GenealogyLink.input_item_id == item_id)
        shipped = shipped.where(CustomerShipmentLine.item_id == item_id)
    found |= {tuple(row) for row in uow.execute(consumed.distinct())}
    found |= {tuple(row) for row in uow.execute(shipped.distinct())}
    # A finished serial is in stock from its production run on (erp.traceability.service).
    return found


def _serial_start(uow, text: str, kind: str, serial: str, *, item, lot: str | None = None, holders=None) -> Start:
    holders = holders if holders is not None else _serial_holders(uow, serial, item_id=item.id)
    lot_ids = {lot_id for item_id, lot_id in holders if item_id == item.id and lot_id}
    if lot is not None and lot_ids:
        numbered = {found.id for found in inventory.lots_numbered(uow, number=lot, item_id=item.id)}
        lot_ids = lot_ids & numbered or lot_ids
    if not holders:
        raise ValidationFailed(errors={"code": NO_SUCH_UNIT}, item=item.part_number, value=serial)
    if not lot_ids:
        _refuse(NO_LOTS, code=serial)
    return Start(text, kind, f"{item.part_number} {serial}", tuple((lot_id, serial) for lot_id in sorted(lot_ids)))


def _lots_start(text: str, kind: str, lots, item) -> Start:
    return Start(text, kind, f"{item.part_number} {lots[0].number}", tuple((lot.id, None) for lot in lots))


# --- the walk --------------------------------------------------------------------------------

# From a state (lot, serial): the links of that lot that name that serial or none; from a
# lot (serial null): all its links. Each row is one link taken from one state; UNION keeps
# each such row once, so a state met again adds nothing new and a cycle ends. The rows
# carry the link, so nothing is joined again after the walk.
_WALK = sa.text("""
WITH RECURSIVE
roots(lot_id, serial) AS (
    SELECT * FROM unnest(CAST(:lots AS uuid[]), CAST(:serials AS text[]))
),
up(link_id, lot_id, serial, to_lot, to_serial, quantity) AS (
    SELECT NULL::uuid, lot_id, serial, NULL::uuid, NULL::text, NULL::numeric FROM roots WHERE CAST(:backward AS boolean)
    UNION
    SELECT g.id, g.input_lot_id, g.input_serial, up.lot_id, up.serial, g.quantity
    FROM up JOIN genealogy_link g ON g.output_lot_id = up.lot_id
     AND (up.serial IS NULL OR g.output_serial IS NULL OR g.output_serial = up.serial)
),
down(link_id, lot_id, serial, from_lot, from_serial, quantity) AS (
    SELECT NULL::uuid, lot_id, serial, NULL::uuid, NULL::text, NULL::numeric FROM roots WHERE CAST(:forward AS boolean)
    UNION
    SELECT g.id, g.output_lot_id, g.output_serial, down.lot_id, down.serial, g.quantity
    FROM down JOIN genealogy_link g ON g.input_lot_id = down.lot_id
     AND (down.serial IS NULL OR g.input_serial IS NULL OR g.input_serial = down.serial)
)
(SELECT 'backward' AS side, lot_id AS from_lot, serial AS from_serial, to_lot, to_serial, quantity
 FROM up WHERE link_id IS NOT NULL
 UNION ALL
 SELECT 'forward', from_lot, from_serial, lot_id, serial, quantity FROM down WHERE link_id IS NOT NULL)
LIMIT :cap
""")


def walk(uow, roots, *, backward: bool, forward: bool, cap: int = MAX_LINKS) -> list:
    """Rows (side, from_lot, from_serial, to_lot, to_serial, quantity): every genealogy
    link reached from the roots, each as consumed_into from the component to the product."""
    lots = [lot for lot, _ in roots]
    serials = [serial for _, serial in roots]
    params = {"lots": lots, "serials": serials, "backward": backward, "forward": forward, "cap": cap + 1}
    return uow.execute(_WALK, params).all()


# --- the result ------------------------------------------------------------------------------

SIDE_ORDER = {"root": 0, "backward": 1, "forward": 2}


def build_trace(uow, start: Start, *, direction: str = "both") -> dict:
    """The trace from `start` (no snapshot): the walk, then the lookups for all units at once."""
    backward, forward = direction in ("both", "backward"), direction in ("both", "forward")
    rows = walk(uow, start.roots, backward=backward, forward=forward)
    truncated = start.truncated or len(rows) > MAX_LINKS
    rows = rows[:MAX_LINKS]

    side: dict[tuple, str] = dict.fromkeys(start.roots, "root")
    links: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in rows:
        source, target = (row.from_lot, row.from_serial), (row.to_lot, row.to_serial)
        links[(source, target)] += row.quantity
        side.setdefault(source if row.side == "backward" else target, row.side)
    depth = _depths(start.roots, links)

    lots = inventory.lots_by_id(uow, ids={lot for lot, _ in side})
    items = inventory.items_by_id(uow, ids={lot.item_id for lot in lots.values()})
    graph = _Graph()
    for state, where in side.items():
        lot = lots.get(state[0])
        if lot is not None:
            graph.unit(state, lot, items.get(lot.item_id), where, depth.get(state, 0))
    for (source, target), quantity in links.items():
        if source in graph.ids and target in graph.ids:
            graph.edge(graph.ids[source], graph.ids[target], "consumed_into", quantity)
    if start.anchor is not None:
        kind, anchor_id, label = start.anchor
        graph.node(_node_id(kind, anchor_id), kind, label, "root", 0)

    _stock(uow, graph, lots)
    if backward:
        _origins(uow, graph, [s for s, w in side.items() if w in ("root", "backward")], lots)
    if forward:
        _destinations(uow, graph, [s for s, w in side.items() if w in ("root", "forward")])
    affected = _affected(graph, [s for s, w in side.items() if w in ("root", "forward")], lots)

    nodes = sorted(graph.nodes.values(), key=lambda n: (SIDE_ORDER[n["direction"]], n["depth"], n["kind"], n["label"]))
    return {
        "start": {"code": start.code, "kind": start.kind, "label": start.label},
        "direction": direction,
        "truncated": truncated,
        "nodes": nodes,
        "edges": list(graph.edges.values()),
        "affected": affected,
    }


def _depths(roots, links) -> dict[tuple, int]:
    """Steps from the roots: backward along product -> component, forward along component -> product."""
    inputs, outputs = defaultdict(list), defaultdict(list)
    for source, target in links:
        inputs[target].append(source)
        outputs[source].append(target)
    depth = dict.fromkeys(roots, 0)
    for neighbours in (inputs, outputs):
        queue = deque(roots)
        seen = set(roots)
        while queue:
            state = queue.popleft()
            for nxt in neighbours.get(state, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    depth.setdefault(nxt, depth[state] + 1)
                    queue.append(nxt)
    return depth


def _node_id(kind: str, ref) -> str:
    prefix = {"purchase_order": "po", "customer_shipment": "shipment"}.get(kind, kind)
    return f"{prefix}:{ref}"


def _plain(quantity) -> str | None:
    return None if quantity is None else inventory.plain_quantity(Decimal(quantity))


class _Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, dict] = {}
        self.edges: dict[tuple, dict] = {}
        self.ids: dict[tuple, str] = {}  # unit state -> node id

    def node(self, node_id: str, kind: str, label: str, direction: str, depth: int, **values) -> dict:
        found = self.nodes.get(node_id)
        if found is not None:
            if SIDE_ORDER[direction] < SIDE_ORDER[found["direction"]]:
                found["direction"] = direction
            found["depth"] = min(found["depth"], depth)
            return found
        node = {
            "id": node_id, "kind": kind, "label": label, "direction": direction, "depth": depth,
            "label_zh": None, "item_id": None, "item_label": None, "item_label_zh": None, "lot_id": None,
            "lot_number": None,
            "serial": None, "udi": None, "supplier_id": None, "customer_id": None, "quantity": None, "stock": [],
            "date": None, "status": None,
        }
        node.update(values)
        self.nodes[node_id] = node
        return node

    def unit(self, state, lot, item, direction: str, depth: int) -> None:
        serial = state[1]
        node_id = f"serial:{lot.item_id}:{serial}" if serial else f"lot:{lot.id}"
        self.ids[state] = node_id
        self.node(
            node_id, "serial" if serial else "lot", serial or lot.number, direction, depth,
            item_id=str(lot.item_id), item_label=f"{item.part_number} {item.name}" if item else None,
            item_label_zh=f"{item.part_number} {item.name_zh}" if item and item.name_zh else None, lot_id=str(lot.id),
            lot_number=lot.number, serial=serial,
            udi=inventory.udi_text(item, lot, serial), supplier_id=str(lot.supplier_id) if lot.supplier_id else None,
        )

    def edge(self, source: str, target: str, kind: str, quantity=None) -> None:
        key = (source, target, kind)
        found = self.edges.get(key)
        if found is None:
            self.edges[key] = {"from": source, "to": target, "kind": kind, "quantity": _plain(quantity)}
        elif quantity is not None:
            found["quantity"] = _plain(Decimal(found["quantity"] or 0) + Decimal(quantity))


def _stock(uow, graph: _Graph, lots) -> None:
    """Each unit's stock now, by status and location, and its quantity (all of it, also
    what was consumed or shipped)."""
    lot_states = [s for s in graph.ids if s[1] is None]
    serial_states = [s for s in graph.ids if s[1] is not None]
    by_lot = inventory.stock_by_lot(uow, lot_ids=[lot for lot, _ in lot_states])
    units = [(lots[lot].item_id, serial) for lot, serial in serial_states if lot in lots]
    by_serial = inventory.stock_by_serial(uow, units=units)
    places = inventory.locations_by_id(uow, ids={row.location_id for row in by_lot} | {row.location_id for row in by_serial})
    rows = defaultdict(list)
    for row in by_lot:
        rows[(row.lot_id, None)].append(row)
    for row in by_serial:
        rows[(row.lot_id, row.serial)].append(row)
    for state in graph.ids:
        found = sorted(rows.get(state, []), key=lambda r: (r.status, str(r.location_id)))
        node = graph.nodes[graph.ids[state]]
        node["stock"] = [
            {
                "status": row.status,
                "location": places[row.location_id].code if row.location_id in places else None,
                "location_name": places[row.location_id].name if row.location_id in places else None,
                "quantity": _plain(row.quantity),
            }
            for row in found
        ]
        if found:
            node["quantity"] = _plain(sum((row.quantity for row in found), Decimal(0)))
        elif state[1] is not None:
            node["quantity"] = "1"


def _origins(uow, graph: _Graph, states, lots) -> None:
    """Where the roots and their components came from: receipts, ship notices, orders, suppliers."""
    by_lot = defaultdict(list)
    for state in states:
        if state in graph.ids:
            by_lot[state[0]].append(graph.nodes[graph.ids[state]])
    if not by_lot:
        return
    suppliers = set()
    shipped = shipping.shipments_of_lots(uow, lot_ids=list(by_lot))
    received = receiving.receipts_of_lots(uow, lot_ids=list(by_lot))
    for row in shipped:
        for unit in by_lot[row.lot_id]:
            depth = unit["depth"] + 1
            asn_id = _node_id("asn", row.asn_id)
            graph.node(asn_id, "asn", row.asn_number, "backward", depth, supplier_id=str(row.supplier_id),
                       status=row.asn_status)
            graph.edge(unit["id"], asn_id, "shipped_on", row.quantity)
            po_id = _node_id("purchase_order", row.purchase_order_id)
            graph.node(po_id, "purchase_order", row.po_number, "backward", depth + 1, supplier_id=str(row.supplier_id))
            graph.edge(asn_id, po_id, "ordered_on")
            graph.edge(asn_id, _node_id("supplier", row.supplier_id), "supplied_by")
            suppliers.add((row.supplier_id, depth + 1))
    for row in received:
        for unit in by_lot[row.lot_id]:
            depth = unit["depth"] + 1
            receipt_id = _node_id("receipt", row.receipt_id)
            graph.node(receipt_id, "receipt", row.number, "backward", depth,
                       supplier_id=str(row.supplier_id) if row.supplier_id else None, date=row.received_at.isoformat())
            graph.edge(unit["id"], receipt_id, "received_on", row.quantity)
            if row.asn_id is None and row.supplier_id is not None:
                graph.edge(receipt_id, _node_id("supplier", row.supplier_id), "supplied_by")
                suppliers.add((row.supplier_id, depth + 1))
    reached = {row.lot_id for row in shipped} | {row.lot_id for row in received}
    for lot_id, units in by_lot.items():
        lot = lots.get(lot_id)
        if lot_id not in reached and lot is not None and lot.supplier_id is not None:
            for unit in units:
                graph.edge(unit["id"], _node_id("supplier", lot.supplier_id), "supplied_by")
                suppliers.add((lot.supplier_id, unit["depth"] + 1))
    names = tenants.organisations_by_id(uow, ids={s for s, _ in suppliers})
    for supplier_id, depth in suppliers:
        org = names.get(supplier_id)
        graph.node(
            _node_id("supplier", supplier_id), "supplier", org.name if org else str(supplier_id), "backward", depth,
            supplier_id=str(supplier_id), label_zh=org.name_zh if org else None,
        )


def _destinations(uow, graph: _Graph, states) -> None:
    """Where the roots and what they went into were shipped: customer shipments and customers."""
    wanted = {s for s in states if s in graph.ids}
    lot_ids = list({lot for lot, _ in wanted})
    if not lot_ids:
        return
    query = (
        sa.select(
            CustomerShipmentLine.lot_id, CustomerShipmentLine.serial, CustomerShipmentLine.quantity,
            CustomerShipment.id.label("shipment_id"), CustomerShipment.reference, CustomerShipment.shipped_at,
            Customer.id.label("customer_id"), Customer.name, Customer.code,
        )
        .join(CustomerShipment, CustomerShipment.id == CustomerShipmentLine.shipment_id)
        .join(Customer, Customer.id == CustomerShipment.customer_id)
        .where(CustomerShipmentLine.lot_id.in_(lot_ids))
    )
    for row in uow.execute(query):
        state = (row.lot_id, row.serial) if (row.lot_id, row.serial) in wanted else (row.lot_id, None)
        if state not in wanted:
            continue  # another unit of a lot only some of whose serials are in the trace
        unit = graph.nodes[graph.ids[state]]
        depth = unit["depth"] + 1
        shipment_id = _node_id("customer_shipment", row.shipment_id)
        customer_id = _node_id("customer", row.customer_id)
        graph.node(shipment_id, "customer_shipment", row.reference, "forward", depth, customer_id=str(row.customer_id),
                   date=row.shipped_at.isoformat())
        graph.node(customer_id, "customer", row.name, "forward", depth + 1, customer_id=str(row.customer_id))
        graph.edge(unit["id"], shipment_id, "shipped_on", row.quantity)
        graph.edge(shipment_id, customer_id, "shipped_to")


def _affected(graph: _Graph, states, lots) -> list[dict]:
    """The units a recall must locate: the roots and all they went into."""
    affected = []
    for state in states:
        if state not in graph.ids:
            continue
        node, lot = graph.nodes[graph.ids[state]], lots[state[0]]
        quantity = "1" if state[1] else (node["quantity"] or _linked_quantity(graph, node["id"]))
        affected.append({
            "item_id": str(lot.item_id), "lot_id": str(lot.id), "serial": state[1], "quantity": quantity or "0",
            "supplier_id": str(lot.supplier_id) if lot.supplier_id else None,
        })
    return sorted(affected, key=lambda a: (a["item_id"], a["lot_id"], a["serial"] or ""))


def _linked_quantity(graph: _Graph, node_id: str) -> str | None:
    """A lot with no stock recorded: what the links say of it (made into, or consumed from)."""
    amounts = [Decimal(e["quantity"]) for e in graph.edges.values() if e["kind"] == "consumed_into"
               and node_id in (e["from"], e["to"]) and e["quantity"]]
    return _plain(sum(amounts, Decimal(0))) if amounts else None


# --- snapshots -------------------------------------------------------------------------------


def run_trace(uow, actor, *, code: str, reason: str, direction: str = "both") -> TraceSnapshot:
    """Trace from `code` and keep the result with who ran it and why."""
    require(actor, "recall.run")
    errors = {}
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        errors["reason"] = REASON_REQUIRED
    elif len(reason) > REASON_MAX:
        errors["reason"] = TOO_LONG
    if direction not in DIRECTIONS:
        errors["direction"] = DIRECTION_CHOICE
    if not _clean(code):
        errors["code"] = CODE_REQUIRED
    if errors:
        raise ValidationFailed(errors=errors)
    start = resolve_start(uow, actor, code=code)
    result = build_trace(uow, start, direction=direction)
    snapshot = TraceSnapshot(
        start_code=start.code[:CODE_MAX], start_kind=start.kind, reason=reason, result=result,
        node_count=len(result["nodes"]), run_by=actor.user_id,
    )
    uow.add(snapshot)
    uow.flush()
    return snapshot


def get_snapshot(uow, actor, *, snapshot_id) -> TraceSnapshot:
    require(actor, "recall.run")
    if not isinstance(snapshot_id, uuid.UUID):
        try:
            snapshot_id = uuid.UUID(str(snapshot_id))
        except ValueError:
            raise TraceNotFound() from None
    query = sa.select(TraceSnapshot).options(orm.undefer(TraceSnapshot.result)).where(TraceSnapshot.id == snapshot_id)
    found = uow.session.scalars(query.execution_options(populate_existing=True)).first()
    if found is None:
        raise TraceNotFound()
    return found


def list_snapshots(uow, actor, *, cursor: str | None = None, limit: int = 50) -> Page[TraceSnapshot]:
    """Traces run, newest first (their results left unloaded)."""
    require(actor, "recall.run")
    check_limit(limit)
    query = sa.select(TraceSnapshot).options(orm.defer(TraceSnapshot.result))
    if cursor:
        run_at, row_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(TraceSnapshot.run_at, TraceSnapshot.id) < sa.tuple_(run_at, row_id))
    rows = list(uow.session.scalars(query.order_by(TraceSnapshot.run_at.desc(), TraceSnapshot.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].run_at, rows[-1].id) if more else None)


# --- reading a result --------------------------------------------------------------------

BACKWARD_EDGES = ("shipped_on", "received_on", "supplied_by", "ordered_on")


def tree(result: dict, side: str) -> list[dict]:
    """The result as an indented tree from the roots: backward, each unit's components and
    sources (ship notice, order, supplier, receipt); forward, what each unit went into and
    the customers it was shipped to. A node met again is shown once more, not expanded."""
    nodes = {n["id"]: n for n in result["nodes"]}
    children = defaultdict(list)
    outbound = ("customer_shipment", "customer")
    for edge in result["edges"]:
        source, target, kind = edge["from"], edge["to"], edge["kind"]
        target_kind = nodes.get(target, {}).get("kind")
        if side == "backward" and kind == "consumed_into":
            if nodes.get(source, {}).get("direction") != "forward":
                children[target].append((source, edge))
        elif side == "backward":
            if kind in BACKWARD_EDGES and target_kind not in outbound:
                children[source].append((target, edge))
        elif kind == "consumed_into":
            if nodes.get(target, {}).get("direction") != "backward":
                children[source].append((target, edge))
        elif target_kind in outbound:
            children[source].append((target, edge))
    seen: set[str] = set()

    def grow(node_id: str, edge: dict | None, trail: frozenset) -> dict:
        repeat = node_id in seen
        seen.add(node_id)
        branch = {"node": nodes[node_id], "edge": edge, "repeat": repeat, "children": []}
        if not repeat and node_id not in trail:
            ordered = sorted(children.get(node_id, []), key=lambda c: (_KIND_ORDER.get(nodes[c[0]]["kind"], 9),
                                                                        nodes[c[0]]["label"]))
            branch["children"] = [grow(child, e, trail | {node_id}) for child, e in ordered if child in nodes]
        return branch

    roots = [n["id"] for n in result["nodes"] if n["direction"] == "root" and n["kind"] in ("lot", "serial")]
    return [grow(root, None, frozenset()) for root in roots]


_KIND_ORDER = {"lot": 0, "serial": 0, "customer_shipment": 1, "customer": 2, "asn": 3, "receipt": 4,
               "purchase_order": 5, "supplier": 6}


def flat_rows(result: dict) -> list[dict]:
    """One row per node with its place in the trace (for CSV and XLSX): the nodes in
    order, each with its stock rows (status, location, quantity)."""
    return [
        {
            "direction": n["direction"], "depth": n["depth"], "kind": n["kind"], "label": n["label"],
            "item": n["item_label"] or "", "lot": n["lot_number"] or "", "serial": n["serial"] or "", "udi": n["udi"] or "",
            "quantity": n["quantity"] or "", "date": (n.get("date") or "")[:10],
            "stock": n["stock"],
        }
        for n in result["nodes"]
    ]
