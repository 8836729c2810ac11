"""The worker's alert stage: records each batch from ``alerts`` through :class:`alerts.recorder.AlertRecorder`.

Reading the partners file here makes a worker refuse to start on a bad routing file, like the
escalator. The stage groups, silences, routes (automatic rules put deliveries on the ``escalations``
outbox) and records; records that are not alerts and alerts Elasticsearch refuses for good go to
``posts.dlq`` with the reason. :mod:`streams.app` reads ``alerts`` a batch at a time
(:mod:`~trailhound.streams.topic_batches`) and calls :meth:`AlertStage.handle`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch

from trailhound.alerts.partners import load_routing
from trailhound.alerts.recorder import AlertRecorder, SilenceCache
from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.streams.metrics import PipelineMetrics
from trailhound.timefmt import parse_rfc3339

__all__ = ["AlertStage"]

DeadLetter = Callable[[bytes, str, str, str], Awaitable[None]]
Send = Callable[[bytes, bytes], Awaitable[None]]
"""Produce (key, value) to the ``escalations`` outbox and wait until Kafka has it."""


class AlertStage:
    """Group → silence → route → outbox → record, for the worker."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, metrics: PipelineMetrics, send_outbox: Send,
                 dead_letter: DeadLetter, clock: Clock = system_clock) -> None:
        self.metrics = metrics
        self.send_outbox = send_outbox
        self.dead_letter = dead_letter
        self.clock = clock
        routing = load_routing(settings)  # RoutingError: the worker refuses to start
        self.recorder = AlertRecorder(settings, es, routing, self._outbox, SilenceCache(settings, es, clock), clock)

    async def _outbox(self, record: dict[str, Any]) -> None:
        await self.send_outbox(record["delivery_id"].encode("ascii"),
                               json.dumps(record, ensure_ascii=False).encode("utf-8"))

    async def handle(self, batch: list[bytes]) -> None:
        alerts: list[dict[str, Any]] = []
        for raw in batch:
            try:
                alert = orjson.loads(raw)
                alert["event"]["id"]  # noqa: B018 (an alert without an id is not an alert)
            except (ValueError, KeyError, TypeError) as exc:
                await self.dead_letter(raw, f"not an alert document: {exc!r}", "index-alerts", "alerts")
                continue
            alerts.append(alert)
        result = await self.recorder.record(alerts)
        now = self.clock()
        for alert in result.raised:
            self.metrics.alerts_raised.labels(severity=alert["trailhound"]["severity"]).inc()
            ingested = alert["event"].get("ingested")
            if ingested:
                self.metrics.latency.observe(max(0.0, now - parse_rfc3339(ingested)))
        self.metrics.alerts_duplicate.inc(result.duplicates)
        for source, reason in result.failed:
            await self.dead_letter(json.dumps(source).encode(), reason, "index-alerts",
                                   (source.get("event") or {}).get("id", "?"))
