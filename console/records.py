"""What the console reads and writes beside the alerts: audit entries, escalation history, posts, verdicts.

Revealing personal data is audited here (``trailhound-audit``, the same log the lifecycle writes its
transitions to), and each analyst's label goes to the ``feedback`` topic through the
:class:`~trailhound.console.actions.ConsoleSender`, signed with that analyst's own key, so the models
learn it and it carries who said it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer
from elasticsearch import AsyncElasticsearch, NotFoundError

from trailhound.alerts.post_documents import post_doc_id
from trailhound.clock import Clock
from trailhound.config import Settings
from trailhound.console.actions import ConsoleSender
from trailhound.schemas import parse_verdict
from trailhound.timefmt import iso

__all__ = ["LABELS", "Records"]

LABELS = {
    "trafficking": "Trafficking",
    "labour_trafficking": "Labour trafficking",
    "benign": "Benign",
    "adult_no_indicators": "Adult, no indicators",
}


class Records:
    """Reads and writes of the console other than alert transitions."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, clock: Clock) -> None:
        self.settings = settings
        self.es = es
        self.clock = clock
        self.producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                         enable_idempotence=True, client_id="trailhound-console")
        self.sender = ConsoleSender(settings, self.producer)

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def send_verdict(self, alert: dict[str, Any], label: str, analyst: str, note: str = "") -> dict[str, Any]:
        """The analyst's label for an alert, on ``feedback``, signed with that analyst's key."""
        post_ids = alert["trailhound"].get("post_ids") or []
        verdict: dict[str, Any] = {"label": label, "analyst": analyst, "at": iso(self.clock()), "note": note,
                                   "alert_id": alert["event"]["id"], "verdict_id": uuid.uuid4().hex}
        if len(post_ids) == 1:
            verdict["post_id"] = post_ids[0]
        value = json.dumps(verdict, ensure_ascii=False, sort_keys=True).encode("utf-8")
        parse_verdict(value)  # the schema the workers check
        await self.sender.send_and_wait(self.settings.topic("feedback"), key=verdict["alert_id"].encode("utf-8"),
                                        value=value)
        return verdict

    async def audit(self, alert_id: str, action: str, by: str, detail: str = "", **extra: Any) -> None:
        await self.es.index(index=self.settings.index("audit"), refresh="wait_for", document={
            "@timestamp": iso(self.clock()), "alert_id": alert_id, "action": action, "actor": by, "detail": detail,
            **extra})

    async def _by_alert(self, logical: str, alert_id: str, time_field: str) -> list[dict[str, Any]]:
        try:
            hits = (await self.es.search(index=self.settings.index(logical), size=200,
                                         query={"term": {"alert_id": alert_id}},
                                         sort=[{time_field: {"order": "asc", "unmapped_type": "date"}}],
                                         ignore_unavailable=True))["hits"]["hits"]
        except NotFoundError:
            return []
        return [hit["_source"] for hit in hits]

    async def audit_trail(self, alert_id: str) -> list[dict[str, Any]]:
        return await self._by_alert("audit", alert_id, "@timestamp")

    async def escalations(self, alert_id: str) -> list[dict[str, Any]]:
        """Deliveries to partners (times are epoch seconds in that index; shown as UTC)."""
        deliveries = await self._by_alert("escalations", alert_id, "created")
        for delivery in deliveries:
            for name in ("created", "delivered_at", "acknowledged_at"):
                if isinstance(delivery.get(name), int | float):
                    delivery[name] = iso(delivery[name])
        return deliveries

    async def alert(self, alert_id: str) -> dict[str, Any] | None:
        try:
            hits = (await self.es.search(index=self.settings.index("alerts"), size=1,
                                         query={"term": {"event.id": alert_id}}))["hits"]["hits"]
        except NotFoundError:
            return None
        return hits[0]["_source"] if hits else None

    async def posts(self, post_keys: list[str]) -> list[dict[str, Any]]:
        """The stored posts, in the order asked (missing ones left out)."""
        if not post_keys:
            return []
        try:
            hits = (await self.es.search(index=self.settings.index("posts"), size=len(post_keys),
                                         query={"ids": {"values": [post_doc_id(k) for k in post_keys]}},
                                         ignore_unavailable=True))["hits"]["hits"]
        except NotFoundError:
            return []
        by_key = {hit["_source"].get("post_key"): hit["_source"] for hit in hits}
        return [by_key[k] for k in post_keys if k in by_key]

    async def pattern_hits(self) -> dict[str, int]:
        """How many alerts each pattern contributed evidence to."""
        try:
            response = await self.es.search(index=self.settings.index("alerts"), size=0, aggs={
                "patterns": {"terms": {"field": "trailhound.indicators.pattern_id", "size": 2000}}})
        except NotFoundError:
            return {}
        return {b["key"]: b["doc_count"] for b in response["aggregations"]["patterns"]["buckets"]}
