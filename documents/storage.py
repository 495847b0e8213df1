"""Where encrypted files live: one interface, two backends.

- `LocalStorage`: a directory (by default DATA_DIR/files). Writes go to a temporary
  file in the target's directory, are fsynced and renamed into place, so a reader never
  sees half an object and a crash leaves none.
- `S3Storage`: an S3-compatible bucket (boto3; credentials from the usual AWS
  environment variables or boto3's chain). Big streams go up as a multipart upload
  (boto3's managed transfer reading from the chunk iterator; at most
  `MULTIPART_CHUNK` x `MAX_CONCURRENCY` bytes in memory). Objects are written with
  server-side encryption (`ServerSideEncryption=AES256`, or what `sse=` in the URL
  says; `sse=none` for servers without it) on top of Traceport's own encryption.
  Object lock: Traceport sets no retention per object. A bucket made with object lock
  and a default retention rule (COMPLIANCE or GOVERNANCE, N days/years) applies it to
  every object Traceport writes; `object_lock()` reads that configuration (for the
  health page and the tests). On such a bucket `delete` only adds a delete marker: the
  locked version stays until its retention ends, which is the point.

Keys are relative, slash-separated paths (`tenants/<tenant>/<yyyy>/<file id>`). Reading
a key that is not there raises FileNotFoundError on either backend.

`storage_from_url(STORAGE_URL, DATA_DIR)` picks the backend:
    (unset)                         LocalStorage(DATA_DIR / "files")
    file:///srv/traceport/files     LocalStorage("/srv/traceport/files")
    s3://bucket/prefix?region=eu-central-1&endpoint_url=http://127.0.0.1:9000&sse=AES256
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

READ_CHUNK = 1024 * 1024
MULTIPART_CHUNK = 8 * 1024 * 1024
MAX_CONCURRENCY = 4
SSE_CHOICES = ("AES256", "aws:kms", "none")


@runtime_checkable
class Storage(Protocol):
    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        """Write the object (replacing one of that key); the number of bytes written."""
        ...

    def get(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; FileNotFoundError if there is none."""
        ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def check_key(key: str) -> str:
    """A relative path of plain segments: no absolute path, no '..', no empty segment,
    no backslash or NUL. Refused with ValueError."""
    if not key or "\\" in key or "\x00" in key or key.startswith("/"):
        raise ValueError(f"invalid storage key {key!r}")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"invalid storage key {key!r}")
    return key


# --- local directory ----------------------------------------------------------------------


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, key: str) -> Path:
        path = (self.root / PurePosixPath(check_key(key))).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"storage key {key!r} leaves the storage root")
        return path

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    written += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        _fsync_dir(target.parent)
        return written

    def get(self, key: str) -> Iterator[bytes]:
        handle = open(self.path(key), "rb")  # noqa: SIM115 - closed by the generator
        return _read_chunks(handle)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


def read_chunks(handle, size: int = READ_CHUNK) -> Iterator[bytes]:
    """A file's bytes, `size` at a time."""
    while chunk := handle.read(size):
        yield chunk


def _read_chunks(handle) -> Iterator[bytes]:
    with handle:
        yield from read_chunks(handle)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- S3-compatible object storage ------------------------------------------------------


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (for boto3's upload_fileobj)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.count += n
        return n


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
        *,
        sse: str = "AES256",
        client=None,
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig

        if sse not in SSE_CHOICES:
            raise ValueError(f"sse must be one of {', '.join(SSE_CHOICES)}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.region = region
        self.endpoint_url = endpoint_url
        self.sse = sse
        self.client = client or boto3.client("s3", region_name=region, endpoint_url=endpoint_url)
        self._transfer = TransferConfig(
            multipart_threshold=MULTIPART_CHUNK, multipart_chunksize=MULTIPART_CHUNK, max_concurrency=MAX_CONCURRENCY
        )

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r}, region={self.region!r})"

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, chunks: Iterable[bytes]) -> int:
        reader = _ChunkReader(chunks)
        extra = {} if self.sse == "none" else {"ServerSideEncryption": self.sse}
        self.client.upload_fileobj(
            io.BufferedReader(reader, READ_CHUNK), self.bucket, self.object_key(key), ExtraArgs=extra, Config=self._transfer
        )
        return reader.count

    def get(self, key: str) -> Iterator[bytes]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(key) from exc
        return _body_chunks(response["Body"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def object_lock(self) -> dict | None:
        """The bucket's object lock configuration (enabled, default retention), or None
        when the bucket has no object lock."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ObjectLockConfigurationNotFoundError":
                return None
            raise
        config = response.get("ObjectLockConfiguration") or {}
        return config if config.get("ObjectLockEnabled") == "Enabled" else None


def _body_chunks(body) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(READ_CHUNK)
    finally:
        body.close()


# --- from the setting ------------------------------------------------------------------


def storage_from_url(url: str | None, data_dir: Path) -> Storage:
    """The backend STORAGE_URL names; a clear ValueError for one that names none."""
    if not url:
        return LocalStorage(Path(data_dir) / "files")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query:
            raise ValueError(f"STORAGE_URL {url!r}: a file URL is file:///absolute/path, with no host or options")
        path = Path(unquote(parts.path))
        if not path.is_absolute() or path == Path("/"):
            raise ValueError(f"STORAGE_URL {url!r}: the path must be absolute (file:///srv/traceport/files)")
        return LocalStorage(path)
    if parts.scheme == "s3":
        if not parts.netloc or "@" in parts.netloc or ":" in parts.netloc:
            raise ValueError(f"STORAGE_URL {url!r}: name the bucket, as in s3://bucket/prefix?region=eu-central-1")
        try:
            options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError:
            raise ValueError(f"STORAGE_URL {url!r}: the options cannot be read") from None
        unknown = set(options) - {"region", "endpoint_url", "sse"}
        if unknown:
            raise ValueError(
                f"STORAGE_URL {url!r}: unknown option(s) {', '.join(sorted(unknown))}; use region, endpoint_url, sse"
            )
        if any(len(values) > 1 for values in options.values()):
            raise ValueError(f"STORAGE_URL {url!r}: an option is given twice")
        option = {name: values[0] for name, values in options.items()}
        endpoint = option.get("endpoint_url") or None
        if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
            raise ValueError(f"STORAGE_URL {url!r}: endpoint_url must be an http(s) URL")
        sse = option.get("sse") or "AES256"
        if sse not in SSE_CHOICES:
            raise ValueError(f"STORAGE_URL {url!r}: sse must be one of {', '.join(SSE_CHOICES)}")
        prefix = unquote(parts.path).strip("/")
        if prefix:
            try:
                check_key(prefix)
            except ValueError:
                raise ValueError(f"STORAGE_URL {url!r}: the prefix must be plain path segments") from None
        return S3Storage(parts.netloc, prefix, option.get("region") or None, endpoint, sse=sse)
    raise ValueError(f"STORAGE_URL {url!r}: use file:///absolute/path or s3://bucket/prefix (unset: DATA_DIR/files)")
