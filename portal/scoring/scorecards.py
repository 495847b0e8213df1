"""Supplier scorecards for buyers and quality engineers: the suppliers' scorecards of a
period (best or worst first, "Recompute now"), one supplier's scorecard with each KPI's
working (value, numerator / denominator, weight, the weight it carries after the KPIs
without data were left out, points), the transactions behind each KPI, the score's
trend beside the tenant average, the queue of suppliers' disputes and the scoring
settings. The supplier's own pages are in portal/scoring/supplier.py; the helpers both
share are here.

Ids in the URL are named `supplier`, as on the trends and PDF routes: another
supplier's scorecard is "not found" from the service, as any scorecard that does not
exist."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from auth.errors import SignatureRefused
from kernel.clock import utcnow
from kernel.errors import N_, DomainError, ValidationFailed
from portal.items.forms import CATEGORY_LABELS
from portal.scoring.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.i18n import error_text, field_errors
from portal.shell.identity import can
from portal.shell.signatures import keep_refusal, signing_kwargs
from scoring import dashboard as scoring_filters
from scoring import reports, service
from scoring import rules as scoring_rules
from scoring.compute import EVERYTHING, Slice
from scoring.models import ACTIONS, DISPUTE_STATUSES, KPIS
from scoring.periods import KIND_LABELS, KINDS, Period, period_of
from tenants import service as tenants

PAGE_SIZE = 50
EVIDENCE_PAGE = 100
DISPUTE_LIMIT = 200
DISPUTE_STATUS_LABELS = {"open": N_("Open"), "accepted": N_("Accepted"), "rejected": N_("Rejected")}
# The trend chart and the PDF are the reports' routes (portal/scoring/dashboard.py).
TREND_CHART = "scoring.scorecard_trend_chart"
TRENDS_PAGE = "scoring.scorecard_trends"
PDF = "scoring.scorecard_pdf"


@blueprint.context_processor
def _scorecard_globals():
    return {
        "has_endpoint": lambda name: name in current_app.view_functions,
        "KIND_LABELS": KIND_LABELS,
        "ACTION_LABELS": scoring_rules.ACTION_LABELS,
        "UNIT_LABELS": reports.UNIT_LABELS,
        "DISPUTE_STATUS_LABELS": DISPUTE_STATUS_LABELS,
        "CATEGORY_LABELS": CATEGORY_LABELS,
        # A page that does not offer the site and category choice shows everything.
        "slice_args": {},
        "slice_form": None,
    }


# --- shared with the supplier's pages -----------------------------------------------------


def last_complete_month(today: date) -> Period:
    return period_of("month", today.replace(day=1) - timedelta(days=1))


def kind_of(key: str) -> str:
    key = key.strip().upper()
    return "quarter" if "-Q" in key else "rolling12" if key.startswith("R12-") else "month"


def chosen_period(args=None) -> tuple[Period, dict]:
    """The period of the query string (kind and key; the key alone names its own kind),
    by default the last complete month (of the kind chosen). Bad input: the default
    and the field messages."""
    args = request.args if args is None else args
    kind = (args.get("kind") or "").strip() or None
    key = (args.get("period") or "").strip()
    default = last_complete_month(utcnow().date())
    try:
        if key:
            return period_of(kind or kind_of(key), key), {}
        return period_of(kind or "month", default.start), {}
    except ValidationFailed as error:
        return default, field_errors(error)


def chosen_slice(args=None) -> tuple[Slice, dict]:
    """The receiving site and item category of the query string (blank: all), and the
    field messages: an unknown one shows everything, with its message."""
    args = request.args if args is None else args
    try:
        part, _ = scoring_filters.slice_of(request_uow(), site=args.get("site"), category=args.get("category"))
        return part, {}
    except ValidationFailed as error:
        return EVERYTHING, field_errors(error)


def slice_args(part: Slice) -> dict:
    """The query string arguments that give the slice back (none for everything)."""
    out = {}
    if part.site_id is not None:
        out["site"] = str(part.site_id)
    if part.category:
        out["category"] = part.category
    return out


def slice_context(part: Slice, errors: dict, args=None) -> dict:
    """What the site and category choice shows, and the arguments every link of a
    sliced page carries on."""
    args = request.args if args is None else args
    sites = scoring_filters.receiving_sites(request_uow())
    site = next((s for s in sites if s.id == part.site_id), None)
    return {
        "part": part,
        "slice_args": slice_args(part),
        "slice_form": {
            "sites": sites,
            "typed": {"site": args.get("site", "") if errors else slice_args(part).get("site", ""),
                      "category": args.get("category", "") if errors else part.category or ""},
        },
        "slice_site": site,
    }


def last_day(period: Period) -> date:
    return period.end - timedelta(days=1)


def period_form(period: Period, errors: dict) -> dict:
    """What the period picker shows: the kinds, the chosen values (what was typed, when
    it was wrong), the neighbouring periods."""
    typed = {"kind": request.values.get("kind") or period.kind, "period": request.values.get("period") or period.key}
    if not errors:
        typed = {"kind": period.kind, "period": period.key}
    before = period_of(period.kind, period.start - timedelta(days=1))
    after = period_of(period.kind, period.end)
    return {
        "kinds": [(k, KIND_LABELS[k]) for k in KINDS],
        "typed": typed,
        "errors": errors,
        "period_last": last_day(period),
        "previous_period": before,
        "next_period": after if after.start <= utcnow().date() else None,
    }


def redistributed(card) -> list:
    """The KPIs with a weight but no data: left out, their weight shared among the rest."""
    if card is None or card.score is None:
        return []
    return [k for k in card.kpis if k.weight > 0 and k.points is None]


def supplier_names(uow, ids) -> dict:
    return tenants.organisations_by_id(uow, ids={i for i in ids if i is not None})


def evidence_page(rows: list, page_arg: str | None):
    """A page of an evidence list (computed live, so sliced here): (rows, page, pages)."""
    try:
        page = max(1, int(page_arg or 1))
    except ValueError:
        page = 1
    pages = max(1, (len(rows) + EVIDENCE_PAGE - 1) // EVIDENCE_PAGE)
    page = min(page, pages)
    return rows[(page - 1) * EVIDENCE_PAGE : page * EVIDENCE_PAGE], page, pages


def trend_rows(uow, actor, supplier_id, period: Period, *, with_average: bool, part: Slice = EVERYTHING):
    """The score over the last 12 periods of the period's kind (and the tenant average's,
    for the tenant's people): [(period, card, average card or None)], oldest first."""
    until = last_day(period)
    trend = service.trend(uow, actor, supplier_id=supplier_id, kind=period.kind, until=until, part=part)
    average = {}
    if with_average:
        average = {c.period.key: c for c in service.tenant_average(uow, actor, kind=period.kind, until=until, part=part)}
    return [(c.period, c, average.get(c.period.key)) for c in trend]


