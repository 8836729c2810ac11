"""The alert-recording stage: group → silence → route → outbox → record, for one batch of alerts.

The worker hands every batch read from the ``alerts`` topic to :meth:`AlertRecorder.record`. Alerts of
one group (:mod:`alerts.grouping`) become one document, written with Elasticsearch optimistic
concurrency (``if_seq_no``), so two workers updating one group never lose a post; a replayed alert
finds its posts already recorded and writes nothing. A silenced group is recorded with status
``silenced`` and never routed. A new or stronger group is routed by the automatic rules, and the
deliveries are put on the outbox *before* the document is written: a crash in between replays the
batch, and the deliveries' deterministic ids make the second request harmless.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from trailhound.alerts.deliveries import outbox_record
from trailhound.alerts.grouping import GroupReason, group_doc_id, group_key, merge_into_group
from trailhound.alerts.linkage_alerts import is_merge_notice, is_upserted, upsert_parts
from trailhound.alerts.partners import Routing
from trailhound.alerts.recent import RecentAlerts
from trailhound.alerts.related import RelatedIndex, mentioned, partners_told, related_query, shares_any
from trailhound.alerts.routing import route
from trailhound.alerts.silences import Silence, matching_silence
from trailhound.alerts.sink import TRANSIENT_STATUSES, ElasticsearchSink, is_transient
from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.retrying import wait_out

__all__ = ["AlertRecorder", "Recorded", "SilenceCache"]

log = logging.getLogger(__name__)

OutboxSender = Callable[[dict[str, Any]], Awaitable[None]]
MAX_ROUNDS = 20  # conflict retries and generations walked per batch
SILENCE_REFRESH_S = 5.0
MAX_RELATED = 1000  # related alerts read per batch
RELATED_FIELDS = ["event.id", "rule", "trailhound.post_ids", "trailhound.entity.key", "trailhound.cluster.contacts",
                  "trailhound.status", "trailhound.escalated_to", "trailhound.related_alerts"]


@dataclass
class Recorded:
    """What a batch did: alerts raised (new documents), updated groups, duplicates, silenced, failures."""

    raised: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    silenced: int = 0
    failed: list[tuple[dict[str, Any], str]] = field(default_factory=list)


class SilenceCache:
    """The silences in force, re-read from Elasticsearch every few seconds beside the batches.

    A batch uses the list read last while the next read runs in the background, so the read (a search,
    slower while Elasticsearch is busy) is not in the way of one batch in every few seconds and of its
    alerts' escalation. Only a list older than twice the interval (at start, or while Elasticsearch is
    away) is waited for, and an outage is then waited out like every other read of the stage.
    """

    def __init__(self, settings: Settings, es: AsyncElasticsearch, clock: Clock = system_clock) -> None:
        self.index = settings.index("silences")
        self.es = es
        self.clock = clock
        self._silences: list[Silence] = []
        self._read_at = float("-inf")
        self._reading: asyncio.Future[None] | None = None

    async def active(self) -> list[Silence]:
        """The silences in force, read at most about :data:`SILENCE_REFRESH_S` ago."""
        age = time.monotonic() - self._read_at
        if age >= 2 * SILENCE_REFRESH_S:
            async for attempt in wait_out("reading silences", is_transient, 0.2):
                with attempt:
                    await self._refresh()
        elif age >= SILENCE_REFRESH_S and self._reading is None:
            self._reading = asyncio.ensure_future(self._refresh_beside())
        return self._silences

    async def _refresh(self) -> None:
        self._silences = await self._read()
        self._read_at = time.monotonic()

    async def _refresh_beside(self) -> None:
        try:
            await self._refresh()
        except Exception as exc:  # the next batch tries again, and waits once the list is too old
            log.warning("reading silences failed (%r); the list read before stays in use", exc)
        finally:
            self._reading = None

    async def _read(self) -> list[Silence]:
        try:
            found = await self.es.search(index=self.index, size=10000,
                                         query={"range": {"until": {"gt": str(int(self.clock()))}}})
        except NotFoundError:
            return []
        return [Silence.from_json(h["_source"]) for h in found["hits"]["hits"]]


@dataclass
class _Group:
    key: str
    alerts: list[dict[str, Any]]
    generation: int = 0


class AlertRecorder:
    """Records batches of alerts; see the module docstring for the stages."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, routing: Routing, send_outbox: OutboxSender,
                 silences: SilenceCache, clock: Clock = system_clock) -> None:
        self.settings = settings
        self.es = es
        self.index = settings.index("alerts")
        self.routing = routing
        self.send_outbox = send_outbox
        self.silences = silences
        self.clock = clock
        self.single = ElasticsearchSink(es)
        self.recent = RecentAlerts()  # what this recorder wrote lately, before a search can see it
        self._links: list[tuple[dict[str, Any], str]] = []  # the batch's partial updates naming related alerts

    async def record(self, alerts: list[dict[str, Any]]) -> Recorded:
        result = Recorded()
        groups: dict[str, _Group] = {}
        singles: list[dict[str, Any]] = []
        notices = [alert for alert in alerts if is_merge_notice(alert)]
        networks = [alert for alert in alerts if is_upserted(alert) and not is_merge_notice(alert)]
        for alert in alerts:
            if is_upserted(alert):
                continue
            key = group_key(alert, self.settings.group_window_s)
            if key is None:
                singles.append(alert)
            else:
                groups.setdefault(key, _Group(key, [])).alerts.append(alert)
        self._links = []
        pending = list(groups.values())
        # The groups' documents are read while the other alerts are recorded: nothing before the rounds
        # writes a group document (related-alert names are written last), so content alerts, most of a
        # feed's, do not wait for that read behind the network alerts' search and write.
        prefetch = asyncio.ensure_future(self._fetch([group_doc_id(g.key, g.generation) for g in pending])
                                         if pending else _nothing())
        try:
            silences = await self.silences.active()
            await self._record_singles(singles, silences, result)
            await self._record_networks(networks, silences, result)
            stored: dict[str, dict[str, Any]] | None = await prefetch
        finally:
            prefetch.cancel()  # only if something above failed; a finished read is left as it is
        self._link([({"trailhound": {"cluster": notice["trailhound"]["cluster"]}}, notice["event"]["id"])
                    for notice in notices])  # after the alerts they retire, of this batch or before
        for _ in range(MAX_ROUNDS):
            if not pending:
                break
            pending = await self._round(pending, silences, result, stored)
            stored = None
        await self._write_links()
        for group in pending:
            for alert in group.alerts:
                result.failed.append((alert, f"group {group.key} kept changing; not recorded"))
        return result

    async def _record_singles(self, alerts: list[dict[str, Any]], silences: list[Silence], result: Recorded) -> None:
        by_id = {a["event"]["id"]: a for a in (self._silence(alert, silences) for alert in alerts)}
        result.duplicates += len(alerts) - len(by_id)  # the same alert twice in one batch (a replay)
        await asyncio.gather(*(self._route(a, GroupReason.NEW) for a in by_id.values()
                               if a["trailhound"].get("status") != "silenced"))
        for alert_id, alert in by_id.items():
            self.single.add(self.index, alert_id, alert, create_only=True)
        written = await self.single.flush()
        for alert_id in written.written:
            self._count(by_id[alert_id], GroupReason.NEW, result)
            self.recent.remember(by_id[alert_id])
        result.duplicates += len(written.already_present)
        result.failed.extend(written.failed)

    async def _record_networks(self, alerts: list[dict[str, Any]], silences: list[Silence], result: Recorded) -> None:
        """Network alerts (one per cluster, with a stable id) are updated in place as the cluster grows;
        the lifecycle fields an analyst set stay. Routing again is harmless: delivery ids are deterministic.
        Each names the grouped alerts about its posts (:mod:`alerts.related`), and is not sent to a partner
        one of those already went to; each of those names it back."""
        by_id = {}
        silenced = [self._silence(alert, silences) for alert in alerts]
        candidates = RelatedIndex(await self._related_candidates(silenced))
        backlinks: dict[str, str] = {}
        for alert in silenced:
            by_id[alert["event"]["id"]] = alert
            related = candidates.related_to(alert)
            if related:
                alert["trailhound"]["related_alerts"] = [r["event"]["id"] for r in related]
                backlinks.update((r["event"]["id"], alert["event"]["id"]) for r in related)
            if alert["trailhound"].get("status") != "silenced":
                await self._route(alert, GroupReason.NEW, skip=partners_told(related))
            doc, on_create = upsert_parts(alert)
            self.single.upsert(self.index, alert["event"]["id"], doc, on_create)
        written = await self.single.flush()
        for alert_id in written.written:
            self._count(by_id[alert_id], GroupReason.NEW, result)
        for alert_id in [*written.written, *written.updated]:
            self.recent.remember(by_id[alert_id])
        result.failed.extend(written.failed)
        self._link([({"trailhound": {"network_alert_id": network}}, group) for group, network in backlinks.items()])

    async def _related_candidates(self, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Open alerts of the other kind that may be related to ``alerts`` (one query for the batch).

        The search sees what the index's last refresh made searchable; what this recorder wrote since
        comes from its memory (:mod:`alerts.recent`). A related alert another worker wrote in the last
        second is the one thing neither shows; the index is refreshed first only when that matters for a
        partner, i.e. when one of ``alerts`` is about to be routed to one (it must not be told twice).
        Otherwise a relation missed that way is found when either alert is next updated.
        """
        asking = [a for a in alerts if a["trailhound"].get("status") != "silenced"]
        query = related_query(asking)
        if query is None:
            return []
        refresh = bool(self.routing.rules) and any(route(a, self.routing, automatic_only=True) for a in asking)
        async for attempt in wait_out("reading related alerts", is_transient, 0.2):
            with attempt:
                try:
                    if refresh:
                        await self.es.indices.refresh(index=self.index)
                    found = await self.es.search(index=self.index, query=query, size=MAX_RELATED,
                                                 source_includes=RELATED_FIELDS)
                    hits = [hit["_source"] for hit in found["hits"]["hits"]]
                except NotFoundError:
                    hits = []
        posts, contacts = mentioned(asking)
        return self.recent.with_index(hits, lambda doc: shares_any(doc, posts, contacts))

    def _link(self, updates: list[tuple[dict[str, Any], str]]) -> None:
        """Queue partial updates naming a related alert; they are written together at the end of the batch."""
        self._links.extend(updates)

    async def _write_links(self) -> None:
        """Write the batch's queued partial updates in one request (after every alert of the batch was written,
        so they land after the documents they change); one that is gone meanwhile is skipped."""
        updates, self._links = self._links, []
        if not updates:
            return
        operations: list[dict[str, Any]] = []
        for doc, alert_id in updates:
            operations.extend(({"update": {"_index": self.index, "_id": alert_id, "retry_on_conflict": 3}},
                               {"doc": doc}))
        async for attempt in wait_out("linking related alerts", is_transient, 0.2):
            with attempt:
                await self.es.bulk(operations=operations)
        for doc, alert_id in updates:
            self.recent.update(alert_id, doc["trailhound"])

    def _silence(self, alert: dict[str, Any], silences: list[Silence]) -> dict[str, Any]:
        silence = matching_silence(alert, silences, self.clock())
        if silence is None or alert["trailhound"].get("status") not in (None, "new"):
            return alert
        details = {**alert["trailhound"], "status": "silenced",
                   "silenced_by": {"id": silence.id, "kind": silence.kind, "value": silence.value, "by": silence.by}}
        return {**alert, "trailhound": details}

    def _count(self, document: dict[str, Any], reason: GroupReason, result: Recorded) -> None:
        if document["trailhound"].get("status") == "silenced":
            result.silenced += 1
        elif reason is GroupReason.NEW:
            result.raised.append(document)
        else:
            result.updated.append(document)

    async def _route(self, document: dict[str, Any], reason: GroupReason, skip: set[str] | None = None) -> None:
        """Ask for deliveries to the partners automatic rules name (before the document is written), except
        the partners in ``skip``: told of the same case by a related alert. Both kinds are listed in
        ``escalated_to``, so an alert related to this one later skips them too."""
        if reason not in (GroupReason.NEW, GroupReason.HIGHER_SCORE) or not self.routing.rules:
            return
        routes = route(document, self.routing, automatic_only=True)
        sent = [r for r in routes if r.partner not in (skip or set())]
        now = self.clock()
        await asyncio.gather(*(self.send_outbox(outbox_record(document, r.partner, "alert", rule=r.rule, tier=r.tier,
                                                              by="trailhound", reason=r.reason, now=now))
                               for r in sent))  # sent together: one wait for Kafka, not one per partner
        if routes:
            held = document["trailhound"].get("escalated_to") or []
            document["trailhound"]["escalated_to"] = list(dict.fromkeys([*held, *(r.partner for r in routes)]))

    async def _fetch(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        async for attempt in wait_out("reading alert groups", is_transient, 0.2):
            with attempt:
                response = await self.es.mget(index=self.index, ids=ids)
        return {d["_id"]: d for d in response["docs"] if d.get("found")}

    async def _round(self, groups: list[_Group], silences: list[Silence], result: Recorded,
                     stored: dict[str, dict[str, Any]] | None = None) -> list[_Group]:
        """Merge each group's alerts into its stored document (``stored``: read already) and write; return
        the groups to go again."""
        if stored is None:
            stored = await self._fetch([group_doc_id(g.key, g.generation) for g in groups])
        again: list[_Group] = []
        writes: list[tuple[_Group, dict[str, Any], dict[str, Any] | None, GroupReason]] = []
        for group in groups:
            doc_id = group_doc_id(group.key, group.generation)
            found = stored.get(doc_id)
            document = found["_source"] if found else None
            reasons: set[GroupReason] = set()
            leftover: list[dict[str, Any]] = []
            for alert in group.alerts:
                merged = merge_into_group(document, alert, group.key, group.generation)
                if merged.reason is GroupReason.CLOSED:
                    leftover.append(alert)
                elif merged.document is None:
                    result.duplicates += 1
                else:
                    document = merged.document
                    reasons.add(merged.reason)
            if leftover:
                again.append(_Group(group.key, leftover, group.generation + 1))
            if reasons and document is not None:
                if found is None:
                    writes.append((group, self._silence(document, silences), None, GroupReason.NEW))
                else:
                    best = GroupReason.HIGHER_SCORE if GroupReason.HIGHER_SCORE in reasons else GroupReason.MORE_POSTS
                    writes.append((group, document, found, best))
        routed = [(document, reason) for _, document, _, reason in writes
                  if document["trailhound"].get("status") in ("new", "acknowledged", "escalated")]
        candidates = RelatedIndex(await self._related_candidates([document for document, _ in routed]))
        backlinks: dict[str, list[str]] = {}  # network alert id → every alert it names, this round's too
        skips: list[set[str]] = []
        for document, _ in routed:
            related = candidates.related_to(document)
            skips.append(partners_told(related))
            if related:
                network = related[0]
                document["trailhound"]["network_alert_id"] = network["event"]["id"]
                named = network["trailhound"].get("related_alerts") or []
                if document["event"]["id"] not in named:
                    network["trailhound"]["related_alerts"] = backlinks[network["event"]["id"]] = \
                        [*named, document["event"]["id"]]
        await asyncio.gather(*(self._route(document, reason, skip)
                               for (document, reason), skip in zip(routed, skips, strict=True)))
        conflicts = await self._write(writes, result)
        self._link([({"trailhound": {"related_alerts": named}}, network_id) for network_id, named in backlinks.items()])
        again.extend(conflicts)
        return again

    async def _write(self, writes: list[tuple[_Group, dict[str, Any], dict[str, Any] | None, GroupReason]],
                     result: Recorded) -> list[_Group]:
        """Bulk-write the group documents; groups that lost a concurrency race come back to go again."""
        remaining = list(writes)
        conflicts: list[_Group] = []
        while remaining:
            operations: list[dict[str, Any]] = []
            for _, document, found, _ in remaining:
                doc_id = document["event"]["id"]
                if found is None:
                    operations.append({"create": {"_index": self.index, "_id": doc_id}})
                else:
                    operations.append({"index": {"_index": found["_index"], "_id": doc_id,
                                                 "if_seq_no": found["_seq_no"],
                                                 "if_primary_term": found["_primary_term"]}})
                operations.append(document)
            try:
                response = await self.es.bulk(operations=operations)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await asyncio.sleep(0.5)
                continue
            retry = []
            for write, item in zip(remaining, response["items"], strict=True):
                outcome = next(iter(item.values()))
                status = outcome.get("status", 0)
                if status in (200, 201):
                    self._count(write[1], write[3], result)
                    self.recent.remember(write[1])
                elif status == 409:
                    conflicts.append(_Group(write[0].key, write[0].alerts, write[0].generation))
                elif status in TRANSIENT_STATUSES:
                    retry.append(write)
                else:
                    reason = outcome.get("error", {}).get("reason", f"HTTP {status}")
                    result.failed.extend((a, f"elasticsearch rejected group {write[0].key}: {reason}")
                                         for a in write[0].alerts)
            remaining = retry
            if retry:
                await asyncio.sleep(0.5)
        return conflicts


async def _nothing() -> dict[str, dict[str, Any]]:
    return {}
