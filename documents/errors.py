"""Errors of the documents package (files, keys, certificates)."""

from __future__ import annotations

from kernel.errors import N_, Conflict, DomainError, NotFound


class FileNotFound(NotFound):
    # The same for a file that does not exist and one of another tenant or supplier
    # (row-level security hides those): nothing tells them apart.
    code = "file-not-found"
    message = N_("There is no such file.")


class FileTampered(DomainError):
    """The stored copy failed its GCM tag or its SHA-256, or is missing: it is not served,
    and a "file_tampered" security event was written in the caller's unit of work."""

    status = 409
    code = "file-tampered"
    message = N_("This file's stored copy was altered or damaged and is not served. The event has been recorded.")


class KeyUnavailable(RuntimeError):
    """A data key was wrapped by a master key this server no longer has (ENCRYPTION_KEYS
    lost the key it was made with). A configuration error, not the user's: a 500."""


class CertificateNotFound(NotFound):
    code = "certificate-not-found"
    message = N_("This certificate does not exist or is not visible to you.")


class CertificateTypeNotFound(NotFound):
    code = "certificate-type-not-found"
    message = N_("This certificate type does not exist.")


class AlreadyReviewed(Conflict):
    code = "certificate-already-reviewed"
    message = N_("This certificate was reviewed already; reload the page to see the decision.")
