"""Identifiers: UUIDv7, generated in Python so PostgreSQL 15 works too."""

import uuid

import uuid_utils


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)