def kpi_or_404(kpi: str) -> str:
    if kpi not in KPIS:
        raise service.ScorecardNotFound()
    return kpi


# --- the suppliers' scorecards --------------------------------------------------------------


@blueprint.get("/buyer/scorecards")
@permission_required("scorecard.view", side="buyer")
def scorecard_list():
    uow, actor = request_uow(), current_user.actor
    period, errors = chosen_period()
    part, slice_errors = chosen_slice()
    errors = {**errors, **slice_errors}
    order = "asc" if request.args.get("order") == "asc" else "desc"
    context = {"period": period, "order": order, **period_form(period, errors), **slice_context(part, slice_errors)}
    if errors:
        return render_template("scoring/scorecard_list.html", page=None, first_page=True, problem=None, **context), 422
    cursor = request.args.get("cursor") or None
    problem = None
    listing = {"period": period, "limit": PAGE_SIZE, "descending": order == "desc", "part": part}
    try:
        page = service.scorecards(uow, actor, cursor=cursor, **listing)
    except ValidationFailed as error:  # a page link that is not ours: start again
        page, cursor = service.scorecards(uow, actor, **listing), None
        problem = field_errors(error).get("cursor") or error_text(error)
    return render_template(
        "scoring/scorecard_list.html",
        page=page,
        first_page=cursor is None,
        names=supplier_names(uow, [c.supplier_id for c in page.items]),
        problem=problem,
        **context,
    )


@blueprint.post("/buyer/scorecards/recompute")
@permission_required("scorecard.manage", side="buyer")
def scorecard_recompute():
    period, errors = chosen_period(request.form)
    if errors:
        return redirect(url_for("scoring.scorecard_list"), code=303)
    uow = request_uow()
    uow.reason = "Scorecards recomputed"
    written = service.recompute(uow, current_user.actor, period=period)
    if written:
        notify(N_("The scorecards of %(period)s are recomputed."), period=period.key)
    else:
        notify(N_("%(period)s has not started yet: there is nothing to compute."), period=period.key)
    return redirect(url_for("scoring.scorecard_list", kind=period.kind, period=period.key), code=303)


