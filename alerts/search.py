"""Read alerts back from Elasticsearch for the command line (and, later, the console)."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from trailhound.alerts.scoring import SEVERITY_LEVELS
from trailhound.config import Settings

__all__ = ["list_alerts"]

SEVERITY_NUMBER = {name: number for _, name, number in SEVERITY_LEVELS}


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
