"""Change orders: a new revision with a diff, back to the supplier for the changed
lines only; bad changes are refused whole and change nothing; a stale copy is refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from erp.purchasing import changes
from erp.purchasing import confirmation as po
from erp.purchasing.errors import PurchaseOrderChanged, PurchaseOrderNotFound, WrongStatus
from kernel.errors import Forbidden, ValidationFailed
from tests.erp.po_support import actors, issued_order, snapshot, soon


def detail(tx, world, po_id):
    """The order as plain values (the rows expire when the unit of work ends)."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        found = po.get_purchase_order_detail(uow, po_id=po_id)
        order = SimpleNamespace(status=found.order.status, version=found.order.version, revision=found.order.revision)
        lines = [
            SimpleNamespace(
                line=SimpleNamespace(id=d.line.id, line_no=d.line.line_no, status=d.line.status),
                responses=[SimpleNamespace(decision=r.decision) for r in d.responses],
            )
            for d in found.lines
        ]
        return SimpleNamespace(order=order, lines=lines)


def accept_all(tx, world, who, po_id):
    found = detail(tx, world, po_id)
    supplier = who["supplier1"]
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        answers = [{"line_id": d.line.id, "action": "accept"} for d in found.lines if d.line.status == "open"]
        po.respond_to_purchase_order(
            uow, supplier, po_id=po_id, revision=found.order.revision, version=found.order.version, responses=answers
        )
        uow.commit()


def revise(tx, world, who, po_id, change_list, reason="Forecast changed", version=None, actor="buyer"):
    version = detail(tx, world, po_id).order.version if version is None else version
    with tx.uow(tenant_id=world.tenant_id, actor=who[actor]) as uow:
        revision = changes.revise_purchase_order(
            uow, who[actor], po_id=po_id, version=version, changes=change_list, reason=reason
        )
        uow.commit()
        return SimpleNamespace(revision=revision.revision, diff=revision.diff, previous_lines=revision.previous_lines)


def test_a_change_order_is_a_new_revision_with_a_diff_and_only_changed_lines_reopen(tx, world):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    accept_all(tx, world, who, po_id)
    before = detail(tx, world, po_id)
    assert before.order.status == "acknowledged"
    first, second, third, _ = (d.line for d in before.lines)

    revision = revise(
        tx,
        world,
        who,
        po_id,
        [
            {"line_id": first.id, "quantity": "150", "requested_date": soon(60).isoformat()},
            {"line_id": second.id, "remove": True},
            {"item_id": world.items[0].id, "quantity": "5", "unit_price": "9.90", "requested_date": soon(40).isoformat()},
        ],
    )

    after = detail(tx, world, po_id)
    assert (after.order.revision, after.order.status, revision.revision) == (2, "partially_acknowledged", 2)
    statuses = {d.line.line_no: d.line.status for d in after.lines}
    assert statuses == {first.line_no: "open", second.line_no: "cancelled", third.line_no: "accepted", 40: "accepted", 50: "open"}
    assert {(c["line_no"], c["change"], c["field"]) for c in revision.diff} == {
        (first.line_no, "changed", "quantity"),
        (first.line_no, "changed", "requested_date"),
        (second.line_no, "removed", None),
        (50, "added", None),
    }
    [quantity] = [c for c in revision.diff if c["field"] == "quantity"]
    assert (quantity["from"], quantity["to"]) == ("100", "150")
    assert [line["quantity"] for line in revision.previous_lines] == ["100"] * 4
    # The supplier answers the new revision; the old one is refused.
    stale = who["supplier1"]
    with tx.uow(tenant_id=world.tenant_id, actor=stale) as uow, pytest.raises(PurchaseOrderChanged):
        answer = [{"line_id": first.id, "action": "accept"}]
        po.respond_to_purchase_order(uow, stale, po_id=po_id, revision=1, version=after.order.version, responses=answer)
    accept_all(tx, world, who, po_id)
    assert detail(tx, world, po_id).order.status == "acknowledged"
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        assert [r.revision for r in changes.list_revisions(uow, po_id=po_id)] == [2]


