"""A real S3 API server (moto in server mode) on a free local port, for the session; the
certificate tests' `who` (tests.documents.certificate_support)."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import free_port
from tests.documents.certificate_support import who  # noqa: F401 - the certificate tests' people, as a fixture

REGION = "eu-central-1"


@pytest.fixture(scope="session")
def s3_server():
    from moto.server import ThreadedMotoServer

    # boto3 finds these in the environment; moto accepts any. Set for the whole session:
    # S3Storage builds its client from the usual chain, as in production.
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", REGION)):
        os.environ.setdefault(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_client(s3_server):
    import boto3

    return boto3.client("s3", region_name=REGION, endpoint_url=s3_server)


def make_bucket(client, *, object_lock: bool = False) -> str:
    name = f"traceport-{uuid.uuid4().hex[:12]}"
    client.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}, ObjectLockEnabledForBucket=object_lock
    )
    return name
