"""A supplier's scorecard as a PDF: one supplier, one period, in one language.

The score, grade and action, every KPI with its inputs and weight, the score's trend
over the last twelve periods beside the tenant average (a chart and the same numbers
as a table), and the reviewer's signature when the scorecard is signed. Laid out by
weasyprint on A4, in the reader's language for a download and in the recipient's for
the monthly mail (scoring.mailing), so it renders without Flask: the template is
translated through the kernel's Jinja environment (kernel.mail), as the GS1 labels are.

Nothing is fetched while laying out: the stylesheet and the chart (SVG) are inline, the
fonts the system's ("Noto Sans CJK SC" carries Latin and Chinese alike).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import weasyprint
from babel.numbers import format_decimal
from markupsafe import Markup
from weasyprint.urls import URLFetcher

from kernel.charts import fit_width
from kernel.clock import utcnow
from kernel.errors import N_
from kernel.mail import default_templates, normalise_locale, translator
from kernel.settings import PROJECT_ROOT
from scoring import charts
from scoring import service as scoring
from scoring.models import ScoringSetting
from scoring.periods import Period
from tenants.models import Organisation, Tenant

TEMPLATE = "scoring/templates/scorecard_pdf.html"
BASE = PROJECT_ROOT / "scoring" / "templates"
TREND_COUNT = 12
# The tenant's defaults when it has not set its grade thresholds (scoring.models).
DEFAULT_GRADES = {"A": Decimal(90), "B": Decimal(75), "C": Decimal(60)}

UNIT_LABELS = {
    "%": "%",
    "ppm": N_("ppm"),
    "per100": N_("per 100 lots"),
    "hours": N_("hours"),
    "days": N_("days"),
}
ACTION_LABELS = {
    "none": N_("No action"),
    "warn": N_("Warning to the buyers"),
    "approval": N_("New orders need approval"),
    "block": N_("New orders blocked"),
}
CAPTIONS = {
    "no_data": N_("No data"),
    "title": N_("Supplier scorecard"),
    "printed": N_("Printed %(when)s"),
    "page_of": N_("Page %(page)s of %(pages)s"),
    "computed": N_("Computed %(when)s"),
    "score": N_("Score"),
    "grade": N_("Grade"),
    "consequence": N_("Consequence"),
    "no_score": N_("There is no data for this supplier in this period, so it has no score."),
    "kpis": N_("Key performance indicators"),
    "indicator": N_("Indicator"),
    "value": N_("Value"),
    "counted": N_("Counted"),
    "weight": N_("Weight"),
    "points": N_("Points"),
    "score_trend": N_("Score over the last 12 periods"),
    "chart_numbers": N_("The numbers of the chart"),
    "period": N_("Period"),
    "average": N_("Tenant average"),
    "signed": N_("Reviewed and signed"),
    "signed_meaning": N_("Meaning: reviewed. Electronic signature (21 CFR Part 11)."),
    "unsigned": N_("This scorecard has not been signed by a reviewer."),
    "stale": N_(
        "%(name)s signed this scorecard on %(when)s, but it has changed since (recomputed, a dispute accepted or the"
        " weights changed): that signature no longer covers these figures."
    ),
    "score_trend_desc": N_("The supplier's score per period, with the tenant average as a dashed line."),
    "grade_line": N_("Grade %(grade)s"),
    "dash_note": N_("–: no data in that period."),
}


@dataclass(frozen=True)
class PdfContext:
    """What the PDF says besides the scorecard itself."""

    tenant_name: str
    tenant_name_zh: str | None
    supplier_code: str | None
    supplier_name_zh: str | None
    grades: dict[str, Decimal]
    printed_at: datetime
    timezone: str = "UTC"


def scorecard_pdf(
    uow,
    actor,
    *,
    supplier_id: uuid.UUID,
    period: Period,
    language: str | None,
    timezone: str = "UTC",
    for_supplier: bool | None = None,
) -> tuple[bytes, str]:
    """The PDF of a supplier's scorecard in `period`, and its file name. The scoring
    service checks the permission and what the actor may see (a supplier: its own; any
    other supplier is not found). A supplier's copy (`for_supplier`, by default when the
    actor is a supplier's) leaves out the tenant average, which suppliers do not see."""
    if for_supplier is None:
        for_supplier = actor.supplier_id is not None
    card = scoring.scorecard(uow, actor, supplier_id=supplier_id, period=period)
    until = date.fromordinal(period.end.toordinal() - 1)
    trend = scoring.trend(uow, actor, supplier_id=supplier_id, kind=period.kind, until=until, count=TREND_COUNT)
    average = [] if for_supplier else scoring.tenant_average(uow, actor, kind=period.kind, until=until, count=TREND_COUNT)
    tenant = uow.session.get(Tenant, uow.tenant_id)
    supplier = uow.session.get(Organisation, (uow.tenant_id, supplier_id))
    context = PdfContext(
        tenant_name=tenant.name if tenant else "",
        tenant_name_zh=tenant.name_zh if tenant else None,
        supplier_code=supplier.code if supplier else None,
        supplier_name_zh=supplier.name_zh if supplier else None,
        grades=grade_thresholds(uow),
        printed_at=utcnow(),
        timezone=timezone or "UTC",
    )
    pdf = render_pdf(card, trend, average, context=context, language=language)
    return pdf, filename(card, context)


