"""Read a whole topic in every worker, outside the consumer group.

Pattern-library versions and analysts' verdicts must reach *every* worker, not just the one that owns a
partition, so that all workers flag with the same library and score with models that learned from all
verdicts. A group-less aiokafka consumer with manual assignment does exactly that; the caller says
where to start (the beginning, or just after the offset its restored checkpoint already covers).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from trailhound.retrying import wait_out

__all__ = ["BroadcastReader"]

log = logging.getLogger(__name__)

Handler = Callable[[ConsumerRecord], Awaitable[None]]


class BroadcastReader:
    """Follows every partition of one topic and hands each record to ``handler`` in order."""

    def __init__(self, bootstrap: str, topic: str, handler: Handler, client_id: str,
                 kafka_options: dict[str, Any] | None = None) -> None:
        self.bootstrap = bootstrap
        self.kafka_options = kafka_options or {}
        self.topic = topic
        self.handler = handler
        self.client_id = client_id
        self.caught_up = asyncio.Event()

    async def run(self, start_offsets: dict[int, int] | None = None) -> None:
        """Consume until cancelled; ``start_offsets`` maps partition → next offset to read.

        A failure (broker away, a bug in a handler's infrastructure) is logged and the reader starts
        again after the last record it handled, so one bad moment never silently ends the reader.
        """
        next_offsets = dict(start_offsets or {})
        async for attempt in wait_out(f"{self.topic} reader", first_s=1.0, max_s=30.0):
            with attempt:
                await self._consume(next_offsets)

    async def _consume(self, next_offsets: dict[int, int]) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
            client_id=self.client_id, auto_offset_reset="earliest", **self.kafka_options,
        )
        await consumer.start()
        try:
            consumer.subscribe([self.topic])  # without a group: every partition is assigned to us
            started, warned = time.monotonic(), 0
            while not consumer.assignment():
                await asyncio.sleep(0.1)
                if (waited := int((time.monotonic() - started) // 10)) > warned:
                    warned = waited
                    log.warning("%s: still waiting for the topic's partitions (does the topic exist?)", self.topic)
            tps = sorted(consumer.assignment())
            for tp in tps:
                offset = next_offsets.get(tp.partition)
                if offset is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, offset)
            ends = await consumer.end_offsets(tps)
            await self._mark_if_caught_up(consumer, ends)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                for records in batches.values():
                    for record in records:
                        try:
                            await self.handler(record)
                        except Exception:
                            log.exception("%s: handler failed on offset %s", self.topic, record.offset)
                        next_offsets[record.partition] = record.offset + 1
                if not self.caught_up.is_set():
                    await self._mark_if_caught_up(consumer, ends)
        finally:
            await consumer.stop()

    async def _mark_if_caught_up(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> None:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return
        self.caught_up.set()
