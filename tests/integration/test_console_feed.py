"""The console's alert feed on the real Elasticsearch: new alerts and status changes reach subscribers
once, alerts present at start are not announced, and open cluster alerts are counted for Prometheus."""

from __future__ import annotations

import asyncio
import time

from elasticsearch import AsyncElasticsearch
from prometheus_client import CollectorRegistry

from tests.unit.test_dashboards import mapped_fields
from trailhound.alerts.indices import ALERT_MAPPING
from trailhound.config import Settings
from trailhound.console.live import AlertFeed
from trailhound.timefmt import iso


def alert(alert_id: str, status: str = "new", cluster: str | None = None) -> dict:
    now = iso(time.time())
    return {"@timestamp": now, "message": alert_id, "event": {"kind": "alert", "id": alert_id, "severity": 4},
            "trailhound": {"severity": "critical", "score": 0.9, "status": status, "categories": [],
                           "post_ids": ["s:1"], **({"cluster_id": cluster} if cluster else {})}}


def test_the_feed_announces_each_change_once_and_counts_open_clusters(settings: Settings) -> None:
    async def scenario() -> tuple[list[tuple[str, str]], float]:
        async with AsyncElasticsearch(settings.elasticsearch_url) as es:
            index = settings.index("alerts")
            await es.index(index=index, id="old", document=alert("old"), refresh=True)
            registry = CollectorRegistry()
            feed = AlertFeed(settings, es, registry, interval_s=0.05)
            queue: asyncio.Queue = asyncio.Queue()
            feed.subscribers.add(queue)
            task = asyncio.create_task(feed.run())
            await asyncio.sleep(0.5)
            for doc in (alert("a1"), alert("c1", cluster="k1"), alert("c2", "dismissed", cluster="k2")):
                await es.index(index=index, id=doc["event"]["id"], document=doc, refresh=True)
            await asyncio.sleep(1.0)
            await es.index(index=index, id="a1", document=alert("a1", "acknowledged"), refresh=True)
            await asyncio.sleep(1.0)
            await feed.count_clusters()
            task.cancel()
            rows = []
            while not queue.empty():
                row = queue.get_nowait()
                rows.append((row["id"], row["status"]))
            return rows, registry.get_sample_value("trailhound_clusters_active")

    rows, clusters = asyncio.run(scenario())
    assert sorted(rows) == [("a1", "acknowledged"), ("a1", "new"), ("c1", "new"), ("c2", "dismissed")]
    if "trailhound.cluster_id" in mapped_fields(ALERT_MAPPING):  # mapped once entity linkage (issue 9) is in
        assert clusters == 1.0  # c2 is dismissed, a1 is no cluster
