"""RFC 3339 timestamps in and out, the one format posts, alerts and Elasticsearch share."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso", "parse_rfc3339"]


def iso(ts: float) -> str:
    """Epoch seconds as RFC 3339 UTC with milliseconds (``2026-11-28T05:42:00.123Z``)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rfc3339(value: str) -> float:
    """Epoch seconds of an RFC 3339 timestamp; a timestamp without zone is taken as UTC."""
    parsed = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
