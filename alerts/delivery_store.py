"""Delivery state in ``trailhound-escalations``: one document per delivery id, claimed under a lease.

The outbox topic says *what* to deliver; this index says how far each delivery got, so a restarted
escalator resumes exactly where the last one stopped. A delivery is claimed with Elasticsearch
optimistic concurrency (``if_seq_no``) and a lease: of two escalators only one sends, and a crashed
one's deliveries are taken over when its lease ends (at once by its own restart, which has the same
owner name; one process never runs one delivery twice at a time). ``state`` is one of :data:`alerts.deliveries.STATES`.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch, ConflictError, NotFoundError

from trailhound.config import Settings

__all__ = ["DeliveryStore"]

MAX_CONFLICTS = 10
# Times are epoch seconds; in range queries they go as strings, since Elasticsearch reads a bare number
# against an ``epoch_second`` date field as milliseconds.


class DeliveryStore:
    """Reads and writes delivery state documents."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch) -> None:
        self.index = settings.index("escalations")
        self.es = es

    async def create_many(self, documents: list[dict[str, Any]]) -> list[str]:
        """Create state documents for new deliveries; return the ids that did not exist yet."""
        if not documents:
            return []
        operations: list[dict[str, Any]] = []
        for document in documents:
            operations.extend(({"create": {"_index": self.index, "_id": document["delivery_id"]}}, document))
        response = await self.es.bulk(operations=operations, refresh="wait_for")
        created, failed = [], []
        for item in response["items"]:
            outcome = item["create"]
            if outcome.get("status") == 201:
                created.append(outcome["_id"])
            elif outcome.get("status") != 409:
                failed.append(f"{outcome['_id']}: {outcome.get('error', {}).get('reason', outcome.get('status'))}")
        if failed:
            raise RuntimeError(f"delivery state not recorded: {'; '.join(failed[:3])}")
        return created

    async def get(self, delivery_id: str) -> dict[str, Any] | None:
        try:
            return await self.es.get(index=self.index, id=delivery_id)
        except NotFoundError:
            return None

    async def claim(self, delivery_id: str, owner: str, now: float, lease_s: float) -> dict[str, Any] | None:
        """Take a pending delivery for ``lease_s`` seconds; None if it is not pending or someone else holds it."""
        found = await self.get(delivery_id)
        if found is None:
            return None
        source = found["_source"]
        if source.get("state") != "pending":
            return None
        if source.get("owner") not in (None, owner) and float(source.get("lease_until") or 0) > now:
            return None
        source.update(owner=owner, lease_until=int(now + lease_s))
        try:
            await self.es.index(index=self.index, id=delivery_id, document=source, if_seq_no=found["_seq_no"],
                                if_primary_term=found["_primary_term"])
        except ConflictError:
            return None
        return source

    async def update(self, delivery_id: str, **fields: Any) -> None:
        await self.es.update(index=self.index, id=delivery_id, doc=fields, refresh="wait_for")

    async def settle(self, delivery_id: str, state: str, **fields: Any) -> None:
        """Record the outcome of sending; an acknowledgement that raced ahead of it is kept.

        A read and a conditional write (``if_seq_no``) rather than a script: the minimal Elasticsearch
        distribution has no scripting.
        """
        for _ in range(MAX_CONFLICTS):
            found = await self.get(delivery_id)
            if found is None:
                return
            source = {**found["_source"], **fields}
            if source.get("state") != "acknowledged":
                source["state"] = state
            try:
                await self.es.index(index=self.index, id=delivery_id, document=source, refresh="wait_for",
                                    if_seq_no=found["_seq_no"], if_primary_term=found["_primary_term"])
                return
            except ConflictError:
                continue
        raise RuntimeError(f"delivery {delivery_id} keeps changing; outcome {state} not recorded")

    async def send_again(self, delivery_ids: list[str]) -> int:
        """Parked deliveries back to pending, unowned, so an escalator's sweeper sends them again."""
        count = 0
        for delivery_id in delivery_ids:
            await self.update(delivery_id, state="pending", attempts=0, lease_until=0, owner=None)
            count += 1
        return count

    async def search(self, query: dict[str, Any], size: int = 1000,
                     sort: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        try:
            found = await self.es.search(index=self.index, query=query, size=size, sort=sort or [{"created": "asc"}])
        except NotFoundError:
            return []
        return [hit["_source"] for hit in found["hits"]["hits"]]

    async def claimable(self, owner: str, now: float) -> list[str]:
        """Pending deliveries whose lease ended, or that this owner held before it restarted."""
        return [d["delivery_id"] for d in await self.search({"bool": {
            "filter": [{"term": {"state": "pending"}}],
            "should": [{"range": {"lease_until": {"lt": str(int(now))}}}, {"term": {"owner": owner}},
                       {"bool": {"must_not": {"exists": {"field": "owner"}}}}],
            "minimum_should_match": 1}})]

    async def overdue_tiers(self, now: float) -> list[dict[str, Any]]:
        """Alert deliveries with a next tier that were not acknowledged in time or could not be made."""
        return await self.search({"bool": {
            "filter": [{"term": {"kind": "alert"}}, {"term": {"has_next_tier": True}}],
            "must_not": [{"term": {"next_tier_sent": True}}],
            "should": [{"bool": {"filter": [{"term": {"state": "delivered"}},
                                            {"range": {"ack_deadline": {"lte": str(int(now))}}}]}},
                       {"term": {"state": "parked"}}],
            "minimum_should_match": 1}})

    async def tier(self, alert_id: str, rule: str, tier: int) -> list[dict[str, Any]]:
        return await self.search({"bool": {"filter": [
            {"term": {"alert_id": alert_id}}, {"term": {"rule": rule}}, {"term": {"tier": tier}},
            {"term": {"kind": "alert"}}]}})
