"""The one place the console calls the alert lifecycle (acknowledge, escalate, dismiss, resolve).

The lifecycle (status transitions, escalation to partners, the audit log) belongs to
``trailhound.alerts.lifecycle``; the console never decides a transition itself. Everything the console
needs from it goes through :func:`lifecycle_actions`, so pointing the console at another implementation
is a change of one line there. Every verdict the lifecycle produces leaves signed with the signed-in
analyst's own key (:class:`ConsoleSender`).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from elasticsearch import AsyncElasticsearch

from trailhound.alerts.lifecycle import AlertActions, InvalidTransition
from trailhound.clock import Clock
from trailhound.config import Settings
from trailhound.signing import analyst_signature, feedback_key

__all__ = ["AlertLifecycle", "ConsoleSender", "InvalidTransition", "lifecycle_actions"]


class KafkaProducer(Protocol):
    async def send_and_wait(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                            partition: int | None = None, timestamp_ms: int | None = None,
                            headers: list[tuple[str, bytes]] | None = None) -> Any: ...


class ConsoleSender:
    """The Kafka producer the lifecycle writes through: every verdict leaves signed as its analyst's own.

    The console passes the signed-in analyst as ``by`` to every lifecycle call, so a verdict the
    lifecycle produces (a dismissal) names that analyst; this sender replaces its signature with one
    made with that analyst's key (:func:`trailhound.signing.analyst_signature`). Other records pass as they are.
    """

    def __init__(self, settings: Settings, producer: KafkaProducer) -> None:
        self.feedback_topic = settings.topic("feedback")
        self.key = feedback_key(settings)
        self.producer = producer

    async def send_and_wait(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                            partition: int | None = None, timestamp_ms: int | None = None,
                            headers: list[tuple[str, bytes]] | None = None) -> Any:
        if topic == self.feedback_topic and value is not None:
            headers = analyst_signature(self.key, value, json.loads(value)["analyst"])
        return await self.producer.send_and_wait(topic, value=value, key=key, partition=partition,
                                                 timestamp_ms=timestamp_ms, headers=headers)


class AlertLifecycle(Protocol):
    """What the console asks of the alert lifecycle; each call returns the updated alert document."""

    async def acknowledge(self, alert_id: str, by: str, note: str = "") -> dict[str, Any]: ...
    async def escalate(self, alert_id: str, by: str, note: str = "",
                       partners: list[str] | None = None) -> dict[str, Any]: ...
    async def dismiss(self, alert_id: str, by: str, reason: str, label: str = "benign") -> dict[str, Any]: ...
    async def resolve(self, alert_id: str, by: str, note: str = "") -> dict[str, Any]: ...


def lifecycle_actions(settings: Settings, es: AsyncElasticsearch, sender: ConsoleSender,
                      clock: Clock) -> AlertLifecycle:
    """The lifecycle implementation the console uses: the same one the ``trailhound alert`` commands use."""
    return AlertActions(settings, es, sender, clock)
