"""``posts.raw`` read a batch at a time by a bare aiokafka consumer, its offsets committed after each batch.

Why it exists (issue 13): ``posts.raw`` carries one record per post (the input's contract), and Faust
charges every record its per-event path (conductor, stream buffer, event objects, acks). A bare Faust
agent relaying records one at a time reached about 2,500 a second on the development machine, a bare
aiokafka ``getmany`` loop about 26,000; in a py-spy profile of a busy worker, Faust's consumer path and
the event loop's work for it were a tenth of the worker's time, most of it for ``posts.raw``. Here the
worker reads ``posts.raw`` with :class:`aiokafka.AIOKafkaConsumer` in a consumer group of its own
(the app's group id with ``-raw``): whole fetches come back as lists, with no per-record framework.

At-least-once, as before: a batch's offsets are committed only after its handler returned, i.e. after
every output it produced was acknowledged. A handler that raises leaves the batch uncommitted and the
reader goes back to the last committed offsets and reads the batch again after a pause. A worker
killed mid-batch leaves it uncommitted, so whoever owns the partition next reads it again (outputs are
idempotent). A rebalance (a worker joining, leaving or dying) waits for the batch being handled: the
rebalance listener takes the lock a batch is handled under, so its offsets are committed before its
partitions move. Records fetched before a rebalance and not yet handled are dropped if their partition
went to another worker (which reads them from the committed offset), and handled if it stayed (they
may then be read once more: harmless, as outputs are idempotent; never skipped).

Upgrading from a worker that read ``posts.raw`` through Faust: a group that never committed an offset
of the topic starts where the app's Faust group had got to (``legacy_group``), not at its beginning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from trailhound.retrying import wait_out
from trailhound.streams.batching import is_retriable_send_error

__all__ = ["RawBatches"]

log = logging.getLogger(__name__)

FETCH_BYTES = 8 * 1024 * 1024
Handler = Callable[[list[ConsumerRecord]], Awaitable[None]]


class _Listener(ConsumerRebalanceListener):
    def __init__(self, lock: asyncio.Lock) -> None:
        self.lock = lock

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.lock:  # the batch being handled finishes and commits before its partitions move
            pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        pass


class RawBatches:
    """Batches of up to ``size`` records of ``topic`` (or what arrived within ``within_s``), committed
    once handled; :meth:`run` reads until cancelled."""

    def __init__(self, consumer_options: dict[str, Any], topic: str, group_id: str, size: int, within_s: float,
                 legacy_group: str | None = None, retry_pause_s: float = 1.0) -> None:
        self.topic = topic
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

    async def run(self, handle: Handler) -> None:
        """Read, handle and commit batches until cancelled; the consumer leaves its group at the end."""
        self._consumer = AIOKafkaConsumer(group_id=self.group_id, enable_auto_commit=False,
                                          auto_offset_reset="earliest", max_partition_fetch_bytes=FETCH_BYTES,
                                          fetch_max_bytes=4 * FETCH_BYTES, **self._options)
        try:
            async for attempt in wait_out("adopting a legacy group's offsets", is_retriable_send_error, 0.5, 5.0,
                                          attempts=10):
                with attempt:
                    await self.adopt_legacy_offsets()
        except Exception:  # only an upgrade's convenience: without it the group starts at the topic's beginning
            log.exception("%s could not adopt group %s's offsets", self.group_id, self.legacy_group)
        await self.consumer.start()
        try:
            self.consumer.subscribe([self.topic], listener=_Listener(self.lock))
            while True:
                batch = await self._next_batch()
                async with self.lock:  # a rebalance waits for this batch to be handled and committed
                    batch = [r for r in batch if TopicPartition(r.topic, r.partition) in self.assignment()]
                    if batch:
                        await self._handled(batch, handle)
        finally:
            await self.consumer.stop()

    async def _next_batch(self) -> list[ConsumerRecord]:
        loop = asyncio.get_running_loop()
        records: list[ConsumerRecord] = []
        deadline = loop.time() + self.within_s
        for part in (await self.consumer.getmany(timeout_ms=1000, max_records=self.size)).values():
            records.extend(part)
        while records and len(records) < self.size and (left := deadline - loop.time()) > 0:
            more = await self.consumer.getmany(timeout_ms=max(1, int(left * 1000)),
                                               max_records=self.size - len(records))
            for part in more.values():
                records.extend(part)
        return records

    async def _handled(self, batch: list[ConsumerRecord], handle: Handler) -> None:
        """Handle ``batch`` and commit it; if the handler raises, read the batch again after a pause."""
        try:
            await handle(batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a batch of %d %s records failed; it is read again", len(batch), self.topic)
            await asyncio.sleep(self.retry_pause_s)
            await self._rewind(batch)
            return
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
