"""Certificate types, supplier certificates, their review and their state on a day.

A supplier uploads a certificate (the file goes through documents.vault: checked,
hashed, encrypted) with its type, number, issuing body, scope, the sites, items and
Basic UDI-DIs it covers and its validity. A type that needs review leaves it pending
until a quality engineer approves or rejects it with an electronic signature; a type
that needs none counts at once. A new version names the certificate it renews; when
the new one is approved the old one is superseded, never deleted.

Only approved, unexpired, unsuperseded certificates are valid (`state`). Which types a
supplier must hold is a rule of the approved supplier list (erp.suppliers.compliance).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from auth import signatures
from auth.permissions import require, require_any
from documents import vault as files
from documents.errors import AlreadyReviewed, CertificateNotFound, CertificateTypeNotFound
from documents.models import Certificate, CertificateItem, CertificateSite, CertificateType, StoredFile
from kernel.clock import utcnow
from kernel.errors import N_, Forbidden, ValidationFailed, checked_text
from tenants import service as tenants

# A certificate this close to its expiry shows as expiring (and the notices start).
EXPIRING_DAYS = 90
# The state of one certificate on a day, and of a requirement with no certificate.
STATES = ("missing", "pending_review", "valid", "expiring", "expired", "rejected", "superseded")
STATE_LABELS = {
    "missing": N_("Missing"),
    "pending_review": N_("Pending review"),
    "valid": N_("Valid"),
    "expiring": N_("Expiring"),
    "expired": N_("Expired"),
    "rejected": N_("Rejected"),
    "superseded": N_("Superseded"),
}
# How good a state is, for choosing the certificate that answers a requirement.
_RANK = {"valid": 0, "expiring": 1, "pending_review": 2, "expired": 3, "rejected": 4, "superseded": 5, "missing": 6}
# Basic UDI-DIs (EU MDR Annex VI Part C): GS1, HIBCC, ICCBBA and IFA formats share this
# alphabet; the full check per agency lives with the items (erp.items.udi).
_BASIC_UDI_DI = re.compile(r"^[A-Z0-9+\-./*]{4,25}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")


@dataclass(frozen=True)
class CertificateView:
    certificate: Certificate
    type: CertificateType
    file: StoredFile
    site_ids: list[uuid.UUID]
    item_ids: list[uuid.UUID]
    state: str
    days_left: int | None


def state(certificate: Certificate, today: date) -> str:
    """The certificate's state on `today` (the expiry day itself still counts as valid)."""
    if certificate.status != "approved":
        return certificate.status
    if certificate.expires_on is None:
        return "valid"
    if certificate.expires_on < today:
        return "expired"
    if certificate.expires_on - today <= timedelta(days=EXPIRING_DAYS):
        return "expiring"
    return "valid"


def rank(value: str) -> int:
    """How good a state is, lower better: valid, expiring, pending review, expired, ..."""
    return _RANK[value]


def counts_as_valid(value: str) -> bool:
    return value in ("valid", "expiring")


# --- certificate types ----------------------------------------------------------------


def list_types(uow, actor, *, include_inactive: bool = False) -> list[CertificateType]:
    require_any(actor, "cert.upload", "cert.review", "suppliers.view")
    stmt = sa.select(CertificateType).order_by(CertificateType.name)
    if not include_inactive:
        stmt = stmt.where(CertificateType.active)
    return list(uow.session.scalars(stmt))


def types_by_id(uow, *, active_only: bool = False) -> dict[uuid.UUID, CertificateType]:
    """The tenant's types by id, for other domains' rules (erp.suppliers.compliance); no
    permission of its own: the caller's operation checks one."""
    stmt = sa.select(CertificateType)
    if active_only:
        stmt = stmt.where(CertificateType.active)
    return {t.id: t for t in uow.session.scalars(stmt)}


def get_type(uow, *, type_id: uuid.UUID) -> CertificateType:
    found = uow.session.get(CertificateType, (uow.tenant_id, type_id))
    if found is None:
        raise CertificateTypeNotFound()
    return found


