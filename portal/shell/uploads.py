"""Uploads larger than the app's usual request body limit, for one endpoint at a time."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, request

# Room above a file's own limit for the form's other fields and the multipart framing.
BODY_SLACK = 256 * 1024


def allow_larger_body(blueprint: Blueprint, endpoint: str, limit_bytes: int | Callable[[], int]) -> None:
    """Let a POST to `endpoint` send a file of up to `limit_bytes` (a number, or a function
    asked on each request). Set before any before_request hook reads the body (the CSRF
    check does); the file's own limit is checked where it is read, this one stops a far
    larger body. The blueprint's RequestEntityTooLarge handler answers one that is."""

    @blueprint.url_value_preprocessor
    def _larger_body(requested: str | None, values) -> None:
        if requested == endpoint and request.method == "POST":
            limit = limit_bytes() if callable(limit_bytes) else limit_bytes
            request.max_content_length = limit + BODY_SLACK