@blueprint.get("/buyer/scorecards/<uuid:supplier>")
@permission_required("scorecard.view", side="buyer")
def scorecard_detail(supplier: uuid.UUID):
    return scorecard_page(supplier, side="buyer")


@blueprint.post("/buyer/scorecards/<uuid:supplier>/sign")
@permission_required("scorecard.manage", side="buyer")
def scorecard_sign(supplier: uuid.UUID):
    """The reviewer signs the scorecard of an ended period (password, and code)."""
    period, errors = chosen_period(request.form)
    if errors:
        return redirect(url_for("scoring.scorecard_detail", supplier=supplier), code=303)
    uow = request_uow()
    password = request.form.get("password") or ""
    if not password:
        message = gettext("Enter your password to sign.")
        return scorecard_page(supplier, side="buyer", args=request.form, sign_errors={"password": message}, status=422)
    uow.reason = "Scorecard reviewed and signed"
    try:
        service.sign_scorecard(
            uow,
            current_user.actor,
            supplier_id=supplier,
            period=period,
            password=password,
            otp=request.form.get("otp") or None,
            shown=request.form.get("shown") or "",
            **signing_kwargs(),
        )
    except SignatureRefused as error:
        keep_refusal(error)  # nothing else stays; the failed attempt does
        return scorecard_page(
            supplier, side="buyer", args=request.form, sign_errors={"password": error_text(error)}, status=error.status
        )
    except service.ScorecardNotFound:
        raise
    except DomainError as error:
        uow.rollback()
        return scorecard_page(
            supplier, side="buyer", args=request.form, sign_errors={"problem": error_text(error)}, status=error.status
        )
    notify(N_("The scorecard of %(period)s is signed."), period=period.key)
    return redirect(url_for("scoring.scorecard_detail", supplier=supplier, kind=period.kind, period=period.key), code=303)


def scorecard_page(supplier_id: uuid.UUID, *, side: str, args=None, sign_errors: dict | None = None, status: int = 200):
    """One supplier's scorecard, for either side (the supplier: its own, no average).
    `args`: where the period and slice are (a signing form's post); `sign_errors`: why
    a signature was refused, shown on the signing form."""
    uow, actor = request_uow(), current_user.actor
    period, errors = chosen_period(args)
    part, slice_errors = chosen_slice(args)
    errors = {**errors, **slice_errors}
    context = {
        "period": period,
        "side": side,
        "supplier_id": supplier_id,
        **period_form(period, errors),
        **slice_context(part, slice_errors, args),
    }
    # The service says "not found" for a supplier that is not there, or not the reader's.
    card = service.scorecard(uow, actor, supplier_id=supplier_id, period=period, part=part)
    organisation = supplier_names(uow, [supplier_id]).get(supplier_id)
    if errors:
        return render_template("scoring/scorecard_detail.html", card=None, organisation=organisation, **context), 422
    open_disputes = [d for d in service.list_disputes(uow, actor, status="open") if d.dispute.supplier_id == supplier_id]
    return (
        render_template(
            "scoring/scorecard_detail.html",
            card=card,
            organisation=organisation,
            left_out=[gettext(k.label) for k in redistributed(card)],
            trend=trend_rows(uow, actor, supplier_id, period, with_average=side == "buyer", part=part),
            open_disputes=open_disputes,
            breakdown=[] if part else breakdown_rows(uow, actor, supplier_id, period, context["slice_form"]["sites"]),
            can_sign=side == "buyer" and not part and can("scorecard.manage") and period.end <= utcnow().date(),
            sign_errors=sign_errors or {},
            shown=service.shown_hash(card),
            today=utcnow().date(),
            **context,
        ),
        status,
    )


def breakdown_rows(uow, actor, supplier_id, period: Period, sites) -> list[dict]:
    """The scorecard per receiving site and per item category: [{label, args, card}]."""
    names = {str(s.id): s.name for s in sites}
    rows = []
    for kind, key, card in service.breakdown(uow, actor, supplier_id=supplier_id, period=period):
        label = names.get(key, gettext("Another site")) if kind == "site" else str(CATEGORY_LABELS.get(key, key))
        rows.append({"kind": kind, "label": label, "args": {kind: key}, "card": card})
    return rows


