"""The storage backends, with the same tests: a local directory and a real S3 API
(moto's server on a local port)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from documents.crypto import encrypt_stream, new_data_key
from documents.storage import LocalStorage, S3Storage, Storage, storage_from_url
from tests.documents.conftest import REGION, make_bucket


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    server = request.getfixturevalue("s3_server")
    client = request.getfixturevalue("s3_client")
    return S3Storage(make_bucket(client), "traceport/files", REGION, server)


def pieces(data: bytes, size: int = 64 * 1024):
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_put_get_exists_delete(storage):
    data = os.urandom(300_000)
    assert not storage.exists("tenants/a/2026/x")
    assert storage.put("tenants/a/2026/x", pieces(data)) == len(data)
    assert storage.exists("tenants/a/2026/x")
    assert b"".join(storage.get("tenants/a/2026/x")) == data
    storage.delete("tenants/a/2026/x")
    assert not storage.exists("tenants/a/2026/x")
    storage.delete("tenants/a/2026/x")  # deleting what is gone is no error


def test_a_put_replaces_the_object(storage):
    storage.put("k", [b"first version"])
    storage.put("k", [b"second"])
    assert b"".join(storage.get("k")) == b"second"


def test_an_empty_object(storage):
    assert storage.put("empty", iter(())) == 0
    assert storage.exists("empty") and b"".join(storage.get("empty")) == b""


def test_a_missing_object_is_file_not_found(storage):
    with pytest.raises(FileNotFoundError):
        b"".join(storage.get("tenants/nobody/none"))


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../outside", "a/../../b", "a//b", "a/./b", "a\\b", "a/\x00"])
def test_keys_that_escape_or_are_malformed_are_refused(storage, key):
    with pytest.raises(ValueError):
        storage.put(key, [b"x"])
    with pytest.raises(ValueError):
        storage.exists(key)


def test_a_multipart_sized_stream(storage):
    # Past the 8 MiB multipart threshold on S3: three parts.
    data = os.urandom(17 * 1024 * 1024 + 5)
    assert storage.put("big", pieces(data, 1024 * 1024)) == len(data)
    assert b"".join(storage.get("big")) == data


def test_stored_bytes_reveal_no_plaintext(storage):
    plaintext = b"ISO 13485 certificate of Supplier 1, number CERT-0042. " * 2000
    file_id = uuid.uuid4()
    storage.put("tenants/t/2026/f", encrypt_stream(pieces(plaintext), key=new_data_key(), file_id=file_id))
    raw = b"".join(storage.get("tenants/t/2026/f"))
    assert b"CERT-0042" not in raw and b"ISO 13485" not in raw
    assert len(raw) > len(plaintext)


# --- local specifics ----------------------------------------------------------------------


def test_local_writes_are_atomic_and_leave_no_temporary_file(tmp_path):
    storage = LocalStorage(tmp_path)

    def failing():
        yield b"part of it"
        raise RuntimeError("client went away")

    storage.put("a/b", [b"old"])
    with pytest.raises(RuntimeError):
        storage.put("a/b", failing())
    assert (tmp_path / "a" / "b").read_bytes() == b"old"  # the old object intact
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]


def test_local_refuses_a_symlink_out_of_the_root(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(ValueError):
        LocalStorage(root).put("link/x", [b"x"])
    assert not (outside / "x").exists()


# --- S3 specifics -----------------------------------------------------------------------


def test_s3_objects_are_written_with_server_side_encryption(s3_server, s3_client):
    bucket = make_bucket(s3_client)
    storage = S3Storage(bucket, "p", REGION, s3_server)
    storage.put("o", [b"x" * 10])
    head = s3_client.head_object(Bucket=bucket, Key="p/o")
    assert head["ServerSideEncryption"] == "AES256"
    assert storage.object_lock() is None


def test_s3_with_object_lock_keeps_the_bucket_default_retention(s3_server, s3_client):
    bucket = make_bucket(s3_client, object_lock=True)
    s3_client.put_object_lock_configuration(
        Bucket=bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    storage = S3Storage(bucket, "", REGION, s3_server)
    lock = storage.object_lock()
    retention = lock["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 1)
    data = os.urandom(100_000)
    storage.put("tenants/t/2026/f", pieces(data))
    head = s3_client.head_object(Bucket=bucket, Key="tenants/t/2026/f")
    assert head["ObjectLockMode"] == "COMPLIANCE" and "ObjectLockRetainUntilDate" in head
    assert b"".join(storage.get("tenants/t/2026/f")) == data
    # A multipart upload works on a locked bucket (S3 wants a checksum on each part there).
    # moto applies the default retention to single uploads only; S3 applies it to both.
    big = os.urandom(10 * 1024 * 1024)
    storage.put("tenants/t/2026/big", pieces(big, 1024 * 1024))
    assert b"".join(storage.get("tenants/t/2026/big")) == big
    storage.delete("tenants/t/2026/big")
    # A delete only hides it behind a delete marker: the locked version stays.
    storage.delete("tenants/t/2026/f")
    assert not storage.exists("tenants/t/2026/f")
    versions = s3_client.list_object_versions(Bucket=bucket)["Versions"]
    assert sorted(v["Key"] for v in versions) == ["tenants/t/2026/big", "tenants/t/2026/f"]


# --- STORAGE_URL ---------------------------------------------------------------------------


def test_storage_from_url(tmp_path):
    default = storage_from_url(None, tmp_path)
    assert isinstance(default, LocalStorage) and default.root == (tmp_path / "files").resolve()
    local = storage_from_url(f"file://{tmp_path}/elsewhere", Path("/unused"))
    assert isinstance(local, LocalStorage) and local.root == (tmp_path / "elsewhere").resolve()
    s3 = storage_from_url("s3://docs-bucket/traceport/prod?region=eu-central-1&endpoint_url=http://127.0.0.1:9000", tmp_path)
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix, s3.region, s3.endpoint_url, s3.sse) == (
        "docs-bucket",
        "traceport/prod",
        "eu-central-1",
        "http://127.0.0.1:9000",
        "AES256",
    )
    assert storage_from_url("s3://b?sse=none", tmp_path).sse == "none"
    assert storage_from_url("s3://b", tmp_path).prefix == ""


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/x",
        "/srv/files",
        "file://relative/path",
        "file:///",
        "s3://",
        "s3:///prefix",
        "s3://bucket?regoin=eu-central-1",
        "s3://bucket?region=a&region=b",
        "s3://bucket?sse=DES",
        "s3://bucket?endpoint_url=ftp://x",
        "s3://user:secret@bucket/x",
        "s3://bucket/../x",
    ],
)
def test_a_bad_storage_url_is_refused_clearly(url, tmp_path):
    with pytest.raises(ValueError, match="STORAGE_URL"):
        storage_from_url(url, tmp_path)