def test_pending_answers_of_the_old_revision_are_superseded(tx, world):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    found = detail(tx, world, po_id)
    line = found.lines[0].line
    supplier = who["supplier1"]
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        proposal = {"line_id": line.id, "action": "propose", "promised_date": soon(70).isoformat()}
        po.respond_to_purchase_order(uow, supplier, po_id=po_id, revision=1, version=found.order.version, responses=[proposal])
        uow.commit()
    revise(tx, world, who, po_id, [{"line_id": line.id, "requested_date": soon(70).isoformat()}])
    [answer] = detail(tx, world, po_id).lines[0].responses
    assert answer.decision == "superseded"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ([], "changes"),
        ([{"line_id": "not-a-line"}], "changes.0.line_id"),
        ([{"line_id": "FIRST", "quantity": "0"}], "changes.0.quantity"),
        ([{"line_id": "FIRST", "quantity": "1.5"}], "changes.0.quantity"),
        ([{"line_id": "FIRST", "requested_date": "2020-01-01"}], "changes.0.requested_date"),
        ([{"line_id": "FIRST", "quantity": "100"}], "changes.0.line_id"),
        ([{"line_id": "FIRST", "quantity": "120"}, {"line_id": "FIRST", "remove": True}], "changes.1.line_id"),
        ([{"item_id": "nope", "quantity": "1", "unit_price": "1", "requested_date": "2030-01-01"}], "changes.0.item_id"),
    ],
)
def test_bad_changes_are_refused_whole_and_change_nothing(tx, world, change, field):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    first = detail(tx, world, po_id).lines[0].line.id
    change = [{k: (first if v == "FIRST" else v) for k, v in c.items()} for c in change]
    before = snapshot(tx, world, po_id)
    with pytest.raises(ValidationFailed) as refused:
        revise(tx, world, who, po_id, change)
    assert field in refused.value.errors
    assert snapshot(tx, world, po_id) == before


def test_a_reason_is_needed_and_every_line_cannot_go(tx, world):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who, count=1)
    line = detail(tx, world, po_id).lines[0].line
    with pytest.raises(ValidationFailed) as refused:
        revise(tx, world, who, po_id, [{"line_id": line.id, "quantity": "5"}], reason="  ")
    assert "reason" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:
        revise(tx, world, who, po_id, [{"line_id": line.id, "remove": True}])
    assert "changes" in refused.value.errors


def test_a_reason_over_the_limit_is_refused_and_changes_nothing(tx, world):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who, count=1)
    line = detail(tx, world, po_id).lines[0].line
    before = snapshot(tx, world, po_id)
    change = [{"line_id": line.id, "quantity": "5"}]
    with pytest.raises(ValidationFailed) as refused:
        revise(tx, world, who, po_id, change, reason="x" * (changes.MAX_REASON + 1))
    assert refused.value.errors == {"reason": "This is too long."}
    assert snapshot(tx, world, po_id) == before
    assert revise(tx, world, who, po_id, change, reason="x" * changes.MAX_REASON).revision == 2  # at the limit


def test_a_cancelled_line_cannot_be_changed_again(tx, world):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who, count=2)
    removed = detail(tx, world, po_id).lines[0].line
    revise(tx, world, who, po_id, [{"line_id": removed.id, "remove": True}])
    before = snapshot(tx, world, po_id)
    for change in ({"line_id": removed.id, "quantity": "120"}, {"line_id": removed.id, "remove": True}):
        with pytest.raises(ValidationFailed) as refused:
            revise(tx, world, who, po_id, [change])
        assert refused.value.errors == {"changes.0.line_id": changes.CANCELLED_LINE}
    assert snapshot(tx, world, po_id) == before


def test_a_stale_copy_a_draft_a_supplier_and_a_viewer_are_refused(tx, world):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    line = detail(tx, world, po_id).lines[0].line
    change = [{"line_id": line.id, "quantity": "120"}]
    with pytest.raises(PurchaseOrderChanged):
        revise(tx, world, who, po_id, change, version=0)
    draft = issued_order(tx, world, who, issue=False)
    draft_line = detail(tx, world, draft).lines[0].line
    with pytest.raises(WrongStatus):
        revise(tx, world, who, draft, [{"line_id": draft_line.id, "quantity": "120"}])
    with pytest.raises(Forbidden):
        revise(tx, world, who, po_id, change, actor="supplier1")
    with pytest.raises(Forbidden):
        revise(tx, world, who, po_id, change, actor="viewer")
    other = issued_order(tx, world, who, supplier=1)
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        assert changes.list_revisions(uow, po_id=other) == []
    assert PurchaseOrderNotFound  # a supplier never reaches revise (po.manage is buyer-side)
