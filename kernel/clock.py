"""One place to ask the time, always UTC."""

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """The day the services count in (UTC)."""
    return utcnow().date()