def save_type(
    uow,
    actor,
    *,
    type_id: uuid.UUID | None = None,
    code: str,
    name: str,
    name_zh: str | None = None,
    expiry_required: bool = True,
    review_required: bool = True,
    accepted_issuers: list[str] | tuple[str, ...] = (),
    active: bool = True,
) -> CertificateType:
    """Create a type (type_id None) or change one. The code never changes once made."""
    require(actor, "cert.review")
    errors: dict[str, str] = {}
    name = checked_text(name, 200, "name", errors, required=True)
    name_zh = checked_text(name_zh, 200, "name_zh", errors)
    issuers = sorted({i.strip() for i in accepted_issuers if i and i.strip()}, key=str.casefold)
    if any(len(i) > 200 for i in issuers):
        errors["accepted_issuers"] = N_("An issuing body's name is at most 200 characters.")
    if type_id is None:
        code = (code or "").strip().lower()
        if not _CODE.match(code):
            errors["code"] = N_("Use 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter or digit.")
        elif uow.scalar(sa.select(sa.func.count()).select_from(CertificateType).where(CertificateType.code == code)):
            errors["code"] = N_("Another certificate type has this code.")
    if errors:
        raise ValidationFailed(errors=errors)
    if type_id is None:
        kind = CertificateType(tenant_id=uow.tenant_id, code=code)
        uow.add(kind)
    else:
        kind = get_type(uow, type_id=type_id)
    kind.name, kind.name_zh = name, name_zh
    kind.expiry_required, kind.review_required = bool(expiry_required), bool(review_required)
    kind.accepted_issuers, kind.active = issuers, bool(active)
    uow.flush()
    return kind


# --- upload ---------------------------------------------------------------------------


def upload(
    uow,
    actor,
    *,
    vault,
    stream,
    filename: str,
    certificate_type_id: uuid.UUID | None,
    number: str,
    issuing_body: str,
    valid_from: date | None,
    expires_on: date | None,
    scope: str | None = None,
    site_ids: list[uuid.UUID] | tuple = (),
    item_ids: list[uuid.UUID] | tuple = (),
    basic_udi_dis: list[str] | tuple = (),
    renews_id: uuid.UUID | None = None,
    today: date | None = None,
) -> Certificate:
    """A supplier's certificate (or a new version of one, `renews_id`). Every field is
    checked before the file is stored; a bad file stores nothing either."""
    require(actor, "cert.upload")
    if actor.supplier_id is None:
        raise Forbidden(N_("Certificates are uploaded by the supplier they belong to."))
    today = today or utcnow().date()
    errors: dict[str, str] = {}
    kind = _active_type(uow, certificate_type_id, errors)
    number = checked_text(number, 100, "number", errors, required=True)
    issuing_body = checked_text(issuing_body, 200, "issuing_body", errors, required=True)
    scope = checked_text(scope, 4000, "scope", errors)
    accepted = {i.casefold() for i in kind.accepted_issuers} if kind is not None else set()
    if accepted and issuing_body and issuing_body.casefold() not in accepted:
        errors["issuing_body"] = N_("This type of certificate is accepted only from the issuing bodies listed for it.")
    _check_dates(kind, valid_from, expires_on, today, errors)
    sites = _own_sites(uow, actor.supplier_id, site_ids, errors)
    udis = _basic_udi_dis(basic_udi_dis, errors)
    previous = _renewed(uow, renews_id, kind, errors) if renews_id else None
    if errors:
        raise ValidationFailed(errors=errors)

    stored = files.store_file(uow, actor, vault=vault, stream=stream, filename=filename, supplier_id=actor.supplier_id)
    certificate = Certificate(
        tenant_id=uow.tenant_id,
        supplier_id=actor.supplier_id,
        certificate_type_id=kind.id,
        file_id=stored.id,
        supersedes_id=previous.id if previous else None,
        version=previous.version + 1 if previous else 1,
        number=number,
        issuing_body=issuing_body,
        scope=scope,
        basic_udi_dis=udis,
        valid_from=valid_from,
        expires_on=expires_on,
        status="pending_review",
        uploaded_by=actor.user_id,
    )
    uow.add(certificate)
    uow.flush()
    for site in sites:
        uow.add(
            CertificateSite(tenant_id=uow.tenant_id, certificate_id=certificate.id, site_id=site, supplier_id=actor.supplier_id)
        )
    _add_items(uow, certificate, item_ids)
    if not kind.review_required:
        # Counted at once; the record says no one reviewed it.
        _decide(uow, certificate, "approved", reason=None, reviewer=None)
    return certificate


