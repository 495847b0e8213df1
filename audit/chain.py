"""The chain itself: canonical form, links, checkpoint messages and the verifier.

Pure functions over plain values, shared by the sealer, the verifier that reads the
database and the offline verifier that reads an export - so all three agree.

Canonical event: its fields as text, each written `<byte length>:<value>` and a null as
`-`, in FIELDS order. The database builds the same string in SQL (CANONICAL_SQL) so a
verification streams one column per event; the export carries the fields themselves and
the offline verifier rebuilds the string from them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FIELDS = (
    "tenant_id",
    "event_id",
    "occurred_at",
    "actor_id",
    "actor",
    "action",
    "table_name",
    "row_id",
    "old_values",
    "new_values",
    "reason",
    "request_id",
)
TIME_FORMAT_SQL = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""
TIME_FORMAT_PY = "%Y-%m-%dT%H:%M:%S.%fZ"

# The event's fields as text, as the sealer and the verifiers see them.
FIELD_SQL = {
    "tenant_id": "e.tenant_id::text",
    "event_id": "e.id::text",
    "occurred_at": f"to_char(e.occurred_at AT TIME ZONE 'UTC', {TIME_FORMAT_SQL})",
    "actor_id": "e.actor_id::text",
    "actor": "e.actor",
    "action": "e.action",
    "table_name": "e.table_name",
    "row_id": "e.row_id",
    "old_values": "e.old_values::text",
    "new_values": "e.new_values::text",
    "reason": "e.reason",
    "request_id": "e.request_id",
}
CANONICAL_SQL = " || ".join(f"coalesce(octet_length({expr})::text || ':' || {expr}, '-')" for expr in FIELD_SQL.values())
GENESIS = bytes(32)


def canonical(fields: dict[str, str | None]) -> str:
    parts = []
    for name in FIELDS:
        value = fields.get(name)
        parts.append("-" if value is None else f"{len(value.encode())}:{value}")
    return "".join(parts)


def link(prev_hash: bytes, seq: int, canonical_text: str) -> bytes:
    """hash(n) = sha256(hash(n-1) || seq || canonical event)."""
    return hashlib.sha256(prev_hash + seq.to_bytes(8, "big") + canonical_text.encode()).digest()


def checkpoint_message(tenant_id: str, seq: int, hash_: bytes, signed_at: str) -> bytes:
    return f"traceport-audit-checkpoint/1\n{tenant_id}\n{seq}\n{hash_.hex()}\n{signed_at}".encode()


@dataclass(frozen=True)
class Link:
    seq: int
    hash: bytes
    canonical: str | None  # None: the sealed event's row is gone


@dataclass(frozen=True)
class SignedCheckpoint:
    seq: int
    hash: bytes
    signed_at: str
    key_id: str
    signature: bytes


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # removed | altered | checkpoint-signature | checkpoint-mismatch | unknown-key | orphan
    detail: str


@dataclass
class Report:
    tenant_id: str
    events: int = 0
    checkpoints: int = 0
    unsealed: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.seq) if self.problems else None


def verify_links(
    tenant_id: str,
    links: Iterable[Link],
    checkpoints: list[SignedCheckpoint],
    public_key: Ed25519PublicKey,
    public_key_id: str,
    *,
    progress=None,
) -> Report:
    """Walk the chain from seq 1; stop at the first broken link. Then check every
    checkpoint's signature and that the chain passes through its hash."""
    report = Report(tenant_id=tenant_id, checkpoints=len(checkpoints))
    wanted = {c.seq for c in checkpoints}
    seen: dict[int, bytes] = {}
    prev, expected = GENESIS, 1
    for item in links:
        if progress is not None:
            progress(1)
        if item.seq != expected:
            kind = "removed" if item.seq > expected else "reordered"
            report.problems.append(Problem(expected, kind, f"sequence {expected} is missing from the chain"))
            break
        if item.canonical is None:
            report.problems.append(Problem(item.seq, "removed", f"the event sealed at sequence {item.seq} was deleted"))
            break
        if link(prev, item.seq, item.canonical) != item.hash:
            report.problems.append(
                Problem(item.seq, "altered", f"the event at sequence {item.seq} was altered or moved (hash mismatch)")
            )
            break
        if item.seq in wanted:
            seen[item.seq] = item.hash
        prev, expected = item.hash, expected + 1
        report.events += 1
    last = expected - 1
    broken = bool(report.problems)
    for c in checkpoints:
        if c.key_id != public_key_id:
            report.problems.append(
                Problem(c.seq, "unknown-key", f"checkpoint at sequence {c.seq} is signed by key {c.key_id}, not {public_key_id}")
            )
            continue
        try:
            public_key.verify(c.signature, checkpoint_message(tenant_id, c.seq, c.hash, c.signed_at))
        except InvalidSignature:
            report.problems.append(
                Problem(c.seq, "checkpoint-signature", f"the signature of the checkpoint at sequence {c.seq} is not valid")
            )
            continue
        if c.seq > last and not broken:
            report.problems.append(
                Problem(last + 1, "removed", f"events {last + 1}..{c.seq} are signed in a checkpoint but missing from the chain")
            )
        elif c.seq in seen and seen[c.seq] != c.hash:
            report.problems.append(
                Problem(
                    c.seq,
                    "checkpoint-mismatch",
                    f"the chain was rewritten up to sequence {c.seq}: it no longer matches its signed checkpoint",
                )
            )
    return report


def iter_export_links(records: Iterator[dict]) -> Iterator[Link]:
    for record in records:
        fields = record.get("fields")
        yield Link(record["seq"], bytes.fromhex(record["hash"]), canonical(fields) if fields is not None else None)