@blueprint.get("/buyer/scorecards/<uuid:supplier>/evidence/<kpi>")
@permission_required("scorecard.view", side="buyer")
def scorecard_evidence(supplier: uuid.UUID, kpi: str):
    return evidence_view(supplier, kpi_or_404(kpi), side="buyer")


def evidence_view(supplier_id: uuid.UUID, kpi: str, *, side: str, failed: dict | None = None, status: int = 200):
    """The transactions behind one KPI. `failed`: a dispute that was refused, to show
    again with what was typed and why ({"ref_id", "ref_sub_id", "comment", "errors"})."""
    uow, actor = request_uow(), current_user.actor
    source = request.form if failed is not None else request.args
    period, errors = chosen_period(source)
    part, slice_errors = chosen_slice(source)
    if errors or slice_errors:
        if side == "supplier":
            return redirect(url_for("scoring.supplier_scorecard"), code=303)
        return redirect(url_for("scoring.scorecard_detail", supplier=supplier_id), code=303)
    card = service.scorecard(uow, actor, supplier_id=supplier_id, period=period, part=part)
    rows = service.evidence(uow, actor, supplier_id=supplier_id, period=period, kpi=kpi, part=part)
    shown, page, pages = evidence_page(rows, source.get("page"))
    rules = scoring_rules.get_rules(uow, actor)
    today = utcnow().date()
    lines = [(r, service.dispute_closes(rules, r.day) if r.day is not None else None) for r in shown]
    return (
        render_template(
            "scoring/scorecard_evidence.html",
            card=card,
            kpi=card.kpi(kpi),
            lines=lines,
            total=len(rows),
            page=page,
            pages=pages,
            today=today,
            side=side,
            supplier_id=supplier_id,
            period=period,
            organisation=supplier_names(uow, [supplier_id]).get(supplier_id),
            failed=failed or {},
            **slice_context(part, {}, source),
        ),
        status,
    )


# --- disputes -----------------------------------------------------------------------------------


@blueprint.get("/buyer/scorecards/disputes")
@permission_required("scorecard.manage", side="buyer")
def dispute_queue():
    uow, actor = request_uow(), current_user.actor
    status = request.args.get("status") or "open"
    if status not in (*DISPUTE_STATUSES, "all"):
        status = "open"
    rows = service.list_disputes(uow, actor, status=None if status == "all" else status, limit=DISPUTE_LIMIT + 1)
    return render_template(
        "scoring/scorecard_disputes.html",
        rows=rows[:DISPUTE_LIMIT],
        more=len(rows) > DISPUTE_LIMIT,
        status=status,
        statuses=[(s, DISPUTE_STATUS_LABELS[s]) for s in DISPUTE_STATUSES] + [("all", N_("All"))],
        names=supplier_names(uow, [r.dispute.supplier_id for r in rows]),
    )


@blueprint.route("/buyer/scorecards/disputes/<uuid:dispute_id>", methods=["GET", "POST"])
@permission_required("scorecard.manage", side="buyer")
def dispute_decide(dispute_id: uuid.UUID):
    uow, actor = request_uow(), current_user.actor
    found = service.get_dispute(uow, actor, dispute_id=dispute_id)
    typed = {"decision": "", "reason": ""}
    errors: dict[str, str] = {}
    problem, status = None, 200
    if request.method == "POST":
        typed = {"decision": request.form.get("decision", ""), "reason": request.form.get("reason", "")}
        if typed["decision"] not in ("accept", "reject"):
            errors["decision"] = gettext("Choose to accept or to reject the dispute.")
            problem, status = gettext(ValidationFailed.message), 422
        else:
            uow.reason = "Scorecard dispute decided"
            try:
                decided = service.decide_dispute(
                    uow, actor, dispute_id=dispute_id, accept=typed["decision"] == "accept", reason=typed["reason"]
                )
            except ValidationFailed as error:
                errors, problem, status = field_errors(error), error_text(error), error.status
            except DomainError as error:
                uow.rollback()
                found = service.get_dispute(uow, actor, dispute_id=dispute_id)
                problem, status = error_text(error), error.status
            else:
                if decided.status == "accepted":
                    notify(
                        N_("Dispute accepted: %(number)s no longer counts for this figure, and the scorecard is recomputed."),
                        number=decided.ref_number,
                    )
                else:
                    notify(N_("Dispute rejected: %(number)s still counts."), number=decided.ref_number)
                return redirect(url_for("scoring.dispute_queue"), code=303)
    dispute = found.dispute
    name = supplier_names(uow, [dispute.supplier_id]).get(dispute.supplier_id)
    return (
        render_template(
            "scoring/scorecard_dispute.html",
            row=found,
            dispute=dispute,
            organisation=name,
            period=_dispute_period(dispute.period_key),
            typed=typed,
            errors=errors,
            problem=problem,
        ),
        status,
    )