def _add_items(uow, certificate: Certificate, item_ids) -> None:
    """The items it covers; an id that is no item of the tenant is bad input (the
    foreign key says so: this package does not read the items' table)."""
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        return
    try:
        with uow.session.begin_nested():
            for item_id in ids:
                uow.add(
                    CertificateItem(
                        tenant_id=uow.tenant_id,
                        certificate_id=certificate.id,
                        item_id=item_id,
                        supplier_id=certificate.supplier_id,
                    )
                )
            uow.flush()
    except sa.exc.IntegrityError as exc:
        raise ValidationFailed(errors={"item_ids": N_("One of the chosen items does not exist.")}) from exc


# --- review ---------------------------------------------------------------------------


def review(
    uow,
    actor,
    *,
    certificate_id: uuid.UUID,
    approve: bool,
    reason: str | None,
    password: str,
    otp: str | None = None,
    settings,
    cipher,
) -> Certificate:
    """Approve or reject a pending certificate, signed by the reviewer (21 CFR 11.50:
    meaning "approved" or "rejected", bound to the certificate and its file's hash)."""
    require(actor, "cert.review")
    if actor.supplier_id is not None:
        raise Forbidden(N_("A supplier cannot review certificates, not even its own."))
    certificate = _get(uow, certificate_id, lock=True)
    if certificate.status != "pending_review":
        raise AlreadyReviewed()
    reason = (reason or "").strip() or None
    if not approve and not reason:
        raise ValidationFailed(errors={"reason": N_("Say why the certificate is rejected: the supplier sees it.")})
    if reason and len(reason) > 2000:
        raise ValidationFailed(errors={"reason": N_("At most 2,000 characters.")})
    stored = uow.session.get(StoredFile, (uow.tenant_id, certificate.file_id))
    signatures.sign(
        uow,
        actor,
        record_type="certificate",
        record_id=certificate.id,
        content=signed_content(certificate, stored),
        meaning="approved" if approve else "rejected",
        password=password,
        otp=otp,
        settings=settings,
        cipher=cipher,
        supplier_id=certificate.supplier_id,
    )
    _decide(uow, certificate, "approved" if approve else "rejected", reason=reason, reviewer=actor.user_id)
    return certificate


def signed_content(certificate: Certificate, stored: StoredFile) -> dict:
    """What a reviewer's signature is bound to: the certificate's facts and its file."""
    return {
        "certificate_id": str(certificate.id),
        "supplier_id": str(certificate.supplier_id),
        "certificate_type_id": str(certificate.certificate_type_id),
        "number": certificate.number,
        "issuing_body": certificate.issuing_body,
        "valid_from": certificate.valid_from.isoformat(),
        "expires_on": certificate.expires_on.isoformat() if certificate.expires_on else None,
        "version": certificate.version,
        "file_sha256": stored.sha256 if stored else None,
    }


def _decide(uow, certificate: Certificate, status: str, *, reason: str | None, reviewer: uuid.UUID | None) -> None:
    certificate.status = status
    certificate.review_reason = reason
    certificate.reviewed_by = reviewer
    certificate.reviewed_at = utcnow()
    certificate.responsible_user_id = reviewer
    if status == "approved" and certificate.supersedes_id:
        # Every earlier approved version of this certificate stops counting.
        uow.execute(
            sa.update(Certificate)
            .where(Certificate.id.in_(_chain(uow, certificate.supersedes_id)), Certificate.status == "approved")
            .values(status="superseded")
        )
    uow.flush()


def _chain(uow, first: uuid.UUID) -> list[uuid.UUID]:
    """The versions a certificate renews, newest first."""
    ids, current = [], first
    while current is not None and current not in ids:
        ids.append(current)
        current = uow.scalar(sa.select(Certificate.supersedes_id).where(Certificate.id == current))
    return ids


