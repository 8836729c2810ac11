"""A topic read a batch at a time by a bare aiokafka consumer, its offsets committed after each batch.

Why it exists (issue 13): Faust charges every record its per-event path (conductor, stream buffer, event
objects, acks), and its one fetcher feeds every agent: when one stage falls behind, what the fetcher
already holds waits in memory for it while the other stages wait too. ``posts.raw`` carries one record per
post (the input's contract): a bare Faust agent relaying records one at a time reached about 2,500 a
second on the development machine, a bare aiokafka ``getmany`` loop about 26,000. The linkage topics
carry joined records of up to half a megabyte: in the soak, with the cluster stage behind, a worker held
945 ``linkage.links`` records (364 MB) in Faust's buffers and kept growing. So the worker reads these
topics with :class:`aiokafka.AIOKafkaConsumer`, each in a consumer group of its own (the app's group id
and the stage, :meth:`~trailhound.config.Settings.consumer_group`): whole fetches come back as lists, a
reader fetches again only when its handler has taken what it holds (at most ``fetch_bytes`` a partition),
and a stage behind leaves its backlog in Kafka, not in the worker.

At-least-once, as before: a batch's offsets are committed only after its handler returned, i.e. after
every output it produced was acknowledged. A handler that raises leaves the batch uncommitted and the
reader goes back to the last committed offsets and reads the batch again after a pause. A worker
killed mid-batch leaves it uncommitted, so whoever owns the partition next reads it again (outputs are
idempotent). A rebalance (a worker joining, leaving or dying) waits for the batch being handled: the
rebalance listener takes the lock a batch is handled under, so its offsets are committed before its
partitions move. Records fetched before a rebalance and not yet handled are dropped if their partition
went to another worker (which reads them from the committed offset), and handled once if it stayed.

Upgrading from a worker that read a topic through Faust: a group that never committed an offset
of the topic starts where the app's Faust group had got to (``legacy_group``), not at its beginning.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from trailhound.config import Settings
from trailhound.connections import kafka_options
from trailhound.retrying import wait_out
from trailhound.streams.batching import is_retriable_send_error
from trailhound.streams.stage_timing import BatchTimer

__all__ = ["FETCH_BYTES", "READER_GROUPS", "BatchHandler", "TopicBatches", "topic_reader"]

log = logging.getLogger(__name__)

FETCH_BYTES = 8 * 1024 * 1024  # a partition's fetch of single-post records
BATCH_BYTES = 16 * 1024 * 1024
# A rebalance waits for the batch being handled (a key index replayed, Elasticsearch away for a while), so
# members get Faust's minute to rejoin, not aiokafka's default of the 10 s session timeout; and a batch
# may take Faust's 1,000 s between polls before the worker is taken for dead. A killed worker is still
# noticed after the session timeout.
REBALANCE_MS = 60_000
MAX_POLL_INTERVAL_MS = 1_000_000
BatchHandler = Callable[[list[ConsumerRecord]], Awaitable[None]]
# The topics a worker reads this way, each with its consumer group's suffix (``raw``: the first one's, kept).
READER_GROUPS = {"posts.raw": "raw", "linkage.keys": "linkage-keys", "linkage.links": "linkage-links",
                 "alerts": "alerts"}


class _Listener(ConsumerRebalanceListener):
    def __init__(self, lock: asyncio.Lock, on_assigned: Callable[[set[int]], None] | None) -> None:
        self.lock = lock
        self.on_assigned = on_assigned

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.lock:  # the batch being handled finishes and commits before its partitions move
            pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if self.on_assigned is not None:
            async with self.lock:  # not in the middle of a batch
                self.on_assigned({tp.partition for tp in assigned})


class TopicBatches:
    """Batches of up to ``size`` records of ``topic`` (or what arrived within ``within_s``), committed
    once handled; :meth:`run` reads until cancelled. At most ``fetch_bytes`` a partition are fetched
    ahead (a record larger than that still comes, alone), and a batch holds about ``batch_bytes`` at most."""

    def __init__(self, consumer_options: dict[str, Any], topic: str, group_id: str, size: int, within_s: float,
                 legacy_group: str | None = None, retry_pause_s: float = 1.0, fetch_bytes: int = FETCH_BYTES,
                 batch_bytes: int = BATCH_BYTES, timer: BatchTimer | None = None) -> None:
        self.timer = timer  # told of every handled batch (:mod:`~trailhound.streams.stage_timing`)
        self.on_assigned: Callable[[set[int]], None] | None = None  # told the partitions after each rebalance
        self.topic = topic
        self.fetch_bytes = fetch_bytes
        self.batch_bytes = batch_bytes
        self.size = size
        self.within_s = within_s
        self.legacy_group = legacy_group
        self.retry_pause_s = retry_pause_s
        self.group_id = group_id
        self.lock = asyncio.Lock()
        self._options = consumer_options
        self._consumer: AIOKafkaConsumer | None = None  # made in run(): aiokafka needs the running loop

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("the reader has not started")
        return self._consumer

    def assignment(self) -> set[TopicPartition]:
        """The partitions this worker reads now (none before the reader started)."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    async def run(self, handle: BatchHandler) -> None:
        """Read, handle and commit batches until cancelled; the consumer leaves its group at the end."""
        self._consumer = AIOKafkaConsumer(group_id=self.group_id, enable_auto_commit=False,
                                          auto_offset_reset="earliest", max_partition_fetch_bytes=self.fetch_bytes,
                                          fetch_max_bytes=4 * self.fetch_bytes, rebalance_timeout_ms=REBALANCE_MS,
                                          max_poll_interval_ms=MAX_POLL_INTERVAL_MS, **self._options)
        try:
            async for attempt in wait_out("adopting a legacy group's offsets", is_retriable_send_error, 0.5, 5.0,
                                          attempts=10):
                with attempt:
                    await self.adopt_legacy_offsets()
        except Exception:  # only an upgrade's convenience: without it the group starts at the topic's beginning
            log.exception("%s could not adopt group %s's offsets", self.group_id, self.legacy_group)
        await self.consumer.start()
        try:
            self.consumer.subscribe([self.topic], listener=_Listener(self.lock, self.on_assigned))
            while True:
                batch = await self._next_batch()
                async with self.lock:  # a rebalance waits for this batch to be handled and committed
                    batch = [r for r in batch if TopicPartition(r.topic, r.partition) in self.assignment()]
                    if batch:
                        await self._handled(batch, handle)
        finally:
            await self.consumer.stop()

    async def _next_batch(self) -> list[ConsumerRecord]:
        """What arrived within ``within_s`` (from the first ask), up to ``size`` records and about
        ``batch_bytes`` (over by at most what the reader had already fetched).

        A rebalance meanwhile makes the consumer read its partitions again from their committed offsets, so
        a record already taken may come again: it is taken once (a batch must not hold a post twice).
        """
        loop = asyncio.get_running_loop()
        records: list[ConsumerRecord] = []
        taken: set[tuple[int, int]] = set()
        size = 0
        deadline = loop.time() + self.within_s
        timeout_ms = 1000
        while len(records) < self.size and size < self.batch_bytes:
            more = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=self.size - len(records))
            for part in more.values():
                for record in part:
                    if (record.partition, record.offset) not in taken:
                        taken.add((record.partition, record.offset))
                        records.append(record)
                        size += len(record.value or b"")
            left = deadline - loop.time()
            if not records or left <= 0:
                break
            timeout_ms = max(1, int(left * 1000))
        return records

    async def _handled(self, batch: list[ConsumerRecord], handle: BatchHandler) -> None:
        """Handle ``batch`` and commit it; if the handler raises, read the batch again after a pause."""
        taken_at = time.time()
        try:
            await handle(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a batch of %d %s records failed; it is read again", len(batch), self.topic)
            await asyncio.sleep(self.retry_pause_s)
            await self._rewind(batch)
            return
        if self.timer is not None:
            self.timer.finished_stamps([record.timestamp / 1000 for record in batch], taken_at)  # Kafka's are ms
        await self._commit(batch)

    async def _rewind(self, batch: list[ConsumerRecord]) -> None:
        first: dict[TopicPartition, int] = {}
        for record in batch:
            first.setdefault(TopicPartition(record.topic, record.partition), record.offset)
        assigned = self.assignment()
        for tp, offset in first.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)

    async def _commit(self, batch: list[ConsumerRecord]) -> None:
        """Commit the offsets after ``batch`` for the partitions still assigned; waits out a broker away."""
        offsets = {TopicPartition(r.topic, r.partition): r.offset + 1 for r in batch}
        assigned = self.assignment()
        offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not offsets:
            return
        try:
            async for attempt in wait_out(f"committing {self.topic} offsets", is_retriable_send_error, 0.2, 5.0):
                with attempt:
                    await self.consumer.commit(offsets)
        except KafkaError as exc:  # e.g. the partitions moved in a rebalance: their next owner reads it again
            log.warning("a batch's offsets were not committed (%r); its records will be read again", exc)

    async def adopt_legacy_offsets(self) -> None:
        """If this group never committed an offset of the topic, it starts where the legacy group got to:
        its offsets are committed as this group's, before this worker joins."""
        if not self.legacy_group:
            return
        admin = AIOKafkaAdminClient(**self._options)
        await admin.start()
        try:
            ours = await admin.list_consumer_group_offsets(self.group_id)
            if any(tp.topic == self.topic and meta.offset >= 0 for tp, meta in ours.items()):
                return
            legacy = {tp: meta.offset for tp, meta in
                      (await admin.list_consumer_group_offsets(self.legacy_group)).items()
                      if tp.topic == self.topic and meta.offset >= 0}
        finally:
            await admin.close()
        if not legacy:
            return
        adopting = AIOKafkaConsumer(group_id=self.group_id, enable_auto_commit=False, **self._options)
        await adopting.start()
        try:
            adopting.assign(list(legacy))
            await adopting.commit(legacy)
            log.info("%s starts where group %s got to: %s", self.group_id, self.legacy_group, legacy)
        except KafkaError as exc:  # another worker of the group got there first and already reads
            log.info("group %s did not adopt group %s's offsets: %r", self.group_id, self.legacy_group, exc)
        finally:
            await adopting.stop()


def topic_reader(settings: Settings, topic: str, size: int, fetch_bytes: int = FETCH_BYTES,
                 batch_bytes: int = BATCH_BYTES, timer: BatchTimer | None = None,
                 within_s: float | None = None) -> TopicBatches:
    """The worker's reader of ``topic`` (one of :data:`READER_GROUPS`), taking batches of up to ``size``
    records and about ``batch_bytes``, or what arrived within ``within_s`` (``TRAILHOUND_BATCH_WITHIN_MS``
    unless given)."""
    return TopicBatches({"bootstrap_servers": settings.kafka_bootstrap, **kafka_options(settings)},
                        settings.topic(topic), settings.consumer_group(READER_GROUPS[topic]), size,
                        settings.batch_within_ms / 1000 if within_s is None else within_s,
                        legacy_group=settings.consumer_group(),
                        fetch_bytes=fetch_bytes, batch_bytes=batch_bytes, timer=timer)
