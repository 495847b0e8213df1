"""The recall report: one PDF for a regulator (21 CFR 806.10 reports, the NMPA's recall
report, an ISO 13485 §8.3.3 record), in one language.

What was recalled and why (title, reason, classification, the trace it started from),
the scope with quantities and where each unit is, progress (located, held, returned,
destroyed; for a mock recall the time from opening to all located, prominently),
supplier notices and their acknowledgements, the timeline of actions with times and who
did them, and the closing signature block (printed name, time, meaning). Laid out by
weasyprint on A4, rendered without Flask through the kernel's translated Jinja
environment (kernel.mail), as scoring's scorecard PDF is; every word is an N_() msgid
below (CAPTIONS and erp.traceability.recall's labels). Nothing is fetched while laying
out; "Noto Sans CJK SC" carries Latin and Chinese alike.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import weasyprint
from babel.numbers import format_decimal
from markupsafe import Markup
from weasyprint.urls import URLFetcher

from auth.signatures import MEANINGS
from erp.coldchain import charts as coldchain_charts
from erp.inventory import service as inventory
from erp.traceability import recall as recalls
from kernel.charts import fit_width
from kernel.clock import utcnow
from kernel.errors import N_
from kernel.mail import default_templates, normalise_locale, translator
from kernel.settings import PROJECT_ROOT
from tenants import service as tenants

TEMPLATE = "erp/traceability/templates/recall_report.html"
BASE = PROJECT_ROOT / "erp" / "traceability" / "templates"

CAPTIONS = {
    "title": N_("Recall report"),
    "mock_title": N_("Mock recall report"),
    "mock_note": N_("A mock recall is a practice run: no stock was changed and nothing was sent to suppliers or customers."),
    "printed": N_("Printed %(when)s"),
    "page_of": N_("Page %(page)s of %(pages)s"),
    "what": N_("What is recalled"),
    "number": N_("Recall number"),
    "subject": N_("Subject"),
    "reason": N_("Reason"),
    "classification": N_("Classification"),
    "status": N_("Status"),
    "opened": N_("Opened"),
    "opened_by": N_("Opened by"),
    "trace": N_("Started from the trace"),
    "trace_of": N_("%(code)s, run %(when)s: %(reason)s"),
    "elapsed": N_("Time from opening to all located"),
    "not_yet": N_("Not all located yet"),
    "all_located_at": N_("All located at %(when)s"),
    "progress": N_("Progress"),
    "lines": N_("Lines in scope"),
    "located": N_("Located"),
    "held": N_("Held"),
    "returned": N_("Returned"),
    "destroyed": N_("Destroyed"),
    "to_locate": N_("To locate"),
    "scope": N_("Scope"),
    "item": N_("Item"),
    "lot": N_("Lot"),
    "serial": N_("Serial number"),
    "quantity": N_("Quantity"),
    "where": N_("Where"),
    "state": N_("State"),
    "supplier": N_("Supplier"),
    "out_of_scope": N_("Out of scope: %(reason)s"),
    "added": N_("Added: %(reason)s"),
    "notices": N_("Supplier notices"),
    "sent": N_("Sent"),
    "acknowledged": N_("Acknowledged"),
    "response": N_("Response"),
    "not_acknowledged": N_("Not acknowledged yet"),
    "timeline": N_("Timeline"),
    "when": N_("When"),
    "action": N_("Action"),
    "by": N_("By"),
    "detail": N_("Detail"),
    "opened_event": N_("Recall opened"),
    "closed_event": N_("Recall closed"),
    "signature": N_("Closing signature"),
    "signed_by": N_("Signed by"),
    "signed_at": N_("Signed at"),
    "meaning": N_("Meaning"),
    "part11": N_("Electronic signature (21 CFR Part 11): the signer re-entered the password at the moment of signing."),
    "changed": N_("The recall changed after it was signed."),
    "unsigned": N_("This recall is not closed: it has no closing signature yet."),
    "none": N_("None"),
    "cold_chain": N_("Cold chain of the lots in scope"),
    "cold_chain_lot": N_("Lot %(lot)s: temperature history"),
}
MAX_CHARTS = 12  # lots with a data logger shown; the rest are on their lots' pages


def recall_pdf(uow, actor, *, recall_id: uuid.UUID, language: str | None, timezone: str = "UTC") -> tuple[bytes, str]:
    """The recall's report as a PDF, and its file name (recall.run checks in the view)."""
    view = recalls.recall_view(uow, actor, recall_id=recall_id)
    tenant = tenants.own_organisation(uow)
    pdf = render_pdf(
        view,
        cold_chain=_cold_chain(uow, actor, view, language=language, timezone=timezone or "UTC"),
        tenant_name=tenant.name if tenant else "",
        tenant_name_zh=tenant.name_zh if tenant else None,
        language=language,
        timezone=timezone or "UTC",
        printed_at=utcnow(),
    )
    return pdf, filename(view.recall)


def _cold_chain(uow, actor, view: recalls.RecallView, *, language, timezone: str) -> list[tuple[str, Markup]]:
    """The temperature history of each lot in scope that a data logger watched, as SVG
    (limits drawn, excursions shaded), for the report. Empty for a reader without
    cold-chain access."""
    if not actor.permissions & {"coldchain.view", "lot.release"} and actor.kind != "system":
        return []
    lot_ids = list(dict.fromkeys(s.lot_id for s in view.lines if s.lot_id and s.included))
    lots = inventory.lots_by_id(uow, ids=lot_ids)
    translate = translator(language)
    found = []
    for lot_id in lot_ids:
        if not coldchain_charts.bindings_of_lot(uow, lot_id=lot_id):
            continue
        history = coldchain_charts.lot_history(uow, actor, lot_id=lot_id)
        title = translate(CAPTIONS["cold_chain_lot"], lot=lots[lot_id].number)
        chart = fit_width(coldchain_charts.svg(history, title=title, translate=translate, timezone=timezone))
        found.append((title, Markup(chart)))  # noqa: S704 - matplotlib's SVG, its text escaped
        if len(found) == MAX_CHARTS:
            break
    return found


def filename(recall) -> str:
    return f"recall-{recall.number}.pdf"


def render_pdf(
    view: recalls.RecallView,
    *,
    cold_chain: list[tuple[str, Markup]] = (),
    tenant_name: str,
    tenant_name_zh: str | None,
    language: str | None,
    timezone: str,
    printed_at: datetime,
) -> bytes:
    locale = normalise_locale(language)
    chinese = locale == "zh_Hans_CN"
    env = default_templates().environment(locale)

    def num(value) -> str:
        return format_decimal(value, format="#,##0.####", locale=locale)

    html = env.get_template(TEMPLATE).render(
        v=view,
        cold_chain=cold_chain,
        r=view.recall,
        c=CAPTIONS,
        chinese=chinese,
        tenant_name=tenant_name_zh if chinese and tenant_name_zh else tenant_name,
        num=num,
        timezone=timezone,
        printed_at=printed_at,
        elapsed=recalls.format_elapsed(view.progress.elapsed),
        classification_labels=recalls.CLASSIFICATION_LABELS,
        place_labels=recalls.PLACE_LABELS,
        state_labels=recalls.STATE_LABELS,
        action_labels=recalls.ACTION_LABELS,
        mock_action_labels=recalls.MOCK_ACTION_LABELS,
        status_labels=recalls.STATUS_LABELS,
        meanings=MEANINGS,
        lang="zh-Hans-CN" if chinese else "en",
    )
    document = weasyprint.HTML(string=html, base_url=str(BASE), url_fetcher=URLFetcher(allowed_protocols=()))
    return document.write_pdf()
