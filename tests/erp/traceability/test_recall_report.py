"""The recall report PDF for a regulator: what, why, classification, the scope with its
places and quantities, the timeline and the closing signature, in English and Chinese;
a mock recall's report shows the time to all located."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.support import Translations
from pypdf import PdfReader

from erp.traceability import recall as recalls
from erp.traceability import recall_report
from erp.traceability.models import Recall
from kernel.errors import Forbidden
from kernel.mail import TRANSLATIONS_DIR
from tests.erp.receiving.receiving_support import signing
from tests.erp.traceability.recall_support import make_chain
from tests.erp.traceability.recall_support import who as who  # the fixture
from tests.factories import PASSWORD


def _text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    return " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _closed_recall(uow, who, world, settings, *, mock: bool = False):
    chain = make_chain(uow, who, world)
    recall = recalls.open_recall(
        uow,
        who["quality"],
        snapshot_id=chain.snapshot.id,
        title="Tubing seal defect",
        reason="Leaking seals reported by the supplier",
        classification="class_ii",
        mock=mock,
    )
    recalls.hold_stock(uow, who["quality"], recall_id=recall.id)
    recalls.notify_suppliers(uow, who["quality"], recall_id=recall.id)
    recalls.notify_customers(uow, who["quality"], recall_id=recall.id)
    for line in recalls.scope_of(uow, who["quality"], recall_id=recall.id):
        if line.place == "customer":
            recalls.record_return(uow, who["quality"], scope_id=line.id, quantity=line.quantity, note="Returned by courier")
    recalls.close_recall(uow, who["quality"], recall_id=recall.id, password=PASSWORD, **signing(settings))
    return chain, recall


def _keep(name: str, pdf: bytes) -> None:
    """RECALL_PDF_DIR=/some/dir keeps the PDFs to look at (pdftoppm -png -r 60)."""
    folder = os.environ.get("RECALL_PDF_DIR")
    if folder:
        Path(folder, name).write_bytes(pdf)


def test_the_report_says_what_why_scope_timeline_and_signature(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain, recall = _closed_recall(uow, who, world, settings)
        pdf, name = recall_report.recall_pdf(uow, who["quality"], recall_id=recall.id, language="en")
        _keep("recall-en.pdf", pdf)
        assert name == f"recall-{recall.number}.pdf"
        text = _flat(_text(pdf))
        for expected in (
            "Recall report",
            recall.number,
            "Tubing seal defect",
            "Leaking seals reported by the supplier",
            "Class II",
            chain.component_lot.number,
            chain.finished_lot.number,
            "In our stock",
            "At a customer",
            "City Hospital",
            "Used in another lot",
            "Stock put on hold",
            "Customer notified",
            "Return recorded",
            "Closing signature",
            "Approved",
            "Timeline",
            f"Tenant {world.slug}",
        ):
            assert expected in text, expected
        signer = uow.scalar(sa.text("select full_name from user_account where id = :id"), {"id": who["quality"].user_id})
        assert signer in text


def test_the_report_in_chinese(tx, world, who, settings):
    zh = Translations.load(str(TRANSLATIONS_DIR), ["zh_Hans_CN"])
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain, recall = _closed_recall(uow, who, world, settings)
        pdf, _ = recall_report.recall_pdf(
            uow, who["quality"], recall_id=recall.id, language="zh_Hans_CN", timezone="Asia/Shanghai"
        )
        _keep("recall-zh.pdf", pdf)
        text = _flat(_text(pdf))
        for msgid in ("Recall report", "Scope", "Timeline", "Closing signature", "In our stock"):
            assert _flat(zh.gettext(msgid)) in text, msgid
        assert f"租户 {world.slug}" in text and "上海第一医院" in text and "输液器" in text and "导管" in text
        assert "年" in text  # dates in Chinese
        assert recall.number in text and chain.finished_lot.number in text


def test_a_mock_recall_report_shows_the_time_to_all_located(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = recalls.open_recall(
            uow,
            who["quality"],
            snapshot_id=chain.snapshot.id,
            title="Practice",
            reason="Annual mock recall",
            classification="class_iii",
            mock=True,
        )
        uow.execute(sa.update(Recall).where(Recall.id == recall.id).values(created_at=Recall.created_at - timedelta(minutes=95)))
        uow.session.expire(recall)
        for line in recalls.scope_of(uow, who["quality"], recall_id=recall.id):
            if line.place == "customer":
                recalls.mark_located(uow, who["quality"], scope_id=line.id, note="Confirmed")
        pdf, name = recall_report.recall_pdf(uow, who["quality"], recall_id=recall.id, language="en")
        _keep("mock-en.pdf", pdf)
        assert name.startswith("recall-MR-")
        text = _flat(_text(pdf))
        assert "Mock recall report" in text and "Time from opening to all located" in text and "1:35:" in text
        assert "no stock was changed" in text


def test_only_recall_runners_get_the_report(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = recalls.open_recall(
            uow, who["quality"], snapshot_id=chain.snapshot.id, title="T", reason="R", classification="class_i"
        )
        for person in ("viewer", "supplier1"):
            with pytest.raises(Forbidden):
                recall_report.recall_pdf(uow, who[person], recall_id=recall.id, language="en")


def test_the_report_shows_the_temperature_history_of_lots_a_logger_watched(tx, world, who):
    from erp.coldchain import readings
    from erp.coldchain import service as coldchain
    from kernel.clock import utcnow

    quality = who["quality"]
    with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow:
        chain = make_chain(uow, who, world)
        logger = coldchain.register_logger(uow, quality, code="DL-REPORT-1")
        start = utcnow().replace(microsecond=0) - timedelta(hours=3)
        coldchain.bind_logger(uow, quality, logger_id=logger.id, kind="lot", target_id=chain.component_lot.id, starts_at=start)
        series = [(start + timedelta(minutes=10 * n), 5.0 + n % 3, None) for n in range(12)]
        readings.ingest(uow, quality, logger_code="DL-REPORT-1", key="b1", readings=series)
        recall = recalls.open_recall(
            uow, quality, snapshot_id=chain.snapshot.id, title="Seal defect", reason="Leaking seals", classification="class_ii",
        )  # fmt: skip
        pdf = recall_report.recall_pdf(uow, quality, recall_id=recall.id, language="zh_Hans_CN")[0]
        _keep("recall-cold-chain-zh.pdf", pdf)
        text = _flat(_text(recall_report.recall_pdf(uow, quality, recall_id=recall.id, language="en")[0]))
        watched, unwatched = chain.component_lot.number, chain.finished_lot.number
    assert "Cold chain of the lots in scope" in text
    assert f"Lot {watched}: temperature history" in text
    assert f"Lot {unwatched}: temperature history" not in text  # no logger on it
