"""The one place the console calls the alert lifecycle (acknowledge, escalate, dismiss, resolve).

The lifecycle (status transitions, escalation to partners, the audit log) belongs to
``trailhound.alerts.lifecycle``; the console never decides a transition itself. Everything the console
needs from it goes through :func:`lifecycle_actions`, so pointing the console at another implementation
is a change of one line there.

Until ``trailhound.alerts.lifecycle`` is available, :class:`StatusOnlyActions` stands in: it moves the
alert's status along the same transitions and writes the same audit records, but escalates to nobody.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Protocol

from elasticsearch import AsyncElasticsearch, NotFoundError

from trailhound.clock import Clock
from trailhound.config import Settings
from trailhound.signing import analyst_signature, feedback_key
from trailhound.timefmt import iso

__all__ = ["AlertLifecycle", "ConsoleSender", "InvalidTransition", "StatusOnlyActions", "lifecycle_actions"]


class InvalidTransition(ValueError):
    """The alert's current status does not allow this action (e.g. acknowledging a dismissed alert)."""


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
    """The lifecycle implementation the console uses."""
    return StatusOnlyActions(settings, es, sender, clock)


# action -> (statuses it may start from, status it leads to)
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({"new"}), "acknowledged"),
    "escalate": (frozenset({"new", "acknowledged", "escalated"}), "escalated"),
    "resolve": (frozenset({"acknowledged", "escalated"}), "resolved"),
    "dismiss": (frozenset({"new", "acknowledged", "escalated"}), "dismissed"),
}


class StatusOnlyActions:
    """Stand-in lifecycle: moves the status, audits, sends a dismissal's verdict, escalates to nobody."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, sender: ConsoleSender, clock: Clock) -> None:
        self.settings = settings
        self.es = es
        self.sender = sender
        self.clock = clock

    async def acknowledge(self, alert_id: str, by: str, note: str = "") -> dict[str, Any]:
        return await self._move(alert_id, "acknowledge", by, note)

    async def escalate(self, alert_id: str, by: str, note: str = "",
                       partners: list[str] | None = None) -> dict[str, Any]:
        return await self._move(alert_id, "escalate", by, note)

    async def dismiss(self, alert_id: str, by: str, reason: str, label: str = "benign") -> dict[str, Any]:
        if not reason.strip():
            raise InvalidTransition("cannot dismiss: give a reason")
        alert = await self._move(alert_id, "dismiss", by, reason)
        verdict = {"alert_id": alert_id, "label": label, "analyst": by, "at": iso(self.clock()), "note": reason,
                   "verdict_id": uuid.uuid4().hex}
        await self.sender.send_and_wait(self.settings.topic("feedback"), key=alert_id.encode("utf-8"),
                                        value=json.dumps(verdict, sort_keys=True).encode("utf-8"))
        return alert

    async def resolve(self, alert_id: str, by: str, note: str = "") -> dict[str, Any]:
        return await self._move(alert_id, "resolve", by, note)

    async def _move(self, alert_id: str, action: str, by: str, note: str) -> dict[str, Any]:
        try:
            found = await self.es.get(index=self.settings.index("alerts"), id=alert_id)
        except NotFoundError:
            raise LookupError(alert_id) from None
        alert = found["_source"]
        current = alert["trailhound"].get("status", "new")
        allowed_from, status = MOVES[action]
        if current not in allowed_from:
            raise InvalidTransition(f"cannot {action}: the alert is {current}")
        alert["trailhound"]["status"] = status
        await self.es.index(index=found["_index"], id=alert_id, document=alert, refresh="wait_for",
                            if_seq_no=found["_seq_no"], if_primary_term=found["_primary_term"])
        await self.es.index(index=self.settings.index("audit"), refresh="wait_for", document={
            "@timestamp": iso(self.clock()), "action": action, "actor": by, "alert_id": alert_id, "detail": note,
            "from": current, "to": status})
        return alert
