"""The file format (STREAM over AES-256-GCM) and the master keys that wrap data keys."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from cryptography.fernet import Fernet

from documents.crypto import (
    HEADER_BYTES,
    TAG_BYTES,
    MasterKeys,
    decrypt_stream,
    encrypt_stream,
    master_key_id,
    new_data_key,
)
from documents.errors import FileTampered, KeyUnavailable
from kernel.crypto import derive_key
from kernel.settings import load_settings

CHUNK = 4096  # small chunks keep the tests fast; the format is the same at 1 MiB
SEALED = CHUNK + TAG_BYTES


def seal(plaintext: bytes, key: bytes, file_id: uuid.UUID, piece: int = 1000) -> bytes:
    pieces = [plaintext[i : i + piece] for i in range(0, len(plaintext), piece)]
    return b"".join(encrypt_stream(pieces, key=key, file_id=file_id, chunk_size=CHUNK))


def unseal(ciphertext: bytes, key: bytes, file_id: uuid.UUID, piece: int = 777) -> bytes:
    pieces = [ciphertext[i : i + piece] for i in range(0, len(ciphertext), piece)]
    return b"".join(decrypt_stream(pieces, key=key, file_id=file_id))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_round_trip(size):
    key, file_id, plaintext = new_data_key(), uuid.uuid4(), os.urandom(size)
    ciphertext = seal(plaintext, key, file_id)
    chunks = max(1, -(-size // CHUNK))
    assert len(ciphertext) == HEADER_BYTES + size + chunks * TAG_BYTES
    assert unseal(ciphertext, key, file_id) == plaintext
    assert unseal(ciphertext, key, file_id, piece=max(1, len(ciphertext))) == plaintext  # all in one piece


def test_the_default_chunk_is_a_mebibyte_and_reads_back():
    key, file_id, plaintext = new_data_key(), uuid.uuid4(), os.urandom(2 * 1024 * 1024 + 3)
    ciphertext = b"".join(encrypt_stream([plaintext], key=key, file_id=file_id))
    assert len(ciphertext) == HEADER_BYTES + len(plaintext) + 3 * TAG_BYTES
    assert b"".join(decrypt_stream([ciphertext], key=key, file_id=file_id)) == plaintext


def test_the_same_plaintext_encrypts_differently_each_time():
    key, file_id = new_data_key(), uuid.uuid4()
    assert seal(b"certificate", key, file_id) != seal(b"certificate", key, file_id)


@pytest.fixture
def sealed():
    key, file_id, plaintext = new_data_key(), uuid.uuid4(), os.urandom(3 * CHUNK + 100)
    return key, file_id, plaintext, seal(plaintext, key, file_id)


def chunks_of(ciphertext: bytes) -> tuple[bytes, list[bytes]]:
    body = ciphertext[HEADER_BYTES:]
    return ciphertext[:HEADER_BYTES], [body[i : i + SEALED] for i in range(0, len(body), SEALED)]


@pytest.mark.parametrize(
    "where",
    [0, 4, 5, 9, HEADER_BYTES - 1, HEADER_BYTES, HEADER_BYTES + CHUNK, HEADER_BYTES + SEALED + 10, -TAG_BYTES, -1],
    ids=["magic", "version", "chunk-size", "prefix", "prefix-end", "first-byte", "first-tag", "second-chunk", "last-tag", "last"],
)
def test_a_flipped_byte_anywhere_is_detected(sealed, where):
    key, file_id, _, ciphertext = sealed
    altered = bytearray(ciphertext)
    altered[where] ^= 0x01
    with pytest.raises(FileTampered):
        unseal(bytes(altered), key, file_id)


def test_truncation_is_detected(sealed):
    key, file_id, _, ciphertext = sealed
    header, chunks = chunks_of(ciphertext)
    for cut in (
        ciphertext[:-1],  # inside the last chunk
        header + b"".join(chunks[:-1]),  # at a chunk boundary: the last chunk dropped
        header + b"".join(chunks[:1]),
        header,
        ciphertext[: HEADER_BYTES - 1],
        b"",
    ):
        with pytest.raises(FileTampered):
            unseal(cut, key, file_id)


def test_a_dropped_reordered_or_appended_chunk_is_detected(sealed):
    key, file_id, _, ciphertext = sealed
    header, chunks = chunks_of(ciphertext)
    for body in (
        [chunks[0], chunks[2], chunks[3]],  # one dropped from the middle
        [chunks[1], chunks[0], chunks[2], chunks[3]],  # two swapped
        [*chunks, chunks[-1]],  # one repeated at the end
    ):
        with pytest.raises(FileTampered):
            unseal(header + b"".join(body), key, file_id)


def test_a_chunk_or_file_from_another_file_is_detected(sealed):
    key, file_id, plaintext, ciphertext = sealed
    other_id = uuid.uuid4()
    with pytest.raises(FileTampered):
        unseal(ciphertext, key, other_id)  # the object moved under another file's row
    other = seal(plaintext, key, other_id)
    header, chunks = chunks_of(ciphertext)
    _, foreign = chunks_of(other)
    with pytest.raises(FileTampered):
        unseal(header + b"".join([chunks[0], foreign[1], *chunks[2:]]), key, file_id)


def test_the_wrong_key_is_detected(sealed):
    _, file_id, _, ciphertext = sealed
    with pytest.raises(FileTampered):
        unseal(ciphertext, new_data_key(), file_id)


# --- master keys -----------------------------------------------------------------------------


def test_wrap_and_unwrap():
    keys = MasterKeys.from_settings(load_settings(SECRET_KEY="s" * 40, ENCRYPTION_KEYS=None))
    data_key = new_data_key()
    wrapped, key_id = keys.wrap(data_key)
    assert data_key not in wrapped and len(key_id) == 16
    assert keys.unwrap(wrapped, key_id) == data_key
    altered = bytearray(wrapped)
    altered[-1] ^= 1
    with pytest.raises(KeyUnavailable):
        keys.unwrap(bytes(altered), key_id)


def test_a_rotated_master_key_still_unwraps_old_data_keys():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = MasterKeys.from_settings(load_settings(ENCRYPTION_KEYS=old))
    data_key = new_data_key()
    wrapped, old_id = before.wrap(data_key)
    after = MasterKeys.from_settings(load_settings(ENCRYPTION_KEYS=f"{new}, {old}"))
    assert after.current_id != old_id and after.ids == [after.current_id, old_id]
    assert after.unwrap(wrapped, old_id) == data_key
    assert after.wrap(data_key)[1] == after.current_id
    # Without the old key in the list, its data keys are lost, and the error says which.
    with pytest.raises(KeyUnavailable, match=old_id):
        MasterKeys.from_settings(load_settings(ENCRYPTION_KEYS=new)).unwrap(wrapped, old_id)


def test_master_keys_are_derived_for_this_purpose_only():
    secret = "t" * 40
    keys = MasterKeys.from_settings(load_settings(SECRET_KEY=secret, ENCRYPTION_KEYS=None))
    same = MasterKeys.from_settings(load_settings(SECRET_KEY=secret, ENCRYPTION_KEYS=None))
    other = MasterKeys.from_settings(load_settings(SECRET_KEY="u" * 40, ENCRYPTION_KEYS=None))
    assert keys.current_id == same.current_id != other.current_id
    # Not the field-encryption key derived from the same secret.
    assert keys.current_id != master_key_id(base64.urlsafe_b64decode(derive_key(secret, "traceport field encryption")))


def test_an_unknown_master_key_id_is_refused():
    keys = MasterKeys.from_settings(load_settings(SECRET_KEY="s" * 40, ENCRYPTION_KEYS=None))
    wrapped, _ = keys.wrap(new_data_key())
    with pytest.raises(KeyUnavailable):
        keys.unwrap(wrapped, "0" * 16)