def _dispute_period(key: str) -> Period | None:
    try:
        return period_of(kind_of(key), key)
    except ValidationFailed:
        return None


# --- settings ----------------------------------------------------------------------------------


@blueprint.route("/buyer/scorecards/settings", methods=["GET", "POST"])
@permission_required("scorecard.manage", side="buyer")
def scorecard_settings():
    uow, actor = request_uow(), current_user.actor
    rules = scoring_rules.get_rules(uow, actor)
    errors: dict[str, str] = {}
    problem, status = None, 200
    if request.method == "POST":
        form = request.form
        typed = {name: form.get(name, "") for name in _setting_fields()}
        uow.reason = "Scoring settings saved"
        try:
            scoring_rules.save_kpis(
                uow,
                actor,
                weights={k: typed[f"weight_{k}"] for k in KPIS},
                thresholds={k: typed[f"threshold_{k}"] for k in KPIS},
                zero_points={k: typed[f"zero_at_{k}"] for k in scoring_rules.LOWER_IS_BETTER},
            )
        except ValidationFailed as error:
            errors |= field_errors(error)
        try:
            scoring_rules.save_rules(
                uow,
                actor,
                grade_mins=(typed["grade_a_min"], typed["grade_b_min"], typed["grade_c_min"]),
                actions={g: typed[f"action_{g.lower()}"] for g in scoring_rules.GRADES},
                early_days=typed["early_days"],
                late_days=typed["late_days"],
                ack_target_hours=typed["ack_target_hours"],
                dispute_days=typed["dispute_days"],
                qms_certificate_type_id=rules.qms_certificate_type_id,
            )
        except ValidationFailed as error:
            errors |= field_errors(error)
        if not errors:
            # The on-time window and the acknowledgement target change the counting.
            service.recompute(uow, actor)
            notify(N_("The scoring settings are saved and the scorecards recomputed."))
            return redirect(url_for("scoring.scorecard_settings"), code=303)
        uow.rollback()
        problem, status = gettext(ValidationFailed.message), 422
    else:
        typed = _typed_from(rules)
    return (
        render_template(
            "scoring/scorecard_settings.html",
            typed=typed,
            errors=errors,
            problem=problem,
            kpis=[(k, scoring_rules.KPI_INFO[k]) for k in KPIS],
            lower_is_better=scoring_rules.LOWER_IS_BETTER,
            grades=scoring_rules.GRADES,
            actions=ACTIONS,
            weight_total=_total(typed),
        ),
        status,
    )


def _setting_fields() -> list[str]:
    names = [f"{what}_{k}" for k in KPIS for what in ("weight", "threshold")]
    names += [f"zero_at_{k}" for k in scoring_rules.LOWER_IS_BETTER]
    names += ["grade_a_min", "grade_b_min", "grade_c_min", "early_days", "late_days", "ack_target_hours", "dispute_days"]
    names += [f"action_{g.lower()}" for g in scoring_rules.GRADES]
    return names


def _plain(value) -> str:
    return "" if value is None else format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)


def _typed_from(rules) -> dict:
    typed = {}
    for kpi, rule in rules.kpis.items():
        typed[f"weight_{kpi}"] = _plain(rule.weight)
        typed[f"threshold_{kpi}"] = _plain(rule.threshold)
        if kpi in scoring_rules.LOWER_IS_BETTER:
            typed[f"zero_at_{kpi}"] = _plain(rule.zero_at)
    for grade, minimum in zip(("a", "b", "c"), rules.grade_mins, strict=True):
        typed[f"grade_{grade}_min"] = _plain(minimum)
    for grade in scoring_rules.GRADES:
        typed[f"action_{grade.lower()}"] = rules.actions[grade]
    typed |= {
        "early_days": str(rules.early_days),
        "late_days": str(rules.late_days),
        "ack_target_hours": str(rules.ack_target_hours),
        "dispute_days": str(rules.dispute_days),
    }
    return typed


def _total(typed: dict) -> str | None:
    """The weights typed, added up (None when one is not a number)."""
    try:
        return _plain(sum(Decimal(typed[f"weight_{k}"].strip() or "0") for k in KPIS))
    except (InvalidOperation, KeyError, AttributeError):
        return None
