"""Traces: from a UDI, a GTIN and lot, a serial, an SSCC, a lot, a supplier, an order or a
ship notice, backward to the suppliers' notices and orders and forward to the customers,
through a sub-assembly; kept as snapshots with who and why."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from erp.gs1 import errors as gs1_errors
from erp.traceability import trace
from erp.traceability.models import GenealogyLink, TraceSnapshot
from kernel.errors import Forbidden, NotFound, ValidationFailed
from tests.erp.receiving.receiving_support import receive
from tests.erp.traceability.trace_support import genealogy, people
from tests.factories import make_item, unique


@pytest.fixture
def tree(tx, world):
    return genealogy(tx, world)


def run(tx, world, who, code, *, direction="both", reason="Complaint 17: pump alarm", actor="quality"):
    with tx.uow(tenant_id=world.tenant_id, actor=who[actor]) as uow:
        snapshot = trace.run_trace(uow, who[actor], code=code, reason=reason, direction=direction)
        uow.commit()
        return snapshot


def refused(tx, world, who, code, **kw) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught, tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        trace.run_trace(uow, who["quality"], code=code, reason=kw.pop("reason", "why"), **kw)
    return caught.value


def kinds(result, kind):
    return {n["label"] for n in result["nodes"] if n["kind"] == kind}


def udi(tree, serial) -> str:
    return f"(01){tree.device.udi_di}(10){tree.finished.lot.number}(21){serial}"


def test_backward_from_a_finished_serials_udi_reaches_both_suppliers_notices_and_orders(tx, world, tree):
    serial = tree.finished.serials[0]
    snapshot = run(tx, world, tree.who, udi(tree, serial), direction="backward")
    result = snapshot.result
    assert (snapshot.start_kind, result["start"]["kind"]) == ("udi", "udi")
    assert kinds(result, "asn") == {a.number for a in tree.asns}
    assert kinds(result, "purchase_order") == {p.number for p in tree.pos}
    assert kinds(result, "supplier") == {s.name for s in world.suppliers}
    assert kinds(result, "lot") >= {tree.sub.lot.number} | {c.lot.number for c in tree.components}
    assert kinds(result, "receipt") == {c.receipt.number for c in tree.components}
    root = next(n for n in result["nodes"] if n["direction"] == "root")
    assert (root["kind"], root["serial"], root["lot_number"]) == ("serial", serial, tree.finished.lot.number)
    assert root["udi"].startswith(f"(01){tree.device.udi_di}")
    # Three levels: the finished serial, the sub-assembly, the components, then their sources.
    depth = {n["label"]: n["depth"] for n in result["nodes"]}
    assert depth[tree.sub.lot.number] == 1
    assert {depth[c.lot.number] for c in tree.components} == {2}
    assert not kinds(result, "customer")  # backward only
    assert snapshot.node_count == len(result["nodes"])
    assert snapshot.run_by == tree.who["quality"].user_id and snapshot.reason == "Complaint 17: pump alarm"
    edge_kinds = {e["kind"] for e in result["edges"]}
    assert edge_kinds == {"consumed_into", "shipped_on", "received_on", "ordered_on", "supplied_by"}


@pytest.mark.parametrize("form", ["scanned", "digital_link", "written_gs"])
def test_the_udi_is_read_in_any_gs1_form(tx, world, tree, form):
    serial = tree.finished.serials[1]
    gtin, lot = tree.device.udi_di, tree.finished.lot.number
    code = {
        "scanned": f"]d201{gtin}10{lot}\x1d21{serial}",
        "digital_link": f"https://id.example.com/01/{gtin}/10/{lot}/21/{serial}",
        "written_gs": f"]C101{gtin}10{lot}<GS>21{serial}",
    }[form]
    result = run(tx, world, tree.who, code).result
    assert result["start"]["kind"] == "udi"
    assert kinds(result, "asn") == {a.number for a in tree.asns}
    assert kinds(result, "customer") == {tree.customers[1].name}  # this serial went to the second only


def test_forward_from_a_component_lot_reaches_both_customers(tx, world, tree):
    component = tree.components[0]
    result = run(tx, world, tree.who, component.lot.number, direction="forward").result
    assert result["start"]["kind"] == "lot"
    assert kinds(result, "customer") == {c.name for c in tree.customers}
    assert kinds(result, "customer_shipment") == {s.reference for s in tree.shipments}
    assert kinds(result, "serial") == set(tree.finished.serials)
    assert kinds(result, "lot") == {component.lot.number, tree.sub.lot.number}
    assert not kinds(result, "asn")  # forward only: no sources
    affected = {(a["lot_id"], a["serial"]) for a in result["affected"]}
    assert affected == {(str(component.lot.id), None), (str(tree.sub.lot.id), None)} | {
        (str(tree.finished.lot.id), s) for s in tree.finished.serials
    }
    by_lot = {a["lot_id"]: a for a in result["affected"]}
    assert by_lot[str(component.lot.id)]["supplier_id"] == str(world.suppliers[0].id)
    assert Decimal(by_lot[str(component.lot.id)]["quantity"]) == 100  # received; 92 left, 8 consumed


def test_each_node_carries_its_stock_status_and_location(tx, world, tree):
    result = run(tx, world, tree.who, udi(tree, tree.finished.serials[0])).result
    nodes = {n["label"]: n for n in result["nodes"]}
    component = nodes[tree.components[0].lot.number]
    assert {(s["status"], s["quantity"]) for s in component["stock"]} == {("released", "92"), ("consumed", "8")}
    assert all(s["location"] for s in component["stock"])
    finished = nodes[tree.finished.serials[0]]
    assert [s["status"] for s in finished["stock"]] == ["shipped"]


def test_the_tree_reads_backward_to_suppliers_and_forward_to_customers(tx, world, tree):
    result = run(tx, world, tree.who, tree.sub.lot.number).result
    back = trace.tree(result, "backward")
    assert [b["node"]["label"] for b in back] == [tree.sub.lot.number]
    components = {c["node"]["label"]: c for c in back[0]["children"]}
    assert set(components) >= {c.lot.number for c in tree.components}
    first = components[tree.components[0].lot.number]
    asn = next(c for c in first["children"] if c["node"]["kind"] == "asn")
    assert {c["node"]["kind"] for c in asn["children"]} == {"purchase_order", "supplier"}
    forward = trace.tree(result, "forward")
    serials = forward[0]["children"]
    assert {s["node"]["label"] for s in serials} == set(tree.finished.serials)
    customers = {c["children"][0]["node"]["label"] for s in serials for c in s["children"]}
    assert customers == {c.name for c in tree.customers}


@pytest.mark.parametrize("start", ["asn", "purchase_order", "sscc", "supplier", "gtin_lot", "part_and_lot"])
def test_every_kind_of_start(tx, world, tree, start):
    component = tree.components[1]
    part = tx_item_part(tx, world, component.item_id)
    code = {
        "asn": tree.asns[1].number,
        "purchase_order": tree.pos[1].number,
        "sscc": tree.ssccs[1],
        "supplier": world.suppliers[1].code,
        "gtin_lot": f"(01){tree.device.udi_di}(10){tree.finished.lot.number}",
        "part_and_lot": f"{part} {component.lot.number}",
    }[start]
    result = run(tx, world, tree.who, code).result
    expected_kind = "gtin_lot" if start == "part_and_lot" else start
    assert result["start"]["kind"] == expected_kind
    if start == "gtin_lot":
        assert kinds(result, "supplier") == {s.name for s in world.suppliers}
    else:
        assert kinds(result, "customer") == {c.name for c in tree.customers}
        assert world.suppliers[1].name in kinds(result, "supplier")
    if start in ("asn", "sscc"):
        anchor = next(n for n in result["nodes"] if n["kind"] == "asn")
        assert (anchor["label"], anchor["direction"]) == (tree.asns[1].number, "root")


def tx_item_part(tx, world, item_id) -> str:
    from erp.items.models import Item

    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(Item.part_number).where(Item.id == item_id))


def test_a_serial_alone_traces_that_unit_only(tx, world, tree):
    serial = tree.finished.serials[0]
    result = run(tx, world, tree.who, serial).result
    assert result["start"]["kind"] == "serial"
    assert kinds(result, "customer") == {tree.customers[0].name}
    assert kinds(result, "serial") == {serial}


def test_a_cycle_in_the_data_ends_the_walk(tx, world, tree, admin):
    # The service refuses a cycle; data written past it (an import, a repair) must not loop.
    with tx.uow(tenant_id=world.tenant_id, actor=tree.who["warehouse"]) as uow:
        uow.add(GenealogyLink(
            production_run_id=tree.sub.run.id, output_lot_id=tree.components[0].lot.id, input_item_id=tree.device.id,
            input_lot_id=tree.finished.lot.id, quantity=Decimal(1),
        ))
        uow.commit()
    result = run(tx, world, tree.who, tree.components[0].lot.number).result
    ids = [n["id"] for n in result["nodes"]]
    assert len(ids) == len(set(ids))
    assert kinds(result, "customer") == {c.name for c in tree.customers}
    assert tree.finished.lot.number in kinds(result, "lot") | {n["lot_number"] for n in result["nodes"]}
    trace.tree(result, "backward"), trace.tree(result, "forward")  # the trees end too


def test_a_serial_of_two_items_asks_for_the_gtin_or_part_number(tx, world):
    who = people(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        first, second = make_item(uow, part_number=unique("A-")), make_item(uow, part_number=unique("B-"))
        for item in (first, second):
            receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=item.id, serials=("DUP-1",))
        uow.commit()
    error = refused(tx, world, who, "DUP-1")
    assert error.errors == {"code": trace.SERIAL_AMBIGUOUS}
    assert error.params["count"] == 2 and first.part_number in error.params["items"]
    result = run(tx, world, who, f"{second.part_number} DUP-1").result
    assert result["start"]["kind"] == "serial"
    assert {n["item_id"] for n in result["nodes"] if n["kind"] == "serial"} == {str(second.id)}


def test_a_lot_number_of_two_items_is_ambiguous(tx, world):
    who = people(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        for _ in range(2):
            receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=make_item(uow).id, lot_number="SAME-7")
        uow.commit()
    assert refused(tx, world, who, "SAME-7").errors == {"code": trace.LOT_AMBIGUOUS}


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("NO-SUCH-THING-42", trace.NOTHING_FOUND),
        ("", trace.CODE_REQUIRED),
        ("(01)09506000134353(21)X", gs1_errors.CHECK_DIGIT),
        ("(01)09506000134352(21)X", trace.UNKNOWN_DI),
        ("x" * 201, "This is too long."),
    ],
)
def test_a_code_that_names_nothing_is_refused_with_a_helpful_message(tx, world, code, message):
    who = people(tx, world)
    error = refused(tx, world, who, code)
    assert error.errors == {"code": message}
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(TraceSnapshot)) == 0


def test_a_gtin_alone_asks_for_the_lot_or_serial(tx, world, tree):
    assert refused(tx, world, tree.who, f"(01){tree.device.udi_di}").errors == {"code": trace.PRODUCT_ONLY}


def test_an_empty_reason_or_a_wrong_direction_is_refused_and_nothing_saved(tx, world, tree):
    error = refused(tx, world, tree.who, tree.sub.lot.number, reason="  ", direction="sideways")
    assert error.errors == {"reason": trace.REASON_REQUIRED, "direction": trace.DIRECTION_CHOICE}
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(TraceSnapshot)) == 0


def test_only_who_may_run_recalls_traces(tx, world, tree):
    with pytest.raises(Forbidden), tx.uow(tenant_id=world.tenant_id, actor=tree.who["buyer"]) as uow:
        trace.run_trace(uow, tree.who["buyer"], code=tree.sub.lot.number, reason="why")


def test_another_tenants_lot_of_the_same_number_never_appears(tx, world, other_world, tree):
    others = people(tx, other_world)
    number = tree.components[0].lot.number
    with tx.uow(tenant_id=other_world.tenant_id, actor=others["warehouse"]) as uow:
        theirs = receive(uow, others["warehouse"], supplier=other_world.suppliers[0], item_id=make_item(uow).id,
                         lot_number=number)
        uow.commit()
    result = run(tx, world, tree.who, number).result
    assert str(theirs.lot.id) not in {n["lot_id"] for n in result["nodes"]}
    assert str(theirs.receipt.id) not in {n["id"].split(":")[-1] for n in result["nodes"]}
    their_result = run(tx, other_world, others, number).result
    assert {n["lot_id"] for n in their_result["nodes"] if n["kind"] == "lot"} == {str(theirs.lot.id)}
    assert refused(tx, other_world, others, tree.asns[0].number).errors == {"code": trace.NOTHING_FOUND}


def test_snapshots_are_listed_newest_first_a_page_at_a_time_and_kept_to_the_tenant(tx, world, other_world, tree):
    made = [run(tx, world, tree.who, tree.sub.lot.number, reason=f"round {n}").id for n in range(3)]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        first = trace.list_snapshots(uow, tree.who["quality"], limit=2)
        second = trace.list_snapshots(uow, tree.who["quality"], cursor=first.next_cursor, limit=2)
        shown = trace.get_snapshot(uow, tree.who["quality"], snapshot_id=made[0])
        assert [s.id for s in first.items + second.items] == list(reversed(made))
        assert second.next_cursor is None
        assert shown.result["start"]["code"] == tree.sub.lot.number
        assert shown.reason == "round 0" and shown.run_by == tree.who["quality"].user_id
    others = people(tx, other_world)
    with pytest.raises(NotFound), tx.uow(tenant_id=other_world.tenant_id) as uow:
        trace.get_snapshot(uow, others["quality"], snapshot_id=made[0])
    with pytest.raises(NotFound), tx.uow(tenant_id=world.tenant_id) as uow:
        trace.get_snapshot(uow, tree.who["quality"], snapshot_id=uuid.uuid4())
