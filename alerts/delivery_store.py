"""Delivery state in ``trailhound-escalations``: one document per delivery id, claimed under a lease.

The outbox topic says *what* to deliver; this index says how far each delivery got, so a restarted
escalator resumes exactly where the last one stopped. A delivery is claimed with Elasticsearch
optimistic concurrency (``if_seq_no``) and a lease: of two escalators only one sends, and a crashed
one's deliveries are taken over when its lease ends (at once by its own restart, which has the same
owner name; one process never runs one delivery twice at a time). ``state`` is one of :data:`alerts.deliveries.STATES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch, ConflictError, NotFoundError

from trailhound.alerts.shared_bulk import SharedBulk
from trailhound.config import Settings

__all__ = ["DeliveryStore", "Held"]

MAX_CONFLICTS = 10
SETTLE_BATCH_S = 0.02
# Times are epoch seconds; in range queries they go as strings, since Elasticsearch reads a bare number
# against an ``epoch_second`` date field as milliseconds.


@dataclass
class Held:
    """A delivery this escalator holds: its state document and the version it last wrote.

    Writing against the known version (``if_seq_no``) saves a read per step on the hot path; a realtime
    read of a just-written document would also force Elasticsearch to refresh the index.
    """

    source: dict[str, Any]
    seq_no: int
    primary_term: int

    @property
    def id(self) -> str:
        return str(self.source["delivery_id"])


class DeliveryStore:
    """Reads and writes delivery state documents."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch) -> None:
        self.index = settings.index("escalations")
        self.es = es
        self.bulk = SharedBulk(es)

    async def create_many(self, documents: list[dict[str, Any]],
                          companions: Sequence[tuple[str, str, dict[str, Any]]] = (),
                          wait_s: float = 0.0) -> list[Held]:
        """Create state documents for new deliveries, and ``companions`` (index, id, document) in the same
        request (audit entries: create-only, an existing one is kept); return the new deliveries, held.
        ``wait_s``: how long the documents may wait to share a request with other writes (:mod:`alerts.shared_bulk`)."""
        if not documents:
            return []
        pairs = [({"create": {"_index": self.index, "_id": document["delivery_id"]}}, document)
                 for document in documents]
        pairs.extend(({"create": {"_index": index, "_id": doc_id}}, document)
                     for index, doc_id, document in companions)
        outcomes = await self.bulk.write(pairs, wait_s)
        created, failed = [], []
        for outcome in outcomes[len(documents):]:
            if outcome.get("status") not in (201, 409):
                failed.append(f"{outcome['_id']}: {outcome.get('error', {}).get('reason', outcome.get('status'))}")
        for document, outcome in zip(documents, outcomes[:len(documents)], strict=True):
            if outcome.get("status") == 201:
                created.append(Held(document, outcome["_seq_no"], outcome["_primary_term"]))
            elif outcome.get("status") != 409:
                failed.append(f"{outcome['_id']}: {outcome.get('error', {}).get('reason', outcome.get('status'))}")
        if failed:
            raise RuntimeError(f"delivery state not recorded: {'; '.join(failed[:3])}")
        return created

    async def get(self, delivery_id: str) -> dict[str, Any] | None:
        try:
            return dict(await self.es.get(index=self.index, id=delivery_id))
        except NotFoundError:
            return None

    async def claim(self, delivery_id: str, owner: str, now: float, lease_s: float) -> Held | None:
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
            written = await self.es.index(index=self.index, id=delivery_id, document=source,
                                          if_seq_no=found["_seq_no"], if_primary_term=found["_primary_term"])
        except ConflictError:
            return None
        return Held(source, written["_seq_no"], written["_primary_term"])

    async def update(self, delivery_id: str, **fields: Any) -> None:
        await self.es.update(index=self.index, id=delivery_id, doc=fields)

    async def renew(self, held: Held, **fields: Any) -> None:
        """Change fields of a held delivery (attempts, lease)."""
        written = await self.es.update(index=self.index, id=held.id, doc=fields)
        held.source.update(fields)
        held.seq_no, held.primary_term = written["_seq_no"], written["_primary_term"]

    async def settle(self, held: Held, state: str, *, batch_s: float = SETTLE_BATCH_S, **fields: Any) -> None:
        """Record the outcome of sending; an acknowledgement that raced ahead of it is kept.

        Outcomes finishing within ``batch_s`` of each other share one bulk request with every other state
        write due meanwhile (:mod:`alerts.shared_bulk`), each written against its known version
        (``if_seq_no``) rather than by a script, since the minimal Elasticsearch distribution has no
        scripting; a document that changed meanwhile (an acknowledgement) is read again and merged.
        """
        action = {"index": {"_index": self.index, "_id": held.id, "if_seq_no": held.seq_no,
                            "if_primary_term": held.primary_term}}
        [outcome] = await self.bulk.write([(action, {**held.source, **fields, "state": state})],
                                          max(batch_s, SETTLE_BATCH_S))
        status = outcome.get("status")
        if status == 409:
            await self._merge(held.id, state, fields)
        elif status not in (200, 201):
            raise RuntimeError(f"delivery {held.id}: {outcome.get('error', status)}")

    async def _merge(self, delivery_id: str, state: str, fields: dict[str, Any]) -> None:
        for _ in range(MAX_CONFLICTS):
            found = await self.get(delivery_id)
            if found is None:
                return
            source = {**found["_source"], **fields}
            if source.get("state") != "acknowledged":
                source["state"] = state
            try:
                await self.es.index(index=self.index, id=delivery_id, document=source,
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

    async def search(self, query: dict[str, Any], size: int = 1000, sort: list[dict[str, Any]] | None = None,
                     fields: list[str] | None = None) -> list[dict[str, Any]]:
        """Matching state documents, oldest first; ``fields`` limits what comes back (``record`` is large)."""
        try:
            found = await self.es.search(index=self.index, query=query, size=size, sort=sort or [{"created": "asc"}],
                                         source_includes=fields)
        except NotFoundError:
            return []
        return [hit["_source"] for hit in found["hits"]["hits"]]

    async def claimable(self, owner: str, now: float, own: bool = True) -> list[tuple[str, str]]:
        """(delivery id, partner) of pending deliveries whose lease ended or that nobody holds, and
        (``own``) those this owner holds under a live lease."""
        should: list[dict[str, Any]] = [{"range": {"lease_until": {"lt": str(int(now))}}},
                                        {"bool": {"must_not": {"exists": {"field": "owner"}}}}]
        if own:
            should.append({"term": {"owner": owner}})
        return [(d["delivery_id"], d["partner"]) for d in await self.search(fields=["delivery_id", "partner"],
                                                                            query={"bool": {
            "filter": [{"term": {"state": "pending"}}], "should": should, "minimum_should_match": 1}})]

    async def overdue_tiers(self, now: float) -> list[dict[str, Any]]:
        """Alert deliveries with a next tier that were not acknowledged in time or could not be made."""
        return await self.search(fields=["alert_id", "rule", "tier"], query={"bool": {
            "filter": [{"term": {"kind": "alert"}}, {"term": {"has_next_tier": True}}],
            "must_not": [{"term": {"next_tier_sent": True}}],
            "should": [{"bool": {"filter": [{"term": {"state": "delivered"}},
                                            {"range": {"ack_deadline": {"lte": str(int(now))}}}]}},
                       {"term": {"state": "parked"}}],
            "minimum_should_match": 1}})

    async def parked_by_partner(self) -> dict[str, int]:
        try:
            found = await self.es.search(index=self.index, size=0, query={"term": {"state": "parked"}},
                                         aggs={"partners": {"terms": {"field": "partner", "size": 1000}}})
        except NotFoundError:
            return {}
        return {b["key"]: b["doc_count"] for b in found["aggregations"]["partners"]["buckets"]}

    async def tier(self, alert_id: str, rule: str, tier: int) -> list[dict[str, Any]]:
        return await self.search({"bool": {"filter": [
            {"term": {"alert_id": alert_id}}, {"term": {"rule": rule}}, {"term": {"tier": tier}},
            {"term": {"kind": "alert"}}]}})