# --- reading --------------------------------------------------------------------------


def get(uow, actor, *, certificate_id: uuid.UUID, today: date | None = None) -> CertificateView:
    require_any(actor, "cert.upload", "cert.review", "suppliers.view")
    return _view(uow, _get(uow, certificate_id), today or utcnow().date())


def list_certificates(
    uow,
    actor,
    *,
    supplier_id: uuid.UUID | None = None,
    status: str | None = None,
    state: str | None = None,
    certificate_type_id: uuid.UUID | None = None,
    include_superseded: bool = False,
    today: date | None = None,
    limit: int = 500,
) -> list[CertificateView]:
    """Certificates newest first (row-level security keeps a supplier to its own); `state`:
    only those in that state on `today` (see `state`), chosen in the query."""
    require_any(actor, "cert.upload", "cert.review", "suppliers.view")
    today = today or utcnow().date()
    stmt = sa.select(Certificate).order_by(Certificate.created_at.desc(), Certificate.id.desc()).limit(limit)
    if supplier_id is not None:
        stmt = stmt.where(Certificate.supplier_id == supplier_id)
    if state is not None:
        stmt = stmt.where(_in_state(state, today))
    elif status is not None:
        stmt = stmt.where(Certificate.status == status)
    elif not include_superseded:
        stmt = stmt.where(Certificate.status != "superseded")
    if certificate_type_id is not None:
        stmt = stmt.where(Certificate.certificate_type_id == certificate_type_id)
    return _views(uow, list(uow.session.scalars(stmt)), today)


def _in_state(value: str, today: date):
    """`state(certificate, today) == value` as SQL."""
    approved, expires = Certificate.status == "approved", Certificate.expires_on
    horizon = today + timedelta(days=EXPIRING_DAYS)
    if value == "valid":
        return sa.and_(approved, sa.or_(expires.is_(None), expires > horizon))
    if value == "expiring":
        return sa.and_(approved, expires.between(today, horizon))
    if value == "expired":
        return sa.and_(approved, expires < today)
    return Certificate.status == value


def versions(uow, *, certificate_id: uuid.UUID) -> list[Certificate]:
    """Every version of a certificate's line (the ones it renews and the ones renewing
    it), newest first."""
    newest = certificate_id
    while (newer := _newer(uow, newest)) is not None:
        newest = newer
    line = _chain(uow, newest)
    found = {c.id: c for c in uow.session.scalars(sa.select(Certificate).where(Certificate.id.in_(line)))}
    return [found[i] for i in line if i in found]


def _newer(uow, certificate_id: uuid.UUID, *, count_rejected: bool = True) -> uuid.UUID | None:
    """The newest version renewing this one (a rejected renewal may be renewed again)."""
    stmt = sa.select(Certificate.id).where(Certificate.supersedes_id == certificate_id)
    if not count_rejected:
        stmt = stmt.where(Certificate.status != "rejected")
    return uow.scalar(stmt.order_by(Certificate.created_at.desc(), Certificate.id.desc()).limit(1))


def certificates_of(uow, *, supplier_ids, today: date, include_superseded: bool = False) -> list[CertificateView]:
    """Every current (not superseded) certificate of these suppliers, for the approved
    supplier list's compliance (erp.suppliers.compliance); no permission of its own:
    the caller's operation checks one. include_superseded: also the renewed ones (what
    was valid on past days)."""
    ids = list(set(supplier_ids))
    if not ids:
        return []
    stmt = sa.select(Certificate).where(Certificate.supplier_id.in_(ids))
    if not include_superseded:
        stmt = stmt.where(Certificate.status != "superseded")
    return _views(uow, list(uow.session.scalars(stmt)), today)


