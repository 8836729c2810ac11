"""A topic's batch reader on the real broker: offsets move only after a batch is handled."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from trailhound.config import Settings
from trailhound.streams.topic_batches import TopicBatches

pytestmark = pytest.mark.integration


async def _produce(settings: Settings, topic: str, n: int) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for i in range(n):
            await producer.send(topic, f"r{i}".encode(), key=b"k", partition=0)  # one partition: a total order
        await producer.flush()
    finally:
        await producer.stop()


async def _committed(settings: Settings, group: str, tp: TopicPartition) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.committed(tp)
    finally:
        await consumer.stop()


async def _read(reader: TopicBatches, until: int, fail_first: bool = False) -> list[list[bytes]]:
    """The batches ``reader`` handed over until ``until`` distinct records were handled."""
    batches: list[list[bytes]] = []
    seen: set[bytes] = set()
    done = asyncio.Event()

    async def handle(batch: list[ConsumerRecord]) -> None:
        batches.append([record.value for record in batch])
        if fail_first and len(batches) == 1:
            raise RuntimeError("the handler failed half-way")
        seen.update(record.value for record in batch)
        if len(seen) >= until:
            done.set()

    task = asyncio.ensure_future(reader.run(handle))
    try:
        await asyncio.wait_for(done.wait(), timeout=60)
        await asyncio.sleep(0.2)  # the last batch's commit
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return batches


def test_a_failed_batch_is_read_again_and_offsets_move_only_after_a_handled_batch(settings: Settings) -> None:
    topic = settings.topic("posts.raw")
    tp = TopicPartition(topic, 0)

    async def scenario() -> tuple[list[list[bytes]], int | None]:
        await _produce(settings, topic, 12)
        reader = TopicBatches({"bootstrap_servers": settings.kafka_bootstrap}, topic, "raw-test", 5, 0.05,
                            retry_pause_s=0.1)
        batches = await _read(reader, 12, fail_first=True)
        return batches, await _committed(settings, "raw-test", tp)

    batches, committed = asyncio.run(scenario())
    assert len(batches[0]) <= 5, "batches are at most the size asked for"
    assert batches[1][:len(batches[0])] == batches[0], "the failed batch is handed over again, from its start"
    handled = [value for batch in batches[1:] for value in batch]
    assert handled == [f"r{i}".encode() for i in range(12)], "after the failure every record once, in order"
    assert committed == 12, "offsets committed up to the last handled record"


def test_a_partition_this_group_never_committed_starts_where_the_legacy_group_left(settings: Settings) -> None:
    topic = settings.topic("posts.raw")
    tp = TopicPartition(topic, 0)

    async def scenario() -> list[list[bytes]]:
        await _produce(settings, topic, 8)
        legacy = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap, group_id="legacy",
                                  enable_auto_commit=False)
        await legacy.start()
        try:
            while not legacy.assignment():
                await asyncio.sleep(0.1)
            await legacy.commit({tp: OffsetAndMetadata(5, "")})
        finally:
            await legacy.stop()
        reader = TopicBatches({"bootstrap_servers": settings.kafka_bootstrap}, topic, "legacy-raw", 100, 0.05,
                            legacy_group="legacy")
        return await _read(reader, 3)

    batches = asyncio.run(scenario())
    assert [value for batch in batches for value in batch] == [b"r5", b"r6", b"r7"], \
        "posts the legacy group had handled are not read again; the rest are"


def test_a_batch_of_large_records_is_bounded_by_its_bytes_not_only_its_count(settings: Settings) -> None:
    """A stage behind on joined records takes a few megabytes at a time, not everything that is waiting."""
    topic = settings.topic("linkage.links")
    record = b"x" * 50_000

    async def scenario() -> list[list[bytes]]:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
        await producer.start()
        try:
            for i in range(30):
                await producer.send(topic, f"{i:03d}".encode() + record, partition=0)
            await producer.flush()
        finally:
            await producer.stop()
        reader = TopicBatches({"bootstrap_servers": settings.kafka_bootstrap}, topic, "bytes-test", 1000, 0.5,
                              fetch_bytes=100_000, batch_bytes=200_000)
        return await _read(reader, 30)

    batches = asyncio.run(scenario())
    assert [value[:3] for batch in batches for value in batch] == [f"{i:03d}".encode() for i in range(30)]
    assert len(batches) >= 5, "30 records of 50 kB come in batches of about 200 kB"
    assert max(sum(map(len, batch)) for batch in batches) <= 200_000 + 100_000, \
        "a batch holds its byte budget at most, plus what the reader had already fetched"


def test_a_reader_times_the_batches_it_handled_and_not_the_one_that_failed(settings: Settings) -> None:
    """The per-stage histograms see every handled record once, from its Kafka timestamp (milliseconds)."""
    from trailhound.streams.metrics import PipelineMetrics
    from trailhound.streams.stage_timing import StageTimer

    topic = settings.topic("alerts")
    metrics = PipelineMetrics()

    async def scenario() -> list[list[bytes]]:
        await _produce(settings, topic, 12)
        reader = TopicBatches({"bootstrap_servers": settings.kafka_bootstrap}, topic, "timed-test", 5, 0.05,
                              retry_pause_s=0.1, timer=StageTimer(metrics, "record_alerts"))
        return await _read(reader, 12, fail_first=True)

    batches = asyncio.run(scenario())

    def sample(name: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"stage": "record_alerts"})

    assert sample("trailhound_stage_batch_seconds_count") == len(batches) - 1, "the failed batch is not timed"
    assert sample("trailhound_stage_latency_seconds_count") == sum(map(len, batches[1:]))
    assert sample("trailhound_stage_latency_seconds_sum") < 60 * sum(map(len, batches[1:])), \
        "record ages are seconds, not milliseconds read as seconds"
