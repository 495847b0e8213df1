"""Sealing, verifying and exporting the audit chain.

Writers only insert unchained events (triggers), so a tenant's writers never wait on
one another; the sealer chains them shortly after commit, one sealer per tenant at a
time (advisory lock), and signs a checkpoint of the new head (notes/postgres.md,
design 3). Which events are ready needs no queue: each event carries its transaction's
id, and every event of a transaction older than the oldest one still running (the
snapshot's xmin) is final. A run seals the transaction-id range from the last
checkpoint's horizon up to that xmin, in (transaction, event id) order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.chain import (
    CANONICAL_SQL,
    FIELD_SQL,
    GENESIS,
    TIME_FORMAT_PY,
    TIME_FORMAT_SQL,
    Link,
    Problem,
    Report,
    SignedCheckpoint,
    checkpoint_message,
    iter_export_links,
    link,
    verify_links,
)
from audit.signing import key_id, load_public_key, public_pem

EXPORT_FORMAT = "traceport-audit-export/1"
_HEAD = sa.text("select seq, hash from audit.seal where tenant_id = :t order by seq desc limit 1")
_HORIZON = sa.text("select horizon from audit.checkpoint where tenant_id = :t order by seq desc limit 1")
_XMIN = sa.text("select pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
_LOCK = sa.text("select pg_advisory_xact_lock(hashtextextended('traceport-audit-seal:' || :t, 0))")
_EVENTS = sa.text(
    f"select e.xact, e.id, {CANONICAL_SQL} from audit.event e where e.tenant_id = :t and e.xact < :hi"
    " and (e.xact, e.id) > (:after_xact, :after_id) order by e.xact, e.id limit :n"
)
_INSERT_SEALS = sa.text(
    "insert into audit.seal (tenant_id, seq, event_id, hash)"
    " select :t, s, e, h from unnest(cast(:seqs as bigint[]), cast(:ids as bigint[]), cast(:hashes as bytea[])) as u(s, e, h)"
)
_INSERT_CHECKPOINT = sa.text(
    "insert into audit.checkpoint (tenant_id, seq, hash, signed_at, key_id, horizon, signature)"
    " values (:t, :seq, :hash, :signed_at, :key_id, :horizon, :signature)"
)


@dataclass(frozen=True)
class SealResult:
    sealed: int
    head_seq: int


def tenants_to_seal(connection) -> list[uuid.UUID]:
    return [row[0] for row in connection.execute(sa.text("select * from audit.tenants_to_seal()"))]


def seal(uow, *, key: Ed25519PrivateKey, batch: int = 5000) -> SealResult:
    """Chain this tenant's final events and sign a checkpoint of the new head.

    Runs in the caller's unit of work (tenant in context); the caller commits.
    """
    tenant = str(uow.tenant_id)
    uow.execute(_LOCK, {"t": tenant})
    head = uow.execute(_HEAD, {"t": tenant}).first()
    seq, prev = (head.seq, bytes(head.hash)) if head else (0, GENESIS)
    # Events at or above the horizon are unsealed; below the snapshot's xmin they are final.
    after_xact, after_id = (uow.scalar(_HORIZON, {"t": tenant}) or 0) - 1, 2**63 - 1
    hi = uow.scalar(_XMIN)
    total = 0
    while True:
        rows = uow.execute(_EVENTS, {"t": tenant, "hi": hi, "after_xact": after_xact, "after_id": after_id, "n": batch}).all()
        if not rows:
            break
        seqs, event_ids, hashes = [], [], []
        for _xact, event_id, text in rows:
            seq += 1
            prev = link(prev, seq, text)
            seqs.append(seq)
            event_ids.append(event_id)
            hashes.append(prev)
        uow.execute(_INSERT_SEALS, {"t": tenant, "seqs": seqs, "ids": event_ids, "hashes": hashes})
        total += len(seqs)
        after_xact, after_id = rows[-1][0], rows[-1][1]
        if len(rows) < batch:
            break
    if total:
        sign_checkpoint(uow, key=key, seq=seq, hash_=prev, horizon=hi)
    return SealResult(sealed=total, head_seq=seq)


def sign_checkpoint(uow, *, key: Ed25519PrivateKey, seq: int, hash_: bytes, horizon: int) -> None:
    signed_at = datetime.now(UTC).strftime(TIME_FORMAT_PY)
    message = checkpoint_message(str(uow.tenant_id), seq, hash_, signed_at)
    uow.execute(
        _INSERT_CHECKPOINT,
        {
            "t": uow.tenant_id,
            "seq": seq,
            "hash": hash_,
            "signed_at": signed_at,
            "key_id": key_id(key.public_key()),
            "horizon": horizon,
            "signature": key.sign(message),
        },
    )


@dataclass(frozen=True)
class TrailEvent:
    """One audit event as a page shows it."""

    id: int
    occurred_at: datetime
    actor: str
    action: str  # I, U or D
    table_name: str
    row_id: str | None
    old_values: dict | None
    new_values: dict | None
    reason: str | None


def events_of(
    uow,
    *,
    rows: dict[str, list[str]],
    children: dict[str, tuple[str, list[str]]] | None = None,
    limit: int = 200,
) -> list[TrailEvent]:
    """The tenant's events of some records, newest first, at most `limit`: those of the
    rows named by id ({table: [row id]}) and, for `children` ({table: (column, [ids])}),
    those whose whole row (an insert or a delete) has one of the ids in that column - so
    rows deleted since are found too. No permission check here: the caller's service
    requires one (this layer knows none)."""
    conditions = []
    params: dict = {"t": uow.tenant_id, "n": limit}
    for n, (table, ids) in enumerate(rows.items()):
        if ids:
            conditions.append(f"(e.table_name = :rt{n} and e.row_id = any(cast(:ri{n} as text[])))")
            params |= {f"rt{n}": table, f"ri{n}": list(ids)}
    for n, (table, (column, ids)) in enumerate((children or {}).items()):
        if ids:
            conditions.append(
                f"(e.table_name = :ct{n} and e.action in ('I', 'D')"
                f" and coalesce(e.new_values, e.old_values) ->> cast(:cc{n} as text) = any(cast(:ci{n} as text[])))"
            )
            params |= {f"ct{n}": table, f"cc{n}": column, f"ci{n}": list(ids)}
    if not conditions:
        return []
    found = uow.execute(
        sa.text(
            "select e.id, e.occurred_at, e.actor, e.action, e.table_name, e.row_id, e.old_values, e.new_values, e.reason"
            f" from audit.event e where e.tenant_id = :t and ({' or '.join(conditions)})"
            " order by e.occurred_at desc, e.id desc limit :n"
        ),
        params,
    )
    return [TrailEvent(*row) for row in found]


# --- verification ---------------------------------------------------------------


def _checkpoints(uow) -> list[SignedCheckpoint]:
    rows = uow.execute(
        sa.text(
            f"select seq, hash, to_char(signed_at AT TIME ZONE 'UTC', {TIME_FORMAT_SQL}) as signed_at, key_id, signature"
            " from audit.checkpoint where tenant_id = :t order by seq"
        ),
        {"t": uow.tenant_id},
    )
    return [SignedCheckpoint(r.seq, bytes(r.hash), r.signed_at, r.key_id, bytes(r.signature)) for r in rows]


def _links(uow, chunk: int = 20000) -> Iterator[Link]:
    """Stream the chain in seq order with a server-side cursor."""
    result = (
        uow.session.connection()
        .execution_options(stream_results=True, max_row_buffer=chunk)
        .execute(
            sa.text(
                f"select s.seq, s.hash, case when e.id is null then null else {CANONICAL_SQL} end"
                " from audit.seal s left join audit.event e on e.tenant_id = s.tenant_id and e.id = s.event_id"
                " where s.tenant_id = :t order by s.seq"
            ),
            {"t": uow.tenant_id},
        )
    )
    for part in result.partitions(chunk):
        for seq, hash_, text in part:
            yield Link(seq, bytes(hash_), text)


def counts(uow) -> tuple[int, int]:
    """(sealed events, events waiting to be sealed)."""
    row = uow.execute(
        sa.text(
            "select (select count(*) from audit.seal where tenant_id = :t),"
            " (select count(*) from audit.event where tenant_id = :t and xact >= coalesce("
            "   (select horizon from audit.checkpoint where tenant_id = :t order by seq desc limit 1), 0))"
        ),
        {"t": uow.tenant_id},
    ).one()
    return row[0], row[1]


def verify_database(uow, *, public_key: Ed25519PublicKey, progress: Callable[[int], None] | None = None) -> Report:
    checkpoints = _checkpoints(uow)
    report = verify_links(str(uow.tenant_id), _links(uow), checkpoints, public_key, key_id(public_key), progress=progress)
    report.unsealed = counts(uow)[1]
    orphans = uow.execute(
        sa.text(
            "select min(e.id), count(*) from audit.event e where e.tenant_id = :t"
            " and not exists (select 1 from audit.seal s where s.tenant_id = e.tenant_id and s.event_id = e.id)"
            " and e.xact < coalesce((select horizon from audit.checkpoint where tenant_id = :t order by seq desc limit 1), 0)"
        ),
        {"t": uow.tenant_id},
    ).one()
    if orphans[1]:
        report.problems.append(
            Problem(
                report.events + 1,
                "orphan",
                f"{orphans[1]} events (first id {orphans[0]}) are below the sealed horizon but not in the chain",
            )
        )
    return report


# --- export and offline verification ------------------------------------------------


def export(uow, out, *, public_key: Ed25519PublicKey, tenant_slug: str, progress=None) -> int:
    """Write the chain as JSON Lines: a header, every sealed event with its fields, the
    checkpoints. `verify_export` checks it with nothing but the public key."""
    sealed, unsealed = counts(uow)
    header = {
        "format": EXPORT_FORMAT,
        "tenant_id": str(uow.tenant_id),
        "tenant_slug": tenant_slug,
        "exported_at": datetime.now(UTC).strftime(TIME_FORMAT_PY),
        "events": sealed,
        "unsealed": unsealed,
        "key_id": key_id(public_key),
        "public_key": public_pem(public_key),
    }
    out.write(json.dumps(header) + "\n")
    columns = ", ".join(f"{expr} as {name}" for name, expr in FIELD_SQL.items())
    result = (
        uow.session.connection()
        .execution_options(stream_results=True)
        .execute(
            sa.text(
                f"select s.seq, s.hash, e.id is not null as present, {columns} from audit.seal s"
                " left join audit.event e on e.tenant_id = s.tenant_id and e.id = s.event_id"
                " where s.tenant_id = :t order by s.seq"
            ),
            {"t": uow.tenant_id},
        )
    )
    n = 0
    for part in result.mappings().partitions(10000):
        for row in part:
            fields = {name: row[name] for name in FIELD_SQL} if row["present"] else None
            out.write(
                json.dumps(
                    {"type": "event", "seq": row["seq"], "hash": bytes(row["hash"]).hex(), "fields": fields}, ensure_ascii=False
                )
                + "\n"
            )
            n += 1
            if progress:
                progress(1)
    for c in _checkpoints(uow):
        out.write(
            json.dumps(
                {
                    "type": "checkpoint",
                    "seq": c.seq,
                    "hash": c.hash.hex(),
                    "signed_at": c.signed_at,
                    "key_id": c.key_id,
                    "signature": c.signature.hex(),
                }
            )
            + "\n"
        )
    return n


def verify_export(lines: Iterator[str], *, public_key_text: str, progress=None) -> Report:
    public_key = load_public_key(public_key_text)
    header = json.loads(next(lines))
    if header.get("format") != EXPORT_FORMAT:
        raise ValueError(f"not a Traceport audit export (format {header.get('format')!r})")
    checkpoints: list[SignedCheckpoint] = []

    def events() -> Iterator[dict]:
        for line in lines:
            record = json.loads(line)
            if record["type"] == "event":
                yield record
            elif record["type"] == "checkpoint":
                checkpoints.append(
                    SignedCheckpoint(
                        record["seq"],
                        bytes.fromhex(record["hash"]),
                        record["signed_at"],
                        record["key_id"],
                        bytes.fromhex(record["signature"]),
                    )
                )

    # Checkpoints follow the events in the file: read the events first, then verify.
    links = list(iter_export_links(events()))
    report = verify_links(header["tenant_id"], iter(links), checkpoints, public_key, key_id(public_key), progress=progress)
    report.unsealed = header.get("unsealed", 0)
    return report
