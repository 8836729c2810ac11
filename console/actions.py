"""The one place the console calls the alert lifecycle (acknowledge, escalate, dismiss, resolve).

The lifecycle (status transitions, escalation to partners, the audit log) belongs to
``trailhound.alerts.lifecycle``; the console never decides a transition itself. Everything the console
needs from it goes through :func:`lifecycle_actions`, so pointing the console at another implementation
is a change of one line there.

Until ``trailhound.alerts.lifecycle`` is available, :class:`StatusOnlyActions` stands in: it moves the
alert's status along the same transitions and writes the same audit records, but escalates to nobody.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from elasticsearch import AsyncElasticsearch, NotFoundError

from trailhound.clock import Clock
from trailhound.config import Settings
from trailhound.timefmt import iso

__all__ = ["AlertLifecycle", "InvalidTransition", "KafkaSender", "StatusOnlyActions", "lifecycle_actions"]

KafkaSender = Callable[[str, bytes, bytes], Awaitable[None]]
"""Sends one record: (logical topic, key, value)."""


class InvalidTransition(ValueError):
    """The alert's current status does not allow this action (e.g. acknowledging a dismissed alert)."""


class AlertLifecycle(Protocol):
    """What the console asks of the alert lifecycle; each call returns the updated alert document."""

    async def acknowledge(self, alert_id: str, by: str, note: str = "") -> dict[str, Any]: ...
    async def escalate(self, alert_id: str, by: str, note: str = "",
                       partners: list[str] | None = None) -> dict[str, Any]: ...
    async def dismiss(self, alert_id: str, by: str, reason: str, label: str = "benign") -> dict[str, Any]: ...
    async def resolve(self, alert_id: str, by: str, note: str = "") -> dict[str, Any]: ...


def lifecycle_actions(settings: Settings, es: AsyncElasticsearch, sender: KafkaSender,
                      clock: Clock) -> AlertLifecycle:
    """The lifecycle implementation the console uses."""
    return StatusOnlyActions(settings, es, sender, clock)


# status -> statuses an action may move it to
ALLOWED: dict[str, set[str]] = {
    "new": {"acknowledged", "escalated", "dismissed", "resolved"},
    "acknowledged": {"escalated", "dismissed", "resolved"},
    "escalated": {"resolved"},
    "dismissed": set(),
    "resolved": set(),
}


class StatusOnlyActions:
    """Stand-in lifecycle: moves the status and audits, escalates to nobody (see the module docstring)."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, sender: KafkaSender, clock: Clock) -> None:
        self.settings = settings
        self.es = es
        self.sender = sender
        self.clock = clock

    async def acknowledge(self, alert_id: str, by: str, note: str = "") -> dict[str, Any]:
        return await self._move(alert_id, "acknowledged", by, note)

    async def escalate(self, alert_id: str, by: str, note: str = "",
                       partners: list[str] | None = None) -> dict[str, Any]:
        return await self._move(alert_id, "escalated", by, note, {"partners": partners or []})

    async def dismiss(self, alert_id: str, by: str, reason: str, label: str = "benign") -> dict[str, Any]:
        return await self._move(alert_id, "dismissed", by, reason, {"label": label})

    async def resolve(self, alert_id: str, by: str, note: str = "") -> dict[str, Any]:
        return await self._move(alert_id, "resolved", by, note)

    async def _move(self, alert_id: str, status: str, by: str, note: str,
                    detail: dict[str, Any] | None = None) -> dict[str, Any]:
        index = self.settings.index("alerts")
        try:
            hit = (await self.es.search(index=index, query={"term": {"event.id": alert_id}}, size=1,
                                        seq_no_primary_term=True))["hits"]["hits"]
        except NotFoundError:
            hit = []
        if not hit:
            raise KeyError(alert_id)
        alert = hit[0]["_source"]
        current = alert["trailhound"].get("status", "new")
        if status not in ALLOWED.get(current, set()):
            raise InvalidTransition(f"a {current} alert cannot become {status}")
        alert["trailhound"]["status"] = status
        await self.es.update(index=hit[0]["_index"], id=hit[0]["_id"], doc={"trailhound": {"status": status}},
                             if_seq_no=hit[0]["_seq_no"], if_primary_term=hit[0]["_primary_term"], refresh="wait_for")
        await self.es.index(index=self.settings.index("audit"), refresh="wait_for", document={
            "@timestamp": iso(self.clock()), "alert_id": alert_id, "action": status, "by": by, "note": note,
            "from_status": current, "to_status": status, **(detail or {})})
        return alert
