"""Batches whose Kafka offsets move only after everything they produce is safely written.

Why it exists: Faust's ``stream.take_events(n, within)`` is what makes a worker fast (one
Elasticsearch bulk request and one wave of Kafka sends per batch instead of per post), but it acks every
event of a batch in a ``finally`` block — also when the agent's body failed or was cancelled half-way
(a send that raised, a worker being stopped while Elasticsearch is away). An acked offset is
committed, so that batch's posts would never be processed again: silent loss. :func:`held_batches`
takes one extra reference on every message of a batch and gives it back only when the body finished
the batch; a batch abandoned by an error or a cancellation therefore never reaches its final ack, its
offsets are not committed, and the posts are read again by whichever worker owns the partition next.

:class:`Deliveries` sends a batch's records and waits until Kafka has them (``acks=all``). A failure
Kafka may recover from (leader moving, broker restarting, timeouts) is retried with back-off until it
succeeds, which stalls the stream instead of losing records; a failure that can never succeed (a
record too large for the topic) is handed back with its reason so the caller can dead-letter it.
:func:`joined_records` joins a batch's JSON records into one record per partition (:func:`joined_items`
reads them back): each Kafka message costs the consuming Faust worker a fixed per-event price (fetch,
conductor, stream buffer, ack), so a record per post and partition was most of what a worker spent
outside its own work on the topics that carry many small records (issue 13).
Records go straight to the app's producer (``app.producer.send``), not through ``Topic.send``: the
topic layer's per-record work (future messages, key and value codecs for bytes that are already
encoded, sensors) was about 4% of a busy worker's time in a py-spy profile (issue 13).
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import faust
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from faust.types import EventT

from trailhound.retrying import wait_out
from trailhound.streams.stage_timing import StageTimer

__all__ = ["JOINED_BATCH_RECORDS", "JOINED_BUFFER_RECORDS", "JOINED_BATCH_BYTES", "JOINED_FETCH_BYTES",
           "PRODUCER_BATCH_BYTES", "PRODUCER_LINGER_MS", "Deliveries", "Destination", "Outgoing", "PlainTopic",
           "default_partition", "held_batches", "is_retriable_send_error", "joined_groups", "joined_items",
           "joined_records"]

# The detect stage's Faust stream of joined records buffers this many, not faust's 16,384: each holds up
# to a batch of posts, so a stage running behind would otherwise hold a backlog of millions of posts.
JOINED_BUFFER_RECORDS = 64
# ... and takes this many of them per batch, not the 500 it takes of single records: a stage that fell
# behind took a batch of up to 500 records of up to 512 KiB each and worked through it for minutes in one
# go (the soak's worker held 330 MB of such records while every other stage waited).
JOINED_BATCH_RECORDS = 16
# How a worker's producers send (the Faust app's and the linkage process's): a batch's sends leave in a few
# large produce requests, not one request per record.
PRODUCER_LINGER_MS = 5
PRODUCER_BATCH_BYTES = 1024 * 1024
MAX_JOINED_RECORD_BYTES = 512 * 1024  # well under the topics' MAX_RECORD_BYTES; see joined_groups
# What a reader of joined records fetches ahead a partition, and the most a batch of them holds
# (:mod:`~trailhound.streams.topic_batches`): bytes, not records, bound the link-keys and cluster stages'
# batches. A feed at a steady rate makes many small records, and a batch of 16 of them was a second and a
# half of links; every batch rewrites each cluster it touches (up to 1,000 posts and 2,000 links), so
# the cluster stage spent 4.7 s a batch and fell further behind. A batch is now what arrived meanwhile.
JOINED_FETCH_BYTES = 4 * MAX_JOINED_RECORD_BYTES
JOINED_BATCH_BYTES = 8 * MAX_JOINED_RECORD_BYTES


async def held_batches(stream: faust.Stream, size: int, within_s: float,
                       timer: StageTimer | None = None) -> AsyncIterator[list[EventT]]:
    """Batches of up to ``size`` events (or what arrived within ``within_s``), acked only when finished.

    The caller processes a batch and asks for the next one; only then are its offsets released. If the
    caller raises or is cancelled instead, the batch's offsets stay uncommitted. A ``timer`` is told of
    every finished batch (:mod:`~trailhound.streams.stage_timing`).
    """
    async for events in stream.take_events(size, within_s):
        batch = list(events)
        taken_at = time.time()
        for event in batch:
            event.message.incref()  # our hold: take_events' own ack in its finally is then not the last one
        yield batch
        if timer is not None:
            timer.finished(batch, taken_at)
        for event in batch:
            event.message.decref()  # done: take_events' ack, which follows, is now the final one


def is_retriable_send_error(exc: BaseException) -> bool:
    """Whether a failed send may succeed later: timeouts, lost connections, moving leaders."""
    if isinstance(exc, KafkaError):
        return bool(getattr(exc, "retriable", False)) or type(exc).__name__ in {
            "KafkaTimeoutError", "KafkaConnectionError", "RequestTimedOutError", "NodeNotReadyError",
            "ProducerClosed"}  # closed: the worker is stopping; the batch stays unacked and is read again
    return isinstance(exc, asyncio.TimeoutError | ConnectionError)


class Destination(Protocol):
    """Where a record goes: a Faust topic, or :class:`PlainTopic` where there is no Faust app (either has
    ``app.producer.send``)."""

    app: Any

    def get_topic_name(self) -> str: ...


class PlainTopic:
    """A topic produced to by a bare aiokafka producer, shaped as :class:`Deliveries` uses a Faust topic
    (``topic.app.producer.send``), for a process that runs no Faust app (:mod:`~trailhound.streams.linkage_process`)."""

    def __init__(self, producer: AIOKafkaProducer, name: str) -> None:
        self.app = self  # Deliveries sends through ``topic.app.producer``
        self.producer = self
        self._producer = producer
        self._name = name

    def get_topic_name(self) -> str:
        return self._name

    async def send(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None,
                   timestamp: float | None, headers: Any) -> Awaitable[Any]:
        return await self._producer.send(topic, value=value, key=key, partition=partition,
                                         timestamp_ms=None if timestamp is None else int(timestamp * 1000),
                                         headers=headers)


@dataclass
class Outgoing:
    """One record to produce."""

    topic: Destination
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] | None = None
    partition: int | None = None  # None: the topic's partitioner picks it from the key


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def default_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` among ``partitions`` (murmur2, as the Java
    client and aiokafka do): records joined by partition land where each would have gone alone.

    The hash is Kafka's murmur2, written here with whole 32-bit words (``struct``) because aiokafka's
    byte-by-byte one cost the enrich stage 10-30 µs a post; a test holds both to the same partitions.
    """
    length = len(key)
    words = length // 4
    h = 0x9747B28C ^ length
    for k in struct.unpack_from(f"<{words}I", key):
        k = (k * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = key[4 * words:]
    if tail:
        h ^= int.from_bytes(tail, "little")
        h = (h * _M) & _MASK
    h = ((h ^ (h >> 13)) * _M) & _MASK
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def joined_groups(records: list[Outgoing], max_bytes: int = MAX_JOINED_RECORD_BYTES
                  ) -> list[tuple[Outgoing, list[Outgoing]]]:
    """JSON records joined into one record per partition (or a few, each at most ``max_bytes`` unless a
    single record is larger), keeping their order: ``{"batch": [record, …]}``, each with the records it
    joins. A joined record takes the key of its first record; the partition is the records' own, so
    every record must name one."""
    parts: dict[int | None, list[list[Outgoing]]] = {}
    sizes: dict[int | None, int] = defaultdict(int)  # of each partition's last chunk
    for record in records:
        chunks = parts.setdefault(record.partition, [[]])
        if chunks[-1] and sizes[record.partition] + len(record.value) > max_bytes:
            chunks.append([])
            sizes[record.partition] = 0
        chunks[-1].append(record)
        sizes[record.partition] += len(record.value) + 1
    return [(Outgoing(chunk[0].topic, chunk[0].key, b'{"batch":[' + b",".join(r.value for r in chunk) + b"]}",
                      partition=partition), chunk)
            for partition, chunks in parts.items() for chunk in chunks]


def joined_records(records: list[Outgoing], max_bytes: int = MAX_JOINED_RECORD_BYTES) -> list[Outgoing]:
    """The joined records of :func:`joined_groups`, without the records each one joins."""
    return [joined for joined, _ in joined_groups(records, max_bytes)]


def joined_items(raw: bytes) -> list[Any]:
    """The JSON objects in a record: the batch of a joined record in order, or the record itself.

    Raises ``ValueError`` (``orjson.JSONDecodeError``) if the record is not JSON.
    """
    data = orjson.loads(raw)
    return list(data.get("batch", (data,))) if isinstance(data, dict) else [data]


@dataclass
class _Round:
    retry: list[Outgoing] = field(default_factory=list)
    failed: list[tuple[Outgoing, str]] = field(default_factory=list)


class _RetriableSendError(RuntimeError):
    """Some records of a batch were not delivered yet for a reason that may pass."""


class Deliveries:
    """Produce many records at once and wait for Kafka to acknowledge every one of them."""

    def __init__(self, first_wait_s: float = 0.2, max_wait_s: float = 10.0,
                 retriable: Callable[[BaseException], bool] = is_retriable_send_error) -> None:
        self.first_wait_s = first_wait_s
        self.max_wait_s = max_wait_s
        self.retriable = retriable

    async def deliver(self, records: list[Outgoing]) -> list[tuple[Outgoing, str]]:
        """Send ``records``; return those that can never be delivered, each with the reason.

        Retriable failures are sent again (only the records that failed) until Kafka takes them.
        """
        pending = list(records)
        failed: list[tuple[Outgoing, str]] = []
        async for attempt in wait_out("Kafka delivery", lambda e: isinstance(e, _RetriableSendError),
                                      self.first_wait_s, self.max_wait_s):
            with attempt:
                outcome = await self._send(pending)
                failed.extend(outcome.failed)
                pending = outcome.retry
                if pending:
                    raise _RetriableSendError(f"{len(pending)} records not delivered yet")
        return failed

    async def deliver_joined(self, records: list[Outgoing]) -> list[tuple[Outgoing, str]]:
        """Send ``records`` joined by partition (:func:`joined_groups`); return those never delivered.

        The records of a joined record Kafka refuses for good (larger than the topic takes) are sent again
        one at a time, each waited for: the producer would otherwise gather them into one batch, and a
        topic's size limit holds for the batch. So only a record at fault comes back, with the reason.
        """
        groups = joined_groups(records)
        members = {id(joined): chunk for joined, chunk in groups}
        alone: list[Outgoing] = []
        failed: list[tuple[Outgoing, str]] = []
        for joined, why in await self.deliver([joined for joined, _ in groups]):
            chunk = members[id(joined)]
            if len(chunk) > 1:
                alone.extend(chunk)
            else:
                failed.append((chunk[0], why))
        for record in alone:
            failed.extend(await self.deliver([record]))
        return failed

    async def _send(self, records: list[Outgoing]) -> _Round:
        outcome = _Round()
        futures: list[Awaitable[object]] = []
        for record in records:
            try:
                topic = record.topic
                futures.append(await topic.app.producer.send(topic.get_topic_name(), record.key, record.value,
                                                             record.partition, None, record.headers))
            except Exception as exc:  # refused before it was queued (e.g. too large, producer stopping)
                futures.append(_failed(exc))
        results = await asyncio.gather(*futures, return_exceptions=True)
        for record, result in zip(records, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                if self.retriable(result):
                    outcome.retry.append(record)
                else:
                    outcome.failed.append((record, f"Kafka refused the record: {result!r}"))
        return outcome


async def _failed(exc: BaseException) -> object:
    raise exc
