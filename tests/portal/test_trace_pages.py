"""Trace pages through the web client: the quality engineer scans a finished device's UDI
with a reason, sees the tree back to the suppliers' ship notices and forward to the
customers, downloads CSV, XLSX and PDF, and finds the trace in the list; a bad code is
explained on the form; suppliers, buyers and other tenants get nothing."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from erp.traceability.models import TraceSnapshot
from tests.erp.traceability.trace_support import genealogy
from tests.portal.support import signed_in, text_of, token_in

SNAPSHOT_PAGE = re.compile(r"/traceability/trace/([0-9a-f-]{36})$")


@pytest.fixture
def tree(tx, world):
    return genealogy(tx, world)


@pytest.fixture
def quality(app, world):
    return signed_in(app, world.users["quality"])


def run(client, code: str, reason: str = "Complaint 17", direction: str = "both"):
    token = token_in(client.get("/traceability/trace").data)
    return client.post(
        "/traceability/trace", data={"code": code, "reason": reason, "direction": direction, "csrf_token": token}
    )


def traced(client, code: str, **kw) -> str:
    response = run(client, code, **kw)
    assert response.status_code == 303, text_of(response)
    return SNAPSHOT_PAGE.search(response.headers["Location"]).group(1)


def udi(tree) -> str:
    return f"]d201{tree.device.udi_di}10{tree.finished.lot.number}\x1d21{tree.finished.serials[0]}"


def test_the_quality_engineer_scans_a_udi_and_sees_both_ways(tx, world, tree, quality):
    form = text_of(quality.get("/traceability/trace"))
    assert 'id="trace-code"' in form and "autofocus" in form and 'name="reason"' in form
    snapshot_id = traced(quality, udi(tree))
    page = text_of(quality.get(f"/traceability/trace/{snapshot_id}"))
    for asn in tree.asns:
        assert asn.number in page
    for order in tree.pos:
        assert order.number in page
    for supplier in world.suppliers:
        assert supplier.name in page
    assert tree.customers[0].name in page and tree.sub.lot.number in page
    assert "Backward: what went into it" in page and "Forward: what it went into" in page
    assert "Complaint 17" in page and 'class="badge badge-stock-shipped"' in page
    listing = text_of(quality.get("/traceability/trace"))
    assert snapshot_id in listing and "Complaint 17" in listing


def test_exports_csv_xlsx_and_pdf(tx, world, tree, quality):
    from openpyxl import load_workbook

    snapshot_id = traced(quality, tree.components[0].lot.number, direction="forward")
    csv = quality.get(f"/traceability/trace/{snapshot_id}.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    body = csv.data.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("Direction,Depth,Kind,Code")
    assert tree.customers[1].name in body and tree.finished.serials[1] in body
    xlsx = quality.get(f"/traceability/trace/{snapshot_id}.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("Direction", "Depth", "Kind", "Code") and len(rows) == len(body.splitlines())
    pdf = quality.get(f"/traceability/trace/{snapshot_id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_the_page_and_pdf_in_chinese(tx, world, tree, quality):
    snapshot_id = traced(quality, udi(tree))
    token = token_in(quality.get("/traceability/trace").data)
    quality.post("/language", data={"locale": "zh_Hans_CN", "next": "/traceability/trace", "csrf_token": token})
    page = text_of(quality.get(f"/traceability/trace/{snapshot_id}"))
    assert '<html lang="zh-Hans-CN"' in page or 'lang="zh' in page
    assert "输液泵" in page  # the item's Chinese name
    pdf = quality.get(f"/traceability/trace/{snapshot_id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_bad_code_or_no_reason_is_explained_on_the_form_and_nothing_kept(tx, world, tree, quality):
    response = run(quality, "NO-SUCH-CODE-9")
    assert response.status_code == 422
    assert "Nothing here has the code NO-SUCH-CODE-9" in text_of(response)
    response = run(quality, tree.sub.lot.number, reason=" ")
    assert response.status_code == 422 and "Say why this trace is run" in text_of(response)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(TraceSnapshot)) == 0


@pytest.mark.parametrize("who", ["buyer", "supplier1"])
def test_who_may_not_run_recalls_gets_no_trace(app, world, who):
    client = signed_in(app, world.users[who])
    assert client.get("/traceability/trace").status_code == 403


def test_another_tenants_trace_is_not_found(tx, world, other_world, tree, quality, app):
    snapshot_id = traced(quality, tree.sub.lot.number)
    theirs = signed_in(app, other_world.users["quality"])
    assert theirs.get(f"/traceability/trace/{snapshot_id}").status_code == 404
    assert theirs.get(f"/traceability/trace/{snapshot_id}.csv").status_code == 404
