"""Linkage on the stream: posts re-keyed by what they share, clusters kept in Elasticsearch, one alert each.

Posts travel on ``posts.enriched`` keyed by contact, so two posts sharing a template or a photo may be
on different partitions and workers. Linkage therefore re-keys them, one stage per topic:

1. **detect** (per post, :meth:`Linkage.after_post`): the post's linkage keys and a compact summary go to
   ``linkage.keys``, to each partition the keys that hash there, so the owner of a key sees every post
   with it. A batch's posts travel in one record per partition (:func:`~streams.batching.joined_records`), in the
   batch's order: with about 11 keys a post, a record per post and partition made four Faust events a
   post on this topic alone, each paying Faust's per-event cost (issue 13). Watchlist matches raise an
   alert at once; every alerted post gets its evidence record.
2. **link_keys** (partitioned by key): a :class:`~trailhound.detectors.linkage.key_index.KeyIndex` per
   partition finds the links and hub keys and writes them to ``linkage.links``, a batch's links in a
   record or a few, each naming its posts once (:meth:`Linkage.links_records`). Its state is the
   partition's own history: when a worker takes a partition over (start, restart, rebalance) it first
   replays the partition up to where processing resumes, so no link to an older post is missed.
3. **build_clusters** (``linkage.links``, one partition, so one writer): loads the clusters the links
   touch (from memory while its batches follow one another, :mod:`~trailhound.streams.cluster_cache`;
   else from Elasticsearch, realtime gets), merges or splits them, writes them back, and sends one
   cluster alert per cluster that calls for one to ``alerts`` — the same ``event.id`` every time, so
   the alert stage updates it in place. Cluster ids depend only on members
   (:mod:`trailhound.detectors.linkage.clusters`), so they are the same whichever worker saw the posts
   and survive restarts.

Stages 2 and 3 read their topics with bare aiokafka consumers, each in a group of its own
(:mod:`~trailhound.streams.topic_batches`): a stage behind leaves its backlog in Kafka, not in memory. They
share nothing in memory with detection, so they run in a process of their own beside the worker's
(:mod:`~trailhound.streams.linkage_process`), or in the worker's own when that is switched off.

State is bounded by the retention window: key indices forget older posts, clusters drop older members,
and a timer deletes clusters and memberships that saw nothing within the window.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import faust
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from elasticsearch import AsyncElasticsearch

from trailhound.alerts.es_errors import TRANSIENT_STATUSES
from trailhound.alerts.indices import posts_index_for
from trailhound.alerts.linkage_alerts import (
    build_cluster_alert,
    build_merge_notice,
    build_watchlist_alert,
    cluster_alert_id,
    evidence_document,
    evidence_id,
    is_upserted,
    upsert_parts,
)
from trailhound.alerts.post_documents import POST_SOURCE_FIELDS, original_post, post_doc_id
from trailhound.alerts.sink import BULK_RESPONSE_FIELDS, ElasticsearchSink, TransientBulkError
from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.connections import kafka_options
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.linkage.clusters import Cluster, ClusterBook
from trailhound.detectors.linkage.key_index import HubKey, KeyIndex, KeyIndexParams, Link
from trailhound.detectors.linkage.keys import PostSummary, summarise
from trailhound.detectors.linkage.networks import NetworkParams, assess_cluster
from trailhound.detectors.linkage.shared_summaries import SharedSummaries
from trailhound.detectors.linkage.stored_key_index import StoredKeyIndex
from trailhound.detectors.linkage.watchlist import WatchEntry, Watchlist
from trailhound.ids import stable_id
from trailhound.retrying import wait_out
from trailhound.streams.batching import (
    JOINED_BATCH_BYTES,
    JOINED_FETCH_BYTES,
    Deliveries,
    Destination,
    Outgoing,
    joined_items,
)
from trailhound.streams.broadcast import BroadcastReader
from trailhound.streams.city_baselines import StoredCityRates
from trailhound.streams.cluster_cache import ClusterCache, Stored
from trailhound.streams.stage_timing import BatchTimer
from trailhound.streams.topic_batches import BatchHandler, TopicBatches, topic_reader

__all__ = ["Linkage", "add_alert", "key_partition", "link_events", "linkage_stages", "linkage_upkeep",
           "register_linkage"]

log = logging.getLogger(__name__)

JOINED_READER_RECORDS = 1000  # a linkage stage's batch is bounded by its bytes (JOINED_BATCH_BYTES)
# A linkage stage's batch is what arrived within a second, not the 30 ms of the other stages: a cluster batch
# rewrites each cluster it touches, and the stages on a core of their own (:mod:`~trailhound.streams.linkage_process`)
# kept up in batches of 100 ms that cost 1.6 times the CPU a post (Elasticsearch's too) of what they cost when
# running behind. A network alert waits up to a second longer; the worker does about a fifth more posts a second.
LINKAGE_WITHIN_S = 1.0
LINKS_PER_RECORD = 1000  # a record of 1,000 links with their posts is well under 1 MB
CLEANUP_EVERY_S = 600.0
EVIDENCE_RETRY_S = 3.0
EVIDENCE_PER_REQUEST = 500
EVIDENCE_GIVE_UP_S = 600.0  # a post is indexed before its keys are linked: one missing this long never will be

SendAlert = Callable[[dict[str, Any]], Awaitable[None]]
PublishAlerts = Callable[[list[dict[str, Any]]], Awaitable[None]]
"""Put alerts on ``alerts`` and wait until Kafka has every one of them (one wave of sends)."""


def key_partition(key: str, partitions: int) -> int:
    """The ``linkage.keys`` partition that owns ``key`` (CRC-32: the same in every process)."""
    return zlib.crc32(key.encode("utf-8")) % partitions


def index_params(settings: Settings) -> KeyIndexParams:
    return KeyIndexParams(retention_s=settings.linkage_retention_days * 86_400,
                          text_threshold=settings.link_text_similarity, image_radius=settings.link_image_radius,
                          hub_min_texts=settings.hub_min_texts)


def network_params(settings: Settings) -> NetworkParams:
    return NetworkParams(circuit_min_cities=settings.circuit_min_cities,
                         template_min_contacts=settings.template_min_contacts)


class Linkage:
    """The linkage stages of one worker (see the module docstring); ``register_linkage`` wires them."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, detectors: DetectorSet | None,
                 clock: Clock = system_clock) -> None:
        self.settings = settings
        self.clock = clock
        self.es = es
        self.detectors = detectors
        self._category_of: tuple[str, dict[str, str]] = ("", {})
        self.watch_ready = asyncio.Event()
        self.keys_topic: faust.TopicT | None = None  # set by register_linkage
        self.params = index_params(settings)
        self.networks = network_params(settings)
        self.cities = StoredCityRates(es, settings)
        self.watchlist = Watchlist(image_radius=settings.link_image_radius)
        self.indexes: dict[int, KeyIndex] = {}  # on disk unless TRAILHOUND_KEY_INDEX_STORE=memory
        self.summaries = SharedSummaries()  # a post's records on several partitions share one summary
        self.next_offset: dict[int, int] = {}
        self.newest_ts = 0.0
        self.pending_evidence: dict[str, tuple[str, str, float]] = {}  # post key → (cluster id, posted_at, since)
        self.cache = ClusterCache()  # the cluster stage's clusters between its batches
        # the categories' readable names, sent by the worker to a linkage process of its own (which has no
        # detectors); None: the detectors' own
        self.labels: dict[str, str] | None = None

    def category_labels(self) -> dict[str, str]:
        if self.labels is not None or self.detectors is None:
            return self.labels or {}
        return self.detectors.category_labels

    def _stage_one_detectors(self) -> DetectorSet:
        if self.detectors is None:
            raise RuntimeError("stage 1 runs in the worker, with its detectors")
        return self.detectors

    # -- stage 1: in the detect agent ------------------------------------------------------------------

    def categories_of(self, pattern_ids: Collection[str]) -> list[str]:
        """The categories of the patterns that spoke against a post (as its post document lists them)."""
        library = self._stage_one_detectors().library
        if self._category_of[0] != library.version:
            self._category_of = (library.version, {p.id: p.category for p in library.patterns})
        known = self._category_of[1]
        return sorted({known[p] for p in pattern_ids if p in known})

    async def after_post(self, enriched: dict[str, Any], document: dict[str, Any], alerts: list[dict[str, Any]],
                         sink: ElasticsearchSink, send_alert: SendAlert) -> list[Outgoing]:
        """After the detect stage judged a post: watchlist, evidence of alerted posts, and the records of the
        keys to link on, which the detect stage delivers with the rest of its batch (one wave of sends)."""
        now = self.clock()
        await self.watch_ready.wait()
        watched = self.watch_alert(enriched, now)
        if watched is not None:
            await send_alert(watched)
        raised = [a for a in (*alerts, watched) if a is not None and a["trailhound"].get("post_ids")]
        if raised:
            sink.add(*self.evidence_action(enriched, raised[0], now), create_only=True)
        source = document["_source"]
        records = self.key_records(enriched, self.categories_of(source.get("pattern_ids") or ()),
                                   float(source.get("score") or 0.0))
        if self.keys_topic is None:
            return []
        return [Outgoing(self.keys_topic, key, value, partition=partition) for partition, key, value in records]

    def key_records(self, enriched: dict[str, Any], categories: Collection[str], score: float
                    ) -> list[tuple[int, bytes, bytes]]:
        """``(partition, key, value)`` records for ``linkage.keys``: one per partition owning some key."""
        summary = summarise(enriched, categories, self._stage_one_detectors().supporting_categories, score)
        groups: dict[int, list[str]] = defaultdict(list)
        for key in summary.link_keys():
            groups[key_partition(key, self.settings.partitions)].append(key)
        if not groups:
            return []
        post = summary.to_json()
        return [(partition, keys[0].encode("utf-8"),
                 orjson.dumps({"keys": keys, "post": post}))
                for partition, keys in sorted(groups.items())]

    def watch_alert(self, enriched: dict[str, Any], now: float) -> dict[str, Any] | None:
        """An alert if the post carries a watched contact or image (decoded evasions included)."""
        if not len(self.watchlist):
            return None
        matches = self.watchlist.match(enriched.get("entities") or {}, enriched["post"].get("images") or ())
        return build_watchlist_alert(enriched, matches, now) if matches else None

    def add_watch_entry(self, record: ConsumerRecord) -> None:
        if record.value:
            self.watchlist.add(WatchEntry.from_json(json.loads(record.value)))

    # -- stage 2: link_keys ----------------------------------------------------------------------------

    async def index_for(self, partition: int, offset: int) -> KeyIndex:
        """The key index of ``partition``, rebuilt from the partition's history if this worker lacks it."""
        if self.next_offset.get(partition) != offset or partition not in self.indexes:
            index = StoredKeyIndex(self.params) if self.settings.key_index_store == "disk" else KeyIndex(self.params)
            replayed = await self._replay(partition, offset, index)
            if partition in self.indexes:
                self.indexes[partition].close()  # its database goes with it
            self.indexes[partition] = index
            log.info("linkage.keys[%d]: key index rebuilt from %d records before offset %d", partition, replayed,
                     offset)
        self.next_offset[partition] = offset + 1
        return self.indexes[partition]

    def keep_indexes(self, partitions: set[int]) -> None:
        """After a rebalance: close the key indices of the partitions this worker no longer reads (their
        databases go with them); a partition that comes back is replayed, as at a takeover."""
        for partition in [p for p in self.indexes if p not in partitions]:
            self.indexes.pop(partition).close()
            self.next_offset.pop(partition, None)

    async def _replay(self, partition: int, until: int, index: KeyIndex) -> int:
        if until <= 0:
            return 0
        tp = TopicPartition(self.settings.topic("linkage.keys"), partition)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    client_id="trailhound-linkage-replay", max_partition_fetch_bytes=8 * 1024 * 1024,
                                    **kafka_options(self.settings))
        await consumer.start()
        count = 0
        try:
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            while await consumer.position(tp) < until:
                batches = await consumer.getmany(tp, timeout_ms=1000, max_records=2000)
                for record in batches.get(tp, ()):
                    if record.offset >= until:
                        break
                    self.observe(index, record.value)
                    count += 1
        finally:
            await consumer.stop()
        return count

    def observe(self, index: KeyIndex, raw: bytes) -> list[Link | HubKey]:
        """The links and hub notices a ``linkage.keys`` record makes: one post's, or a batch's in order."""
        return index.observe_batch([(self.summaries.summary(item["post"]), item["keys"]) for item in joined_items(raw)])

    @staticmethod
    def event_record(event: Link | HubKey) -> bytes:
        """One link or hub notice as a ``linkage.links`` record of its own (the stage sends
        :meth:`links_records`; the cluster stage reads both)."""
        if isinstance(event, HubKey):
            return orjson.dumps(_hub_item(event))
        return orjson.dumps({"type": "link", "a": _member_fields(event.a), "b": _member_fields(event.b),
                             "key": event.key, "reason": event.reason, "similarity": event.similarity})

    @staticmethod
    def links_records(events: list[Link | HubKey], per_record: int = LINKS_PER_RECORD) -> list[bytes]:
        """A batch's links and hub notices as ``linkage.links`` records, in order, up to ``per_record`` each.

        Consecutive links travel as one item naming their posts by key, with each post's fields once: a new
        post is in every link it makes (about nine once a feed has a history), and a link carrying both of
        its posts in full was about 550 bytes to write and to read back, most of the cluster stage's decoding.
        """
        records = []
        for start in range(0, len(events), per_record):
            items: list[dict[str, Any]] = []
            posts: dict[str, dict[str, Any]] = {}
            links: list[list[Any]] = []
            for event in events[start:start + per_record]:
                if isinstance(event, HubKey):
                    if links:
                        items.append({"type": "links", "posts": posts, "links": links})
                        posts, links = {}, []
                    items.append(_hub_item(event))
                    continue
                for post in (event.a, event.b):
                    if post.post_key not in posts:
                        posts[post.post_key] = _member_fields(post)
                links.append([event.a.post_key, event.b.post_key, event.key, event.reason, event.similarity])
            if links:
                items.append({"type": "links", "posts": posts, "links": links})
            records.append(orjson.dumps({"batch": items}))
        return records

    # -- stage 3: build_clusters -----------------------------------------------------------------------

    async def build_clusters(self, raws: list[bytes], publish: PublishAlerts,
                             offsets: tuple[int, int] | None = None) -> int:
        """Apply a batch of links and hub notices; return how many cluster alerts were sent.

        ``offsets`` are the batch's first and last offsets on ``linkage.links``: while batches follow one
        another, the clusters of the last ones come from memory (:mod:`~trailhound.streams.cluster_cache`).
        """
        self.cache.begin(offsets[0] if offsets else None)
        try:
            sent = await self._build_clusters(raws, publish)
        except BaseException:  # the clusters in memory may be ahead of what was written
            self.cache.clear()
            raise
        self.cache.finish(offsets[1] if offsets else None)
        return sent

    async def _build_clusters(self, raws: list[bytes], publish: PublishAlerts) -> int:
        events = link_events(raws)
        for event in events:
            if isinstance(event, Link):
                self.newest_ts = max(self.newest_ts, event.a.ts, event.b.ts)
        # A post past the window has left its clusters (expire below) and is not linked again: alone, it would
        # found a cluster under the id of the one it founded before, which may live on without it and would be
        # overwritten, its members' memberships left naming a cluster that no longer holds them.
        horizon = self.newest_ts - self.params.retention_s
        events = [e for e in events if isinstance(e, HubKey) or min(e.a.ts, e.b.ts) >= horizon]
        if not events:
            return 0
        stored = await self._load(events)
        book = ClusterBook((s.cluster for s in stored.values()), max_posts=self.settings.linkage_max_cluster_posts)
        if book.repaired:
            log.warning("linkage: %d posts were stored in two clusters; each kept in one", len(book.repaired))
        # what is stored of each post's membership (a repaired post's is written again)
        before = {k: v for k, v in book.cluster_of.items() if k not in book.repaired}
        for event in events:
            if isinstance(event, HubKey):
                book.hub(event)
            else:
                book.link(event)
        book.expire(horizon)
        changed, retired = book.take_changes()
        now = self.clock()
        assessments = [assess_cluster(cluster, self.networks, self.cities) for cluster in changed]
        if self.cities.missing:  # a city's usual day not counted yet: count it, then judge again
            await self.cities.fetch_missing()
            assessments = [assess_cluster(cluster, self.networks, self.cities) for cluster in changed]
        alerts = []
        for cluster, assessment in zip(changed, assessments, strict=True):
            entry = stored.setdefault(cluster.cluster_id, Stored(cluster))
            entry.cluster = cluster
            if assessment.should_alert or entry.alerted:
                entry.alerted = True
                alerts.append(build_cluster_alert(cluster, assessment, now, self.category_labels()))
        alerts += [build_merge_notice(cluster_id, into, now) for cluster_id, into in sorted(retired.items())
                   if into and cluster_id in stored and stored[cluster_id].alerted]
        await self._save(book, changed, retired, stored, before)
        self.cache.keep(stored, book.clusters, book.cluster_of, (k for k in before if k not in book.cluster_of))
        await publish(alerts)  # one wait for Kafka for the batch's alerts, in order, not one per alert
        await self._capture_new_evidence(changed, stored, now)
        return len(alerts)

    async def _load(self, events: list[Link | HubKey]) -> dict[str, Stored]:
        """The clusters the batch touches: from the cache, else from Elasticsearch (realtime gets)."""
        post_keys = sorted({p.post_key for e in events if isinstance(e, Link) for p in (e.a, e.b)})
        cluster_ids: set[str] = set()
        unknown = []
        for post_key in post_keys:
            cluster_id = self.cache.cluster_of(post_key)
            if cluster_id is None:
                unknown.append(post_key)
            else:
                cluster_ids.add(cluster_id)
        if unknown:
            found = await self._mget(self.settings.index("cluster-members"), [stable_id(k) for k in unknown])
            cluster_ids.update(doc["cluster_id"] for doc in found.values())
        hubs = [e.key for e in events if isinstance(e, HubKey)]
        if hubs:  # clusters the hub glued: those in memory, and those only Elasticsearch has
            cluster_ids.update(self.cache.holding_edge_keys(hubs))
            index = self.settings.index("clusters")
            if not self.cache.searchable:  # written before the cache started (or left it): make them searchable
                await self.es.options(ignore_status=404).indices.refresh(index=index)
                self.cache.searchable = True
            result = await self.es.options(ignore_status=404).search(
                index=index, query={"terms": {"edge_keys": hubs}}, size=1000, source=["cluster_id"])
            cluster_ids.update(h["_source"]["cluster_id"] for h in result.get("hits", {}).get("hits", []))
        stored = {cid: entry for cid in cluster_ids if (entry := self.cache.get(cid)) is not None}
        docs = await self._mget(self.settings.index("clusters"), sorted(cluster_ids - stored.keys()))
        stored.update((cid, Stored(Cluster.from_json(doc["state"]), bool(doc.get("alerted")),
                                   set(doc.get("evidence", ())))) for cid, doc in docs.items())
        return stored

    async def _mget(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        async for attempt in wait_out(f"reading {index}"):
            with attempt:
                response = await self.es.options(ignore_status=404).mget(index=index, ids=ids)
        return {d["_id"]: d["_source"] for d in response.get("docs", []) if d.get("found")}

    async def _save(self, book: ClusterBook, changed: list[Cluster], retired: dict[str, str],
                    stored: dict[str, Stored], before: dict[str, str]) -> None:
        clusters, members = self.settings.index("clusters"), self.settings.index("cluster-members")
        operations: list[dict[str, Any] | bytes] = []
        for cluster in changed:
            entry = stored[cluster.cluster_id]
            last_seen = max(m.ts for m in cluster.members.values())
            operations += [{"index": {"_index": clusters, "_id": cluster.cluster_id}},
                           orjson.dumps({"cluster_id": cluster.cluster_id,  # a bytes line goes as it is
                                         "edge_keys": sorted({e.key for e in cluster.edges}), "alerted": entry.alerted,
                                         "evidence": sorted(entry.evidence), "updated": int(self.clock()),
                                         "last_seen": int(last_seen), "state": orjson.Fragment(cluster.encoded())})]
            for post_key, member in cluster.members.items():
                if before.get(post_key) != cluster.cluster_id:
                    operations += [{"index": {"_index": members, "_id": stable_id(post_key)}},
                                   {"post_key": post_key, "cluster_id": cluster.cluster_id, "ts": int(member.ts)}]
        for cluster_id in retired:
            if cluster_id not in book.clusters:
                operations.append({"delete": {"_index": clusters, "_id": cluster_id}})
        for post_key in before:
            if post_key not in book.cluster_of:
                operations.append({"delete": {"_index": members, "_id": stable_id(post_key)}})
        await self._bulk(operations)

    async def _bulk(self, operations: Sequence[dict[str, Any] | bytes]) -> None:
        if not operations:
            return
        async for attempt in wait_out("writing linkage state"):
            with attempt:  # every operation is idempotent, so a request with an item to retry is sent again whole
                response = await self.es.bulk(operations=operations, refresh=False,  # type: ignore[arg-type]
                                              filter_path=BULK_RESPONSE_FIELDS)  # (bytes lines pass through)
                busy = sum(next(iter(item.values())).get("status") in TRANSIENT_STATUSES
                           for item in response.get("items", []))
                if busy:  # e.g. 429: the state must be written before the batch's offsets move
                    raise TransientBulkError(f"{busy} linkage state writes hit a temporary failure")
        for item in response.get("items", []):
            op, outcome = next(iter(item.items()))
            status = outcome.get("status", 0)
            if status >= 300 and status not in (404, 409):
                log.error("linkage state %s failed for %s: %s", op, outcome.get("_id"), outcome.get("error"))

    async def _capture_new_evidence(self, changed: list[Cluster], stored: dict[str, Stored], now: float) -> None:
        """Capture the evidence of posts that joined an alerted cluster.

        Content alerts are not marked here: they are grouped documents the cluster stage cannot address,
        and the alert stage links each one to its network alert (``related_alerts``)."""
        capture = [(cluster.cluster_id, post_key, member.posted_at)
                   for cluster in changed if stored[cluster.cluster_id].alerted
                   for post_key, member in cluster.members.items()
                   if post_key not in stored[cluster.cluster_id].evidence]
        if capture:
            captured, operations = await self._capture(capture, now)
            for cluster_id, post_key, posted_at in capture:
                if post_key in captured:
                    stored[cluster_id].evidence.add(post_key)
                else:  # not in the posts index yet: the evidence timer tries again
                    since = self.pending_evidence.get(post_key, (cluster_id, posted_at, now))[2]
                    self.pending_evidence[post_key] = (cluster_id, posted_at, since)  # its cluster as of now
            await self._bulk(operations + [op for cid in {c for c, _, _ in capture} for op in (
                {"update": {"_index": self.settings.index("clusters"), "_id": cid}},
                {"doc": {"evidence": sorted(stored[cid].evidence)}})])  # one request: the records, then the marks

    async def retry_evidence(self) -> None:
        """Capture evidence of cluster posts that were not yet indexed when their cluster alerted: every one
        waiting, a request per ``EVIDENCE_PER_REQUEST`` (taking only some each tick, a busy feed's waiting posts
        piled up without end); one still not found after ``EVIDENCE_GIVE_UP_S`` is given up on, and logged."""
        now = self.clock()
        waiting = list(self.pending_evidence.items())
        for start in range(0, len(waiting), EVIDENCE_PER_REQUEST):
            part = waiting[start:start + EVIDENCE_PER_REQUEST]
            captured, operations = await self._capture([(cid, key, at) for key, (cid, at, _) in part], now)
            await self._bulk(operations)
            for post_key in captured:
                self.pending_evidence.pop(post_key, None)
        lost = [key for key, (_, _, since) in self.pending_evidence.items() if now - since > EVIDENCE_GIVE_UP_S]
        for post_key in lost:
            del self.pending_evidence[post_key]
        if lost:
            log.warning("evidence of %d posts of alerted clusters not captured: not in the posts index after %.0f s "
                        "(e.g. %s)", len(lost), EVIDENCE_GIVE_UP_S, lost[0])

    async def _capture(self, wanted: list[tuple[str, str, str]], now: float
                       ) -> tuple[set[str], list[dict[str, Any]]]:
        """The keys of the posts entering a cluster alert found in the posts index, and the bulk operations
        writing their evidence records (the caller sends them, with its own if it has any)."""
        docs = [{"_index": posts_index_for(self.settings, posted_at), "_id": post_doc_id(post_key)}
                for _, post_key, posted_at in wanted if posted_at]
        if not docs:
            return set(), []
        # Not real-time: a real-time read of posts indexed a moment ago makes Elasticsearch refresh the posts
        # index (about 0.3 s a batch on a busy node); a post not searchable yet is captured by the timer.
        # Only the fields of the post as accepted: the normalised text and scores are most of a document.
        response = await self.es.options(ignore_status=404).mget(docs=docs, realtime=False,
                                                                 source_includes=POST_SOURCE_FIELDS)
        found = {d["_source"]["post_key"]: d["_source"] for d in response.get("docs", []) if d.get("found")}
        operations: list[dict[str, Any]] = []
        for cluster_id, post_key, _ in wanted:
            if post_key in found:
                post = original_post(found[post_key])
                operations += [{"create": {"_index": self.settings.index("evidence"), "_id": evidence_id(post_key)}},
                               evidence_document(post_key, post, cluster_alert_id(cluster_id), now)]
        return set(found), operations

    def evidence_action(self, enriched: dict[str, Any], alert: dict[str, Any], now: float
                        ) -> tuple[str, str, dict[str, Any]]:
        """``(index, id, document)`` of the evidence record of a post entering a per-post alert (create-only)."""
        key = enriched["post_key"]
        return (self.settings.index("evidence"), evidence_id(key),
                evidence_document(key, enriched["post"], alert["event"]["id"], now))

    async def cleanup(self) -> None:
        """Delete clusters and memberships that saw no post within the retention window."""
        if not self.newest_ts:
            return
        horizon = int(self.newest_ts - self.params.retention_s)
        for name, field_name in (("clusters", "last_seen"), ("cluster-members", "ts")):
            await self.es.options(ignore_status=404).delete_by_query(
                index=self.settings.index(name), query={"range": {field_name: {"lt": horizon}}}, conflicts="proceed")


def register_linkage(app: faust.App, settings: Settings, linkage: Linkage,
                     background: list[asyncio.Task[None]]) -> None:
    """Add what stage 1 needs to ``app``: the watchlist, read in full before the first post is judged, and
    the ``linkage.keys`` topic its records go to. Stages 2 and 3 are :func:`linkage_stages`."""
    watch = BroadcastReader(settings.kafka_bootstrap, settings.topic("watchlist"), _handler(linkage),
                            client_id="trailhound-watchlist")

    @app.task
    async def follow_watchlist() -> None:
        background.append(asyncio.ensure_future(watch.run()))
        await watch.caught_up.wait()
        linkage.watch_ready.set()

    linkage.keys_topic = app.topic(settings.topic("linkage.keys"))


def linkage_stages(settings: Settings, linkage: Linkage, links_topic: Destination, publish: PublishAlerts,
                   timer: Callable[[str], BatchTimer | None]) -> list[tuple[TopicBatches, BatchHandler]]:
    """The topic readers of stages 2 and 3 with their handlers, for whichever process runs them (the worker's
    own, or :mod:`~trailhound.streams.linkage_process`); ``timer`` gives a stage's timer by name."""
    deliveries = Deliveries()

    async def link_keys(batch: list[ConsumerRecord]) -> None:
        """Observe keys in offset order, a batch at a time; the batch's links leave in one wave of sends."""
        found: list[Link | HubKey] = []
        for record in batch:
            index = await linkage.index_for(record.partition, record.offset)
            try:
                events = linkage.observe(index, record.value)
            except (ValueError, KeyError, TypeError):  # written by our own detect stage; never expected
                log.exception("linkage.keys[%d]@%d is not a linkage record; skipped", record.partition, record.offset)
                continue
            found.extend(events)
            await asyncio.sleep(0)  # a record is a batch of posts' keys: the other stages get a turn between them
        links = [Outgoing(links_topic, b"links", value, partition=0) for value in linkage.links_records(found)]
        for _record, why in await deliveries.deliver(links):  # only a record too large
            log.error("linkage.links refused a link record: %s", why)

    async def build_clusters(batch: list[ConsumerRecord]) -> None:
        """Apply a batch of links; its offsets are committed once its clusters are saved."""
        await linkage.build_clusters([record.value for record in batch], publish, (batch[0].offset, batch[-1].offset))

    keys_reader, links_reader = (
        topic_reader(settings, topic, JOINED_READER_RECORDS, JOINED_FETCH_BYTES, JOINED_BATCH_BYTES, timer(stage),
                     LINKAGE_WITHIN_S)
        for topic, stage in (("linkage.keys", "link_keys"), ("linkage.links", "build_clusters")))
    keys_reader.on_assigned = linkage.keep_indexes
    return [(keys_reader, link_keys), (links_reader, build_clusters)]


async def linkage_upkeep(linkage: Linkage) -> None:
    """The cluster stage's timers, beside its reader: late evidence captured, clusters past the window deleted."""
    await asyncio.gather(_every(EVIDENCE_RETRY_S, "evidence capture", linkage.retry_evidence),
                         _every(CLEANUP_EVERY_S, "linkage clean-up", linkage.cleanup))


async def _every(seconds: float, what: str, action: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await action()
        except Exception:  # retried on the next tick
            log.exception("%s failed", what)


def add_alert(sink: ElasticsearchSink, index: str, alert: dict[str, Any]) -> None:
    """Queue an alert: cluster alerts are updated in place (lifecycle fields kept), others written once."""
    if is_upserted(alert):
        doc, on_create = upsert_parts(alert)
        sink.upsert(index, alert["event"]["id"], doc, on_create)
    else:
        sink.add(index, alert["event"]["id"], alert, create_only=True)


def link_events(raws: list[bytes]) -> list[Link | HubKey]:
    """The links and hub notices in ``linkage.links`` records, in order; a post in many links is decoded once."""
    events: list[Link | HubKey] = []
    summaries: dict[str, PostSummary] = {}

    def summary(data: dict[str, Any]) -> PostSummary:
        known = summaries.get(data["post_key"])
        if known is None:
            known = summaries[data["post_key"]] = PostSummary.from_json(data)
        return known

    for data in _items(raws):
        kind = data.get("type")
        if kind == "hub":
            events.append(HubKey(data["key"], int(data["distinct_texts"]), int(data["posts"])))
        elif kind == "links":  # links naming their posts (:meth:`Linkage.links_records`)
            posts = data["posts"]
            events.extend(Link(summary(posts[a]), summary(posts[b]), key, reason, float(similarity))
                          for a, b, key, reason, similarity in data["links"])
        else:  # one link with its posts (:meth:`Linkage.event_record`)
            events.append(Link(summary(data["a"]), summary(data["b"]), data["key"], data["reason"],
                               float(data.get("similarity", 1.0))))
    return events


def _hub_item(event: HubKey) -> dict[str, Any]:
    return {"type": "hub", "key": event.key, "distinct_texts": event.distinct_texts, "posts": event.posts}


def _member_fields(post: PostSummary) -> dict[str, Any]:
    """What the cluster stage keeps of a linked post (:class:`~trailhound.detectors.linkage.clusters.Member`):
    a link travels without the post's phones, e-mails, handles and image hashes, which only the key owner
    needs. That is about half of a link record, and every link carries two posts."""
    return {"post_key": post.post_key, "ts": post.ts, "posted_at": post.posted_at, "contact": post.contact,
            "city": post.city, "author": post.author, "categories": list(post.categories), "harm": list(post.harm),
            "score": post.score, "adult": post.adult}


def _items(raws: list[bytes]) -> list[dict[str, Any]]:
    """The links and hub notices in ``linkage.links`` records: one each, or a batch of them in order."""
    items: list[dict[str, Any]] = []
    for raw in raws:
        try:
            items.extend(joined_items(raw))
        except ValueError:
            log.error("linkage.links: a record that is not JSON was skipped")
    return items


def _handler(linkage: Linkage) -> Callable[[ConsumerRecord], Awaitable[None]]:
    async def handle(record: ConsumerRecord) -> None:
        linkage.add_watch_entry(record)
    return handle
