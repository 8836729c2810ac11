"""Per-partner lanes for the escalator, and which outbox offsets are safe to commit.

A partner that answers after ten seconds must not slow down the partner that answers at once. A
single loop that reads a batch of the outbox, writes the batch's delivery state and commits before it
reads on puts every partner's record behind every other's. So the escalator splits the outbox by
partner as it reads. Each partner gets a :class:`PartnerLane`: its own bounded queue, its own task that
writes its deliveries' state documents, and (in :mod:`streams.escalator`) its own delivery slots and
HTTP connection pool. The reading loop only sorts records into lanes.

A record's offset may be committed once its delivery state document exists: from then on a crash
loses nothing, because a restarted escalator resumes from that document. Lanes finish in any order,
so :class:`OffsetTracker` commits a partition up to its oldest record that is not finished yet. The
fast lane's records never wait for the slow lane's. A record read twice after a crash or a rebalance
finds its state document already there, and it is not sent again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["LaneItem", "OffsetTracker", "PartnerLane"]

log = logging.getLogger(__name__)

P = TypeVar("P", bound=Hashable)
MAX_BATCH = 500
RETRY_S = 1.0


@dataclass
class _Partition:
    read: deque[int] = field(default_factory=deque)
    done: set[int] = field(default_factory=set)
    committed: int | None = None  # the offset last committed (the next one to read)
    ready: int | None = None  # the offset that may be committed now


class OffsetTracker(Generic[P]):
    """Offsets read from each partition, which of them are finished, and how far a commit may go.

    Offsets must be read in increasing order per partition (as Kafka hands them out), but may finish
    in any order. :meth:`committable` gives, per partition, the offset after the longest run of
    finished records from the oldest one read. A record that is not finished holds back its own
    partition only, and only the records read after it.
    """

    def __init__(self) -> None:
        self._partitions: dict[P, _Partition] = {}

    def read(self, partition: P, offset: int) -> None:
        self._partitions.setdefault(partition, _Partition()).read.append(offset)

    def done(self, partition: P, offset: int) -> None:
        """Mark a record finished; a partition forgotten meanwhile (revoked) is ignored."""
        state = self._partitions.get(partition)
        if state is None:
            return
        state.done.add(offset)
        while state.read and state.read[0] in state.done:
            finished = state.read.popleft()
            state.done.discard(finished)
            state.ready = finished + 1

    def committable(self) -> dict[P, int]:
        """Partitions whose commit point moved since the last :meth:`committed`, with the offset to commit."""
        return {p: s.ready for p, s in self._partitions.items()
                if s.ready is not None and s.ready != s.committed}

    def committed(self, offsets: dict[P, int]) -> None:
        for partition, offset in offsets.items():
            if partition in self._partitions:
                self._partitions[partition].committed = offset

    def forget(self, partitions: list[P]) -> None:
        """Partitions taken away by a rebalance: whoever reads them next starts from the last commit."""
        for partition in partitions:
            self._partitions.pop(partition, None)

    def unfinished(self) -> int:
        return sum(len(s.read) for s in self._partitions.values())


@dataclass(frozen=True)
class LaneItem:
    """One outbox record on its way into a lane: where it came from and what the lane is to record."""

    partition: Any
    offset: int
    payload: Any


Accept = Callable[[list[Any]], Awaitable[None]]


class PartnerLane:
    """One partner's queue of outbox records and the task that records their delivery state.

    The queue is bounded: it holds records only until their state documents are written, so it fills
    only when Elasticsearch falls behind, and then the reading loop waits instead of filling memory.
    ``accept`` writes a batch of the lane's state documents and starts their deliveries; the records
    are then marked finished for the commit. A failed write is tried again (the documents that did get
    written are found by the sweeper; nothing is sent twice).

    While one batch is being written, the records arriving meanwhile wait in the queue and go in the
    next. A partner whose writes may wait (:meth:`streams.escalator.Escalator.linger_s`) thus writes few
    large batches, and a partner answering at once writes as soon as its records arrive.
    """

    def __init__(self, partner: str, accept: Accept, offsets: OffsetTracker[Any], max_queued: int) -> None:
        self.partner = partner
        self.accept = accept
        self.offsets = offsets
        self.queue: asyncio.Queue[LaneItem] = asyncio.Queue(maxsize=max_queued)
        self.task: asyncio.Future[None] = asyncio.ensure_future(self._run())

    async def put(self, item: LaneItem) -> None:
        await self.queue.put(item)

    async def _run(self) -> None:
        while True:
            items = [await self.queue.get()]
            while len(items) < MAX_BATCH and not self.queue.empty():
                items.append(self.queue.get_nowait())
            while True:
                try:
                    await self.accept([i.payload for i in items])
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("recording %d deliveries to %s failed; trying again", len(items), self.partner)
                    await asyncio.sleep(RETRY_S)
            for item in items:
                self.offsets.done(item.partition, item.offset)

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