def filename(card: scoring.Scorecard, context: PdfContext) -> str:
    """ASCII: scorecard-<supplier code>-<period>.pdf."""
    code = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in (context.supplier_code or "supplier"))
    return f"scorecard-{code}-{card.period.key}.pdf"


def grade_thresholds(uow) -> dict[str, Decimal]:
    setting = uow.session.scalar(sa.select(ScoringSetting))
    if setting is None:
        return dict(DEFAULT_GRADES)
    return {"A": setting.grade_a_min, "B": setting.grade_b_min, "C": setting.grade_c_min}


def render_pdf(
    card: scoring.Scorecard,
    trend: Sequence[scoring.Scorecard],
    average: Sequence[scoring.Scorecard],
    *,
    context: PdfContext,
    language: str | None,
) -> bytes:
    """The PDF of `card` with its trend, from plain data (no database)."""
    locale = normalise_locale(language)
    env = default_templates().environment(locale)
    translate = translator(locale)
    chinese = locale == "zh_Hans_CN"

    def num(value, digits: int = 1) -> str:
        if value is None:
            return translate(CAPTIONS["no_data"])
        return format_decimal(value, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=locale)

    def name(plain: str | None, zh: str | None) -> str:
        return zh if chinese and zh else (plain or "")

    points = [(c.period.key, c.score) for c in trend]
    averages = [(c.period.key, c.score) for c in average]
    svg = charts.trend_chart(
        points,
        averages,
        title=translate(CAPTIONS["score_trend"]),
        description=translate(CAPTIONS["score_trend_desc"]),
        y_label=translate(CAPTIONS["score"]),
        limits=[(value, translate(CAPTIONS["grade_line"], grade=grade)) for grade, value in context.grades.items()],
        series_label=name(card.supplier_name, context.supplier_name_zh),
        average_label=translate(CAPTIONS["average"]),
        no_data=translate(CAPTIONS["no_data"]),
        y_range=(0, 100),
        size=(7.5, 2.7),
    )
    by_period = {c.period.key: c.score for c in average}
    html = env.get_template(TEMPLATE).render(
        card=card,
        trend=trend,
        average=by_period,
        chart=Markup(fit_width(svg)),  # noqa: S704 - matplotlib's SVG; the text in it is escaped by to_svg and matplotlib
        context=context,
        captions=CAPTIONS,
        unit_labels=UNIT_LABELS,
        action_labels=ACTION_LABELS,
        num=num,
        name=name,
        supplier_name=name(card.supplier_name, context.supplier_name_zh),
        tenant_name=name(context.tenant_name, context.tenant_name_zh),
        last_day=date.fromordinal(card.period.end.toordinal() - 1),
        lang="zh-Hans-CN" if chinese else "en",
    )
    document = weasyprint.HTML(string=html, base_url=str(BASE), url_fetcher=URLFetcher(allowed_protocols=()))
    return document.write_pdf()
