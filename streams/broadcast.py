"""Read a whole topic in every worker, outside the consumer group.

Pattern-library versions and analysts' verdicts must reach *every* worker, not just the one that owns a
partition, so that all workers flag with the same library and score with models that learned from all
verdicts. A group-less aiokafka consumer with manual assignment does exactly that; the caller says
where to start (the beginning, or just after the offset its restored checkpoint already covers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

__all__ = ["BroadcastReader"]

log = logging.getLogger(__name__)

Handler = Callable[[ConsumerRecord], Awaitable[None]]


class BroadcastReader:
    """Follows every partition of one topic and hands each record to ``handler`` in order."""

    def __init__(self, bootstrap: str, topic: str, handler: Handler, client_id: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.handler = handler
        self.client_id = client_id
        self.caught_up = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None

    async def run(self, start_offsets: dict[int, int] | None = None) -> None:
        """Consume until cancelled; ``start_offsets`` maps partition → next offset to read."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
            client_id=self.client_id, auto_offset_reset="earliest",
        )
        self._consumer = consumer
        await consumer.start()
        try:
            consumer.subscribe([self.topic])  # without a group: every partition is assigned to us
            while not consumer.assignment():
                await asyncio.sleep(0.1)
            tps = sorted(consumer.assignment())
            for tp in tps:
                offset = (start_offsets or {}).get(tp.partition)
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
                if not self.caught_up.is_set():
                    await self._mark_if_caught_up(consumer, ends)
        finally:
            await consumer.stop()

    async def _mark_if_caught_up(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> None:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return
        self.caught_up.set()
