"""File encryption: per-tenant data keys wrapped by master keys, and a streaming
AES-256-GCM format for the files themselves.

Master keys are derived (HKDF-SHA256, purpose "traceport document master key") from
each key of ENCRYPTION_KEYS, newest first, or from SECRET_KEY without it, as
kernel.crypto derives its field keys. A master key's id is the first 16 hex characters
of the SHA-256 of the derived key: a data key row names the master key that wrapped it,
so after ENCRYPTION_KEYS gains a new key in front the old data keys still unwrap, as
long as the old key stays listed.

A file is encrypted with the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár,
"Online authenticated-encryption and its nonce-reuse misuse-resistance"):

    header  = b"TPF1" | version (1 byte) | chunk size (4 bytes, big-endian) | nonce prefix (7 bytes)
    chunk i = AES-256-GCM(key, nonce = prefix | i (4 bytes, big-endian) | last (1 byte: 0 or 1),
                          plaintext chunk i, aad = header | file id (16 bytes))

Every chunk but the last holds exactly `chunk size` plaintext bytes; the last holds
0..chunk size (an empty file is one empty last chunk). The counter catches reordered
or dropped chunks, the last-chunk flag catches truncation at a chunk boundary and
appended chunks, the file id in the AAD catches a chunk or a whole object moved from
another file, and the tag catches every bit flip. The header is bound too (it is in the
AAD). Memory is O(chunk) both ways.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import uuid
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from documents.errors import FileTampered, KeyUnavailable
from kernel.crypto import derive_key

MASTER_KEY_PURPOSE = "traceport document master key"
DATA_KEY_AAD = b"traceport data key"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

MAGIC = b"TPF1"
VERSION = 1
CHUNK_SIZE = 1024 * 1024
PREFIX_BYTES = 7
_HEADER = struct.Struct(">4sBI7s")
HEADER_BYTES = _HEADER.size  # 16
# A chunk size a reader accepts from a header: bounds the memory a forged header could ask for.
MAX_CHUNK_SIZE = 16 * 1024 * 1024


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def master_key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


class MasterKeys:
    """The master keys, newest first. `wrap` uses the newest; `unwrap` the one named."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one master key")
        if any(len(k) != KEY_BYTES for k in keys):
            raise ValueError("master keys are 32 bytes")
        self._keys: dict[str, bytes] = {}
        for key in keys:  # newest first; the newest wins a (vanishing) id clash
            self._keys.setdefault(master_key_id(key), key)
        self.current_id = master_key_id(keys[0])

    @classmethod
    def from_settings(cls, settings) -> MasterKeys:
        if settings.encryption_keys:
            secrets = [k.strip() for k in settings.encryption_keys.split(",") if k.strip()]
        else:
            secrets = [settings.secret_key]
        return cls([_derive(secret) for secret in secrets])

    @property
    def ids(self) -> list[str]:
        return list(self._keys)

    def wrap(self, data_key: bytes) -> tuple[bytes, str]:
        """(nonce | ciphertext and tag, id of the master key used)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys[self.current_id]).encrypt(nonce, data_key, DATA_KEY_AAD)
        return nonce + sealed, self.current_id

    def unwrap(self, wrapped: bytes, master_key_id: str) -> bytes:
        key = self._keys.get(master_key_id)
        if key is None:
            raise KeyUnavailable(f"master key {master_key_id} is not among the configured ENCRYPTION_KEYS")
        wrapped = bytes(wrapped)
        try:
            return AESGCM(key).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], DATA_KEY_AAD)
        except InvalidTag as exc:
            raise KeyUnavailable(f"the data key wrapped by master key {master_key_id} does not unwrap") from exc


def _derive(secret: str) -> bytes:
    return base64.urlsafe_b64decode(derive_key(secret, MASTER_KEY_PURPOSE))


# --- files --------------------------------------------------------------------------------


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= 2**32:
        raise ValueError("file too large for the STREAM counter")
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def encrypt_stream(chunks: Iterable[bytes], *, key: bytes, file_id: uuid.UUID, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The encrypted file: the header, then one sealed chunk per `chunk_size` bytes of
    plaintext (the input's pieces may be of any size)."""
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError("chunk size out of range")
    aead = AESGCM(key)
    prefix = os.urandom(PREFIX_BYTES)
    header = _HEADER.pack(MAGIC, VERSION, chunk_size, prefix)
    aad = header + file_id.bytes
    yield header
    counter = 0
    pending = bytearray()
    for piece in chunks:
        pending += piece
        # Keep at least one byte back: a full chunk is only known not to be the last
        # once something follows it.
        while len(pending) > chunk_size:
            block = bytes(pending[:chunk_size])
            del pending[:chunk_size]
            yield aead.encrypt(_nonce(prefix, counter, False), block, aad)
            counter += 1
    yield aead.encrypt(_nonce(prefix, counter, True), bytes(pending), aad)


def decrypt_stream(chunks: Iterable[bytes], *, key: bytes, file_id: uuid.UUID) -> Iterator[bytes]:
    """The plaintext, chunk by chunk. Raises FileTampered (possibly after some chunks
    were yielded: a caller that must not pass on unverified bytes collects them all
    first) on a bad header, a failed tag, a missing, extra or moved chunk."""
    aead = AESGCM(key)
    buffer = bytearray()
    source = iter(chunks)
    for piece in source:
        buffer += piece
        if len(buffer) >= HEADER_BYTES:
            break
    if len(buffer) < HEADER_BYTES:
        raise FileTampered()
    header = bytes(buffer[:HEADER_BYTES])
    del buffer[:HEADER_BYTES]
    magic, version, chunk_size, prefix = _HEADER.unpack(header)
    if magic != MAGIC or version != VERSION or not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise FileTampered()
    aad = header + file_id.bytes
    sealed = chunk_size + TAG_BYTES
    counter = 0

    def open_(block: bytes, last: bool) -> bytes:
        try:
            return aead.decrypt(_nonce(prefix, counter, last), block, aad)
        except (InvalidTag, ValueError) as exc:
            raise FileTampered() from exc

    while True:
        # Whatever is beyond one sealed chunk proves the chunk is not the last.
        while len(buffer) > sealed:
            block = bytes(buffer[:sealed])
            del buffer[:sealed]
            yield open_(block, False)
            counter += 1
        piece = next(source, None)
        if piece is None:
            break
        buffer += piece
    if len(buffer) < TAG_BYTES:
        raise FileTampered()
    yield open_(bytes(buffer), True)
