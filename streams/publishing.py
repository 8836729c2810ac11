"""Alerts and dead letters put on Kafka and waited for, the same way in the worker and its linkage process.

Why it exists: both processes publish alerts (the worker its content alerts, the linkage process its network
alerts) and must lose none: a record Kafka refuses for good goes to the dead-letter topic with the reason,
and one that cannot go there either is logged. One implementation keeps the two from drifting apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson

from trailhound.clock import Clock, system_clock
from trailhound.streams.batching import Deliveries, Destination, Outgoing
from trailhound.topics import dead_letter_headers

__all__ = ["Publisher", "Reject"]

log = logging.getLogger(__name__)

Reject = tuple[bytes, str, str, str]
"""A record to dead-letter: its bytes, why, the stage that refused it, and where it came from."""


class Publisher:
    """Sends alerts to ``alerts`` and rejected records to the dead-letter topic, waiting until Kafka has them."""

    def __init__(self, alerts: Destination, dead_letters: Destination, deliveries: Deliveries | None = None,
                 on_rejected: Callable[[str], None] | None = None, clock: Clock = system_clock) -> None:
        self.alerts = alerts
        self.dead_letters = dead_letters
        self.deliveries = deliveries or Deliveries()
        self.on_rejected = on_rejected  # told each rejected record's stage (the worker counts them)
        self.clock = clock

    async def dead_letter_all(self, rejects: list[Reject]) -> None:
        """Dead-letter records with their reasons."""
        if not rejects:
            return
        if self.on_rejected is not None:
            for _, _, stage, _ in rejects:
                self.on_rejected(stage)
        lost = await self.deliveries.deliver([
            Outgoing(self.dead_letters, origin.encode(), raw, dead_letter_headers(reason, stage, origin, self.clock))
            for raw, reason, stage, origin in rejects])
        for record, why in lost:  # only a record larger than the dead-letter topic takes gets here
            log.error("could not dead-letter %s: %s", record.key.decode(errors="replace"), why)

    async def publish_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Put alerts on ``alerts`` for the alert stage (one wave of sends); one refused goes to dead letters."""
        lost = await self.deliveries.deliver([
            Outgoing(self.alerts, alert["event"]["id"].encode("ascii"), orjson.dumps(alert)) for alert in alerts])
        await self.dead_letter_all([(record.value, why, "publish-alerts", record.key.decode()) for record, why in lost])
