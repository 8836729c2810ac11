"""The live alert queue: new alerts pushed to every open console within about a second.

The console polls Elasticsearch (four times a second, a cheap sorted query over the last minutes) rather
than following the ``alerts`` topic: an alert is only worth showing once it is searchable, because the
analyst's next click opens it from Elasticsearch. Each open queue page holds one server-sent-events
stream (:func:`sse_stream`); the feed hands every subscriber each alert it has not seen, and the
console's own actions publish status changes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiohttp import web
from elasticsearch import AsyncElasticsearch, NotFoundError
from prometheus_client import CollectorRegistry, Gauge

from trailhound.config import Settings

__all__ = ["AlertFeed", "QUEUE_FILTERS", "queue_query", "sse_stream", "summary"]

log = logging.getLogger(__name__)

QUEUE_FILTERS = {
    "category": "trailhound.categories",
    "region": "trailhound.location.region",
    "status": "trailhound.status",
    "lang": "trailhound.language",
}
QUEUE_SORT = [{"event.severity": "desc"}, {"@timestamp": "desc"}, {"event.id": "asc"}]
RECENT = "now-15m"
KEEPALIVE_S = 15.0


def summary(alert: dict[str, Any]) -> dict[str, Any]:
    """What a queue row shows (no personal data: the message names the post key and place only)."""
    th = alert.get("trailhound", {})
    location = th.get("location") or {}
    return {
        "id": alert["event"]["id"], "time": alert.get("@timestamp", ""), "severity": th.get("severity", "low"),
        "severity_number": alert["event"].get("severity", 1), "score": th.get("score", 0.0),
        "message": alert.get("message", ""), "categories": th.get("categories", []),
        "region": location.get("region") or "", "city": location.get("city") or "",
        "status": th.get("status", "new"), "lang": th.get("language") or "", "cluster": bool(th.get("cluster_id")),
        "posts": len(th.get("post_ids") or []),
    }


def queue_query(filters: dict[str, str]) -> dict[str, Any]:
    """The Elasticsearch query of the queue for the filters chosen (unknown filters are ignored)."""
    clauses: list[dict[str, Any]] = [{"term": {"event.kind": "alert"}}]
    clauses += [{"term": {QUEUE_FILTERS[name]: value}} for name, value in filters.items()
                if name in QUEUE_FILTERS and value]
    return {"bool": {"filter": clauses}}


OPEN_CLUSTERS = {"bool": {"filter": [{"exists": {"field": "trailhound.cluster_id"}}],
                           "must_not": [{"terms": {"trailhound.status": ["resolved", "dismissed"]}}]}}
COUNT_EVERY_S = 30.0


class AlertFeed:
    """Polls for alerts not seen yet and hands them to every subscriber's queue.

    Every half minute it also counts the open cluster (network) alerts for the
    ``trailhound_clusters_active`` gauge, so operators see on Grafana how many networks are being worked.
    """

    def __init__(self, settings: Settings, es: AsyncElasticsearch, registry: CollectorRegistry,
                 interval_s: float = 0.25) -> None:
        self.index = settings.index("alerts")
        self.es = es
        self.interval_s = interval_s
        self.subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.seen: dict[str, str] = {}  # alert id -> status last pushed
        self.clusters_active = Gauge("trailhound_clusters_active",
                                     "Cluster (network) alerts not yet resolved or dismissed", registry=registry)

    async def run(self) -> None:
        await self._poll(announce=False)  # what exists at start is on the page already
        counted = -COUNT_EVERY_S
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self._poll(announce=True)
                if time.monotonic() - counted >= COUNT_EVERY_S:
                    counted = time.monotonic()
                    await self.count_clusters()
            except Exception:  # Elasticsearch away for a moment: the queue catches up when it is back
                log.warning("alert feed: polling failed", exc_info=True)

    async def count_clusters(self) -> None:
        try:
            self.clusters_active.set((await self.es.count(index=self.index, query=OPEN_CLUSTERS))["count"])
        except NotFoundError:
            self.clusters_active.set(0)

    async def _poll(self, announce: bool) -> None:
        try:
            hits = (await self.es.search(
                index=self.index, size=500, sort=[{"@timestamp": "desc"}],
                query={"bool": {"filter": [{"term": {"event.kind": "alert"}},
                                           {"range": {"@timestamp": {"gte": RECENT}}}]}}))["hits"]["hits"]
        except NotFoundError:
            return
        for hit in reversed(hits):
            alert = hit["_source"]
            status = alert["trailhound"].get("status", "new")
            if self.seen.get(alert["event"]["id"]) != status:
                self.seen[alert["event"]["id"]] = status
                if announce:
                    self.publish(alert)
        if len(self.seen) > 20000:
            self.seen = dict(list(self.seen.items())[-10000:])

    def publish(self, alert: dict[str, Any]) -> None:
        row = summary(alert)
        self.seen[row["id"]] = row["status"]
        for queue in self.subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(row)


async def sse_stream(request: web.Request, feed: AlertFeed) -> web.StreamResponse:
    """``text/event-stream`` of queue rows (event ``alert``) until the browser goes away."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
    feed.subscribers.add(queue)
    try:
        await response.write(b"retry: 2000\n: connected\n\n")
        while True:
            try:
                row = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            await response.write(f"event: alert\ndata: {json.dumps(row, ensure_ascii=False)}\n\n".encode())
    except ConnectionResetError:  # the browser went away
        pass
    finally:
        feed.subscribers.discard(queue)
    return response
