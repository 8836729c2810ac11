"""The worker's lag metric survives a rebalance that takes a partition away while it is being read."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError

from trailhound.streams.metrics import partition_lags

KEPT, MOVED_BEFORE, MOVED_DURING, EMPTY = (TopicPartition("posts.raw", n) for n in range(4))


class RebalancingConsumer:
    """Answers like aiokafka's consumer: partitions moved away raise, as they do there."""

    def highwater(self, tp: TopicPartition) -> int | None:
        assert tp != MOVED_BEFORE, "Partition is not assigned"
        return None if tp == EMPTY else 100

    async def position(self, tp: TopicPartition) -> int:
        if tp == MOVED_DURING:
            raise IllegalStateError("No current assignment for partition")
        return 40


def test_partitions_moved_away_are_skipped_and_the_rest_reported() -> None:
    lags = asyncio.run(partition_lags(RebalancingConsumer(), [MOVED_BEFORE, KEPT, MOVED_DURING, EMPTY]))
    assert lags == {KEPT: 60}
