"""Moving an alert through its lifecycle: the one API behind the CLI and the console.

``acknowledge``, ``escalate``, ``dismiss`` and ``resolve`` check the move with
:func:`alerts.transitions.decide_transition`, write the new state with Elasticsearch optimistic
concurrency (two analysts acting at once: one wins, the other's move is decided again on the fresh
document), append who/when/why to the alert's ``trailhound.lifecycle`` history and to the audit log,
and tell the rest of the system: an escalation puts deliveries on the outbox, a dismissal is a verdict
on the ``feedback`` topic (signed like every verdict, so the models learn from it), and resolving or
dismissing an alert partners hold sends them an update.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from elasticsearch import AsyncElasticsearch, ConflictError, NotFoundError

from trailhound.alerts.audit import AuditLog
from trailhound.alerts.deliveries import outbox_record
from trailhound.alerts.partners import Routing, load_routing
from trailhound.alerts.routing import Route, route
from trailhound.alerts.silences import Silence
from trailhound.alerts.transitions import InvalidTransition, decide_transition
from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.schemas import parse_verdict
from trailhound.signing import feedback_key, signed_verdict
from trailhound.timefmt import iso

__all__ = ["AlertActions", "AlertNotFound", "InvalidTransition", "KafkaSender", "send_outbox"]

MAX_CONFLICT_RETRIES = 10
UPDATE_KINDS = {"resolve": "resolved", "dismiss": "withdrawn"}


class AlertNotFound(LookupError):
    """No alert has this id."""


class KafkaSender(Protocol):
    """What the actions need of a Kafka producer (an ``aiokafka.AIOKafkaProducer`` is one)."""

    async def send_and_wait(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                            partition: int | None = None, timestamp_ms: int | None = None,
                            headers: list[tuple[str, bytes]] | None = None) -> Any: ...


async def send_outbox(sender: KafkaSender, settings: Settings, record: dict[str, Any]) -> None:
    """Put one delivery request on the durable outbox (``escalations``), confirmed by Kafka."""
    await sender.send_and_wait(settings.topic("escalations"), key=record["delivery_id"].encode("ascii"),
                               value=json.dumps(record, ensure_ascii=False).encode("utf-8"))


class AlertActions:
    """Lifecycle moves on alerts, each returning the updated alert document."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, sender: KafkaSender, clock: Clock = system_clock,
                 routing: Routing | None = None) -> None:
        self.settings = settings
        self.es = es
        self.sender = sender
        self.clock = clock
        self.routing = routing if routing is not None else load_routing(settings)
        self.audit = AuditLog(settings, es, clock)
        self.index = settings.index("alerts")

    async def get(self, alert_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The alert document and its concurrency token (``if_seq_no``/``if_primary_term``/``index``)."""
        try:
            found = await self.es.get(index=self.index, id=alert_id)
        except NotFoundError:
            raise AlertNotFound(f"no alert {alert_id} in {self.index}") from None
        return found["_source"], {"if_seq_no": found["_seq_no"], "if_primary_term": found["_primary_term"],
                                  "index": found["_index"]}

    async def _move(self, alert_id: str, action: str, by: str, note: str,
                    extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
        if not by.strip():
            raise InvalidTransition(f"cannot {action}: say who does it (--by)")
        for _ in range(MAX_CONFLICT_RETRIES):
            alert, token = await self.get(alert_id)
            details = alert["trailhound"]
            move = decide_transition(details.get("status", "new"), action)
            entry = {"action": action, "by": by, "at": iso(self.clock()), "from": move.old, "to": move.new,
                     "note": note, **(extra or {})}
            details["status"] = move.new
            details["lifecycle"] = [*details.get("lifecycle", []), entry]
            try:
                await self.es.index(id=alert_id, document=alert, refresh="wait_for", **token)
            except ConflictError:
                continue  # someone else moved it meanwhile: decide again on the fresh document
            await self.audit.record(action, by, alert_id, detail=note, extra={"from": move.old, "to": move.new})
            return alert, move.old
        raise InvalidTransition(f"cannot {action}: the alert keeps changing; try again")

    async def acknowledge(self, alert_id: str, by: str, note: str = "") -> dict[str, Any]:
        alert, _ = await self._move(alert_id, "acknowledge", by, note)
        return alert

    async def escalate(self, alert_id: str, by: str, note: str = "",
                       partners: list[str] | None = None) -> dict[str, Any]:
        """Send the alert to ``partners`` (default: every partner the routing rules name for it)."""
        alert, _ = await self.get(alert_id)
        decide_transition(alert["trailhound"].get("status", "new"), "escalate")  # refuse before sending anything
        routes = self._routes_for(alert, partners)
        now = self.clock()
        for r in routes:
            await send_outbox(self.sender, self.settings, outbox_record(
                alert, r.partner, "alert", rule=r.rule, tier=r.tier, by=by, reason=r.reason, now=now))
        names = [r.partner for r in routes]
        alert, _ = await self._move(alert_id, "escalate", by, note, {"partners": names})
        return alert

    def _routes_for(self, alert: dict[str, Any], partners: list[str] | None) -> list[Route]:
        if partners:
            unknown = [p for p in partners if p not in self.routing.partners]
            if unknown:
                known = ", ".join(self.routing.partners) or "none configured"
                raise InvalidTransition(f"cannot escalate: unknown partner(s) {', '.join(unknown)} (known: {known})")
            return [Route(None, p, 0, "sent on request") for p in partners]
        routes = route(alert, self.routing, automatic_only=False)
        if not routes:
            raise InvalidTransition("cannot escalate: no routing rule names a partner for this alert; name partners")
        return routes

    async def resolve(self, alert_id: str, by: str, note: str = "") -> dict[str, Any]:
        alert, _ = await self._move(alert_id, "resolve", by, note)
        await self._update_partners(alert, "resolve", by)
        return alert

    async def dismiss(self, alert_id: str, by: str, reason: str, label: str = "benign") -> dict[str, Any]:
        """Close as a false alarm; the dismissal reaches the models as a verdict with ``label``."""
        if not reason.strip():
            raise InvalidTransition("cannot dismiss: give a reason")
        verdict = parse_verdict(json.dumps({"alert_id": alert_id, "label": label, "analyst": by,
                                            "at": iso(self.clock()), "note": reason}))
        alert, _ = await self._move(alert_id, "dismiss", by, reason, {"label": label})
        key, value, headers = signed_verdict(feedback_key(self.settings), verdict)
        await self.sender.send_and_wait(self.settings.topic("feedback"), key=key, value=value, headers=headers)
        await self._update_partners(alert, "dismiss", by)
        return alert

    async def _update_partners(self, alert: dict[str, Any], action: str, by: str) -> None:
        """Partners holding (or about to receive) this alert hear that it was resolved or withdrawn."""
        try:
            await self.es.indices.refresh(index=self.settings.index("escalations"))
            found = await self.es.search(index=self.settings.index("escalations"), size=500, query={"bool": {
                "filter": [{"term": {"alert_id": alert["event"]["id"]}}, {"term": {"kind": "alert"}},
                           {"terms": {"state": ["pending", "delivered", "acknowledged"]}}]}})
        except NotFoundError:
            return
        kind = UPDATE_KINDS[action]
        for hit in found["hits"]["hits"]:
            held = hit["_source"]
            await send_outbox(self.sender, self.settings, outbox_record(
                alert, held["partner"], kind, rule=held.get("rule"), tier=held.get("tier", 0), by=by,
                reason=f"alert {kind}", now=self.clock()))

    async def silence(self, kind: str, value: str, by: str, reason: str, until: float) -> dict[str, Any]:
        """Mute a contact, pattern or cluster until ``until`` (epoch seconds); returns the silence."""
        try:
            silence = Silence(kind, value, by, reason, until, self.clock())
        except ValueError as exc:
            raise InvalidTransition(f"cannot silence: {exc}") from None
        document = silence.to_json()
        await self.es.index(index=self.settings.index("silences"), id=silence.id, document=document,
                            refresh="wait_for")
        await self.audit.record("silence", by, None, detail=f"{kind} {value} until {iso(until)}: {reason}")
        return document
