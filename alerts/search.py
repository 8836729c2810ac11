"""Read alerts back from Elasticsearch for the command line (and, later, the console)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from trailhound.alerts.scoring import SEVERITY_LEVELS
from trailhound.config import Settings

__all__ = ["checked_since", "list_alerts"]

SEVERITY_NUMBER = {name: number for _, name, number in SEVERITY_LEVELS}
_DATE_MATH = re.compile(r"now([+-]\d+[smhdwMy])*(/[smhdwMy])?")


def checked_since(since: str) -> str:
    """``since`` if Elasticsearch can read it as a date (``now-1h``, ``now-7d`` or an RFC 3339 date or time);
    else ``ValueError`` saying what is accepted, instead of the search failing with the server's message."""
    text = since.strip()
    if _DATE_MATH.fullmatch(text):
        return text
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{since!r} is not a time: use now-1h, now-7d or a date such as 2026-11-28 "
                         "or 2026-11-28T09:00:00Z") from None
    return text


def list_alerts(es: Elasticsearch, settings: Settings, since: str | None = None, min_severity: str | None = None,
                limit: int = 50) -> list[dict[str, Any]]:
    """Newest alerts first; ``since`` is an Elasticsearch date (``now-1h`` or RFC 3339)."""
    filters: list[dict[str, Any]] = [{"term": {"event.kind": "alert"}}]
    if since:
        filters.append({"range": {"@timestamp": {"gte": since}}})
    if min_severity:
        filters.append({"range": {"event.severity": {"gte": SEVERITY_NUMBER[min_severity]}}})
    try:
        response = es.search(index=settings.index("alerts"), query={"bool": {"filter": filters}},
                             sort=[{"@timestamp": "desc"}, {"event.id": "asc"}], size=limit)
    except NotFoundError:
        return []
    return [hit["_source"] for hit in response["hits"]["hits"]]
