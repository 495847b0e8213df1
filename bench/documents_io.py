"""File throughput through encryption (documents.crypto + documents.storage).

A random file of 256 MB (scaled) under DATA_DIR:
- upload: read it in 1 MiB chunks, SHA-256 it, encrypt it (STREAM, AES-256-GCM) and
  write it to LocalStorage (temporary file, fsync, rename) - what store_file does after
  its checks;
- download: read the object back, decrypt it, SHA-256 it and write the plaintext to a
  spool file (SpooledTemporaryFile, as open_file verifies in full before serving), then
  read the spool back as the response would.
Baselines, measured in the same run on the same bytes: a plain copy of the file
(shutil.copyfileobj, with the same fsync) for the upload, and a plain copy plus
reading it back for the download. Target: >= 100 MB/s each (MB = 10^6 bytes); the ratio
to the copy is shown for context. Each is the best of ROUNDS. Needs no database.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import Bench, log
from documents.crypto import CHUNK_SIZE, decrypt_stream, encrypt_stream, new_data_key
from documents.storage import LocalStorage, read_chunks
from documents.vault import SPOOL_MEMORY

SECTION = "docs_io"
FULL_MB = 256
TARGET = 100.0  # MB/s
ROUNDS = 3


def _hashing(chunks, digest):
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _copy(src: Path, dst: Path) -> None:
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, CHUNK_SIZE)
        fout.flush()
        os.fsync(fout.fileno())


def _drain(handle) -> None:
    handle.seek(0)
    for _ in read_chunks(handle):
        pass


def run(b: Bench) -> None:
    size = b.n(FULL_MB) * 1_000_000
    b.settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-docs-", dir=b.settings.data_dir) as work:
        root = Path(work)
        source = root / "source.bin"
        with open(source, "wb") as out:
            for _ in range(size // CHUNK_SIZE):
                out.write(os.urandom(CHUNK_SIZE))
            out.write(os.urandom(size % CHUNK_SIZE))
        log(f"{size / 1e6:.0f} MB of random bytes in {root}")
        storage = LocalStorage(root / "files")
        key, file_id = new_data_key(), uuid.uuid4()
        expected = hashlib.sha256(source.read_bytes()).hexdigest() if size <= 64_000_000 else None
        times: dict[str, list[float]] = {"copy": [], "upload": [], "copy_read": [], "download": []}
        for _ in range(ROUNDS):
            start = time.perf_counter()
            _copy(source, root / "copy.bin")
            times["copy"].append(time.perf_counter() - start)

            start = time.perf_counter()
            digest = hashlib.sha256()
            with open(source, "rb") as fin:
                storage.put(
                    "tenants/bench/2026/file", encrypt_stream(_hashing(read_chunks(fin), digest), key=key, file_id=file_id)
                )
            times["upload"].append(time.perf_counter() - start)
            uploaded = digest.hexdigest()

            start = time.perf_counter()
            _copy(root / "copy.bin", root / "copy2.bin")
            with open(root / "copy2.bin", "rb") as again:
                _drain(again)
            times["copy_read"].append(time.perf_counter() - start)

            start = time.perf_counter()
            digest = hashlib.sha256()
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, dir=root) as spool:
                for chunk in decrypt_stream(storage.get("tenants/bench/2026/file"), key=key, file_id=file_id):
                    digest.update(chunk)
                    spool.write(chunk)
                assert digest.hexdigest() == uploaded
                _drain(spool)
            times["download"].append(time.perf_counter() - start)
            assert expected is None or uploaded == expected
        stored = storage.path("tenants/bench/2026/file").stat().st_size
    best = {name: min(values) for name, values in times.items()}
    rate = {name: size / 1e6 / seconds for name, seconds in best.items()}
    b.details[SECTION] = {
        "bytes": size,
        "stored_bytes": stored,
        "rounds": ROUNDS,
        "seconds": {name: [round(t, 4) for t in values] for name, values in times.items()},
    }
    b.value_at_least(
        SECTION, "upload: hash+encrypt to LocalStorage", rate["upload"], rate["copy"], "MB/s", TARGET, note="vs plain copy"
    )
    b.value_at_least(
        SECTION,
        "download: decrypt+hash, spool, serve",
        rate["download"],
        rate["copy_read"],
        "MB/s",
        TARGET,
        note="vs copy + read back",
    )
