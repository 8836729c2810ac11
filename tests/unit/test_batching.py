"""A batch's offsets are released only when the batch is finished; deliveries retry what may pass.

The stream stand-in behaves as Faust's ``take_events`` does — one reference per message taken by the
stream, and an ack of every event of the batch in a ``finally`` block, also when the consumer of the
batch failed — and the messages are Faust's own :class:`faust.types.tuples.Message`, whose ``acked``
flag is what lets the consumer commit an offset.
"""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError
from faust.types.tuples import Message

from trailhound.streams.batching import (
    Deliveries,
    Outgoing,
    default_partition,
    held_batches,
    joined_items,
    joined_records,
)


class _Stream:
    def __init__(self, batches: int, size: int = 3) -> None:
        self.messages = [Message("posts.raw", 0, i, 0.0, 0, None, b"k", b"v", None) for i in range(batches * size)]
        self.size = size

    async def take_events(self, size: int, within: float):
        for start in range(0, len(self.messages), self.size):
            events = [SimpleNamespace(message=m) for m in self.messages[start:start + self.size]]
            for event in events:
                event.message.incref()  # the stream's own reference
            try:
                yield events
            finally:
                for event in events:
                    event.message.ack(None)


def _acked(stream: _Stream) -> list[bool]:
    return [m.acked for m in stream.messages]


async def _consume(stream: _Stream, fail_on: int | None = None) -> None:
    async for n, _ in _numbered(held_batches(stream, 3, 0.1)):  # type: ignore[arg-type]
        if n == fail_on:
            raise RuntimeError("Elasticsearch said no")


async def _numbered(batches):
    n = 0
    async for batch in batches:
        yield n, batch
        n += 1


def test_finished_batches_are_acked() -> None:
    stream = _Stream(batches=2)
    asyncio.run(_consume(stream))
    assert all(_acked(stream))


def test_a_batch_whose_processing_failed_keeps_its_offsets() -> None:
    stream = _Stream(batches=3)
    with pytest.raises(RuntimeError):
        asyncio.run(_consume(stream, fail_on=1))
    assert _acked(stream) == [True] * 3 + [False] * 6


def test_a_cancelled_batch_keeps_its_offsets() -> None:
    stream = _Stream(batches=2)

    async def stopped_mid_batch() -> None:
        async for _batch in held_batches(stream, 3, 0.1):  # type: ignore[arg-type]
            await asyncio.sleep(10)  # e.g. waiting for Elasticsearch when the worker is stopped

    async def main() -> None:
        task = asyncio.ensure_future(stopped_mid_batch())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert not any(_acked(stream))


class _Topic:
    """Accepts sends; the n-th attempt of a record fails with the error listed for it."""

    def __init__(self, errors: dict[bytes, list[BaseException]]) -> None:
        self.errors = errors
        self.delivered: list[bytes] = []
        self.app = SimpleNamespace(producer=self)  # records go to the app's producer, named by topic

    def get_topic_name(self) -> str:
        return "topic"

    async def send(self, topic: str, key: bytes, value: bytes, partition, timestamp, headers):
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        pending = self.errors.get(key) or []
        if pending:
            future.set_exception(pending.pop(0))
        else:
            self.delivered.append(key)
            future.set_result(None)
        return future


def test_retriable_failures_are_sent_again_until_delivered() -> None:
    topic = _Topic({b"b": [KafkaTimeoutError(), KafkaTimeoutError()]})
    records = [Outgoing(topic, key, b"v") for key in (b"a", b"b", b"c")]  # type: ignore[arg-type]
    failed = asyncio.run(Deliveries(first_wait_s=0.01, max_wait_s=0.02).deliver(records))
    assert failed == []
    assert sorted(topic.delivered) == [b"a", b"b", b"c"], "each record delivered, the failed one only once"


def test_a_record_kafka_can_never_take_comes_back_with_the_reason() -> None:
    topic = _Topic({b"big": [MessageSizeTooLargeError()]})
    records = [Outgoing(topic, key, b"v") for key in (b"ok", b"big")]  # type: ignore[arg-type]
    failed = asyncio.run(Deliveries(first_wait_s=0.01, max_wait_s=0.02).deliver(records))
    assert [(record.key, "MessageSizeTooLarge" in why) for record, why in failed] == [(b"big", True)]
    assert topic.delivered == [b"ok"]


class _SmallTopic(_Topic):
    """Refuses for good any record larger than ``limit`` bytes, as a topic's ``max.message.bytes`` does."""

    def __init__(self, limit: int) -> None:
        super().__init__({})
        self.limit = limit
        self.values: list[bytes] = []

    async def send(self, topic: str, key: bytes, value: bytes, partition, timestamp, headers):
        if len(value) > self.limit:
            self.errors[key] = [MessageSizeTooLargeError()]
        else:
            self.values.append(value)
        return await super().send(topic, key, value, partition, timestamp, headers)


def test_joined_records_keep_each_partitions_order_and_read_back_as_the_records() -> None:
    records = [Outgoing(None, f"k{i}".encode(), orjson.dumps({"n": i}), partition=i % 2)  # type: ignore[arg-type]
               for i in range(7)]
    joined = joined_records(records)
    assert [(r.partition, r.key) for r in joined] == [(0, b"k0"), (1, b"k1")]
    assert [joined_items(r.value) for r in joined] == [[{"n": 0}, {"n": 2}, {"n": 4}, {"n": 6}],
                                                       [{"n": 1}, {"n": 3}, {"n": 5}]]
    small = joined_records(records, max_bytes=2 * len(records[0].value) + 2)
    assert [len(joined_items(r.value)) for r in small] == [2, 2, 2, 1]
    assert joined_items(orjson.dumps({"n": 9})) == [{"n": 9}]  # a record on its own reads as itself


def test_a_joined_record_too_large_for_the_topic_is_sent_again_record_by_record() -> None:
    topic = _SmallTopic(limit=60)
    big = Outgoing(topic, b"big", orjson.dumps({"text": "x" * 80}), partition=0)  # type: ignore[arg-type]
    small = [Outgoing(topic, key, orjson.dumps({"k": key.decode()}), partition=partition)  # type: ignore[arg-type]
             for key, partition in ((b"a", 0), (b"b", 0), (b"c", 1))]
    failed = asyncio.run(Deliveries(first_wait_s=0.01, max_wait_s=0.02).deliver_joined([small[0], big, *small[1:]]))
    assert [(record.key, "MessageSizeTooLarge" in why) for record, why in failed] == [(b"big", True)]
    assert sorted(topic.delivered) == [b"a", b"b", b"c"], "only the record at fault is refused"


def test_default_partition_is_kafkas_own() -> None:
    from kafka.partitioner.default import DefaultPartitioner as KafkaPythonPartitioner  # another murmur2

    keys = [f"phone:+1212555{n:04d}".encode() for n in range(200)]
    every = list(range(6))
    assert [default_partition(k, 6) for k in keys] == [KafkaPythonPartitioner()(k, every, every) for k in keys]
    assert len({default_partition(k, 6) for k in keys}) == 6
    rng = random.Random(5)  # every tail length, bytes above 0x7f, the empty key
    odd = [b""] + [rng.randbytes(rng.randrange(1, 41)) for _ in range(2000)] + ["phone:+33 6 ☎ ü".encode()]
    for partitions in (1, 4, 7):
        every = list(range(partitions))
        assert [default_partition(k, partitions) for k in odd] == [KafkaPythonPartitioner()(k, every, every)
                                                                   for k in odd]
