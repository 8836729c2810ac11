"""Read alerts back from Elasticsearch for the command line (and, later, the console)."""

from __future__ import annotations

import re
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from trailhound.alerts.scoring import SEVERITY_LEVELS
from trailhound.config import Settings

__all__ = ["checked_since", "list_alerts"]

SEVERITY_NUMBER = {name: number for _, name, number in SEVERITY_LEVELS}
_ACCEPTED_TIME = re.compile(
    r"now([+-]\d+[yMwdhHms])*(/[yMwdhHms])?"  # date math
    r"|\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?)?"  # strict_date_optional_time
    r"|\d{10,13}")  # epoch milliseconds
"""What the alerts index's ``@timestamp`` accepts in a range (``strict_date_optional_time||epoch_millis``)."""


def checked_since(since: str) -> str:
    """``since`` if Elasticsearch can read it as a time (``now-1h``, ``now-7d``, an RFC 3339 date or time, or
    epoch milliseconds); else ``ValueError`` saying what is accepted, instead of the search failing with the
    server's message."""
    text = since.strip()
    if not _ACCEPTED_TIME.fullmatch(text):
        raise ValueError(f"{since!r} is not a time: use now-1h, now-7d or a date such as 2026-11-28 "
                         "or 2026-11-28T09:00:00Z")
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