def _views(uow, certificates: list[Certificate], today: date) -> list[CertificateView]:
    if not certificates:
        return []
    ids = [c.id for c in certificates]
    types = {t.id: t for t in uow.session.scalars(sa.select(CertificateType))}
    stored = {
        f.id: f for f in uow.session.scalars(sa.select(StoredFile).where(StoredFile.id.in_({c.file_id for c in certificates})))
    }
    sites: dict[uuid.UUID, list[uuid.UUID]] = {}
    for cert_id, site_id in uow.execute(
        sa.select(CertificateSite.certificate_id, CertificateSite.site_id).where(CertificateSite.certificate_id.in_(ids))
    ):
        sites.setdefault(cert_id, []).append(site_id)
    items: dict[uuid.UUID, list[uuid.UUID]] = {}
    for cert_id, item_id in uow.execute(
        sa.select(CertificateItem.certificate_id, CertificateItem.item_id).where(CertificateItem.certificate_id.in_(ids))
    ):
        items.setdefault(cert_id, []).append(item_id)
    return [
        CertificateView(
            certificate=c,
            type=types[c.certificate_type_id],
            file=stored.get(c.file_id),
            site_ids=sites.get(c.id, []),
            item_ids=items.get(c.id, []),
            state=state(c, today),
            days_left=(c.expires_on - today).days if c.expires_on else None,
        )
        for c in certificates
    ]


def _view(uow, certificate: Certificate, today: date) -> CertificateView:
    return _views(uow, [certificate], today)[0]


def _get(uow, certificate_id: uuid.UUID, *, lock: bool = False) -> Certificate:
    stmt = sa.select(Certificate).where(Certificate.id == certificate_id)
    if lock:
        stmt = stmt.with_for_update()
    found = uow.session.scalars(stmt).one_or_none()
    if found is None:
        raise CertificateNotFound()
    return found


# --- checks ---------------------------------------------------------------------------


def _active_type(uow, type_id, errors: dict) -> CertificateType | None:
    kind = uow.session.get(CertificateType, (uow.tenant_id, type_id)) if type_id else None
    if kind is None or not kind.active:
        errors["certificate_type_id"] = N_("Choose the type of certificate.")
        return None
    return kind


def _check_dates(kind, valid_from: date | None, expires_on: date | None, today: date, errors: dict) -> None:
    if valid_from is None:
        errors["valid_from"] = N_("Enter the date from which the certificate is valid.")
    if expires_on is None and kind is not None and kind.expiry_required:
        errors["expires_on"] = N_("This type of certificate needs an expiry date.")
    if valid_from and expires_on and expires_on < valid_from:
        errors["expires_on"] = N_("The expiry date is before the valid-from date.")
    elif expires_on and expires_on < today:
        errors["expires_on"] = N_("This certificate has expired already: upload the current one.")


def _own_sites(uow, supplier_id: uuid.UUID, site_ids, errors: dict) -> list[uuid.UUID]:
    """The chosen sites, each a site of the uploading supplier. Another supplier's site
    is invisible to it (row-level security) and reads as unknown; the tenant's own sites
    are visible but not the supplier's to certify."""
    wanted = list(dict.fromkeys(site_ids))
    found = tenants.sites_by_id(uow, ids=wanted) if wanted else {}
    if any(site_id not in found or found[site_id].supplier_id != supplier_id for site_id in wanted):
        errors["site_ids"] = N_("Choose only sites of your own company.")
    return wanted


def _basic_udi_dis(values, errors: dict) -> list[str]:
    cleaned = list(dict.fromkeys(v.strip().upper() for v in values if v and v.strip()))
    if any(not _BASIC_UDI_DI.match(v) for v in cleaned):
        errors["basic_udi_dis"] = N_("A Basic UDI-DI has 4 to 25 characters: letters, digits and + - . / *.")
    return cleaned


def _renewed(uow, renews_id: uuid.UUID, kind, errors: dict) -> Certificate | None:
    """The certificate a new version renews: the supplier's own (row-level security),
    of the same type, and the newest of its line."""
    previous = uow.session.scalars(sa.select(Certificate).where(Certificate.id == renews_id)).one_or_none()
    if previous is None:
        raise CertificateNotFound()
    if kind is not None and previous.certificate_type_id != kind.id:
        errors["certificate_type_id"] = N_("A new version must have the type of the certificate it renews.")
    if _newer(uow, previous.id, count_rejected=False) is not None:
        errors["renews_id"] = N_("A newer version of this certificate exists already; renew that one.")
    return previous
