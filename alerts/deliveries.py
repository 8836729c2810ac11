"""Deliveries to partners: the outbox record, its id, and the decisions about its state (pure).

A delivery is one message (``alert`` | ``resolved`` | ``withdrawn``) about one alert to one partner.
Its id is derived from those three, so a restart, a replay of the outbox or two analysts pressing
"escalate" at once all name the same delivery, which is sent once and recorded once. The outbox
record carries the alert as it was when routed; the partner's data policy is applied only when it is
sent. State lives in ``trailhound-escalations`` (see :mod:`streams.escalator`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from trailhound.ids import stable_id
from trailhound.timefmt import iso

__all__ = ["KINDS", "STATES", "TierDecision", "delivery_id", "is_retryable_status", "outbox_record",
           "tier_decision"]

KINDS = ("alert", "resolved", "withdrawn")
STATES = ("pending", "delivered", "acknowledged", "parked")
"""pending: not yet sent (or being retried); delivered: the partner took it; acknowledged: it confirmed
taking the alert on; parked: retries exhausted or refused for good (on the dead-letter topic)."""


def delivery_id(alert_id: str, partner: str, kind: str) -> str:
    return stable_id("delivery", alert_id, partner, kind)


def outbox_record(alert: dict[str, Any], partner: str, kind: str, *, rule: str | None, tier: int, by: str,
                  reason: str, now: float) -> dict[str, Any]:
    """The outbox message asking for one delivery."""
    if kind not in KINDS:
        raise ValueError(f"unknown delivery kind {kind!r}")
    alert_id = alert["event"]["id"]
    return {"delivery_id": delivery_id(alert_id, partner, kind), "alert_id": alert_id, "partner": partner,
            "kind": kind, "rule": rule, "tier": tier, "requested_by": by, "reason": reason,
            "requested_at": iso(now), "alert": alert}


def is_retryable_status(status: int) -> bool:
    """Whether an HTTP answer may change by trying again (overload, outage), or is final (bad request)."""
    return status in (408, 425, 429) or status >= 500


@dataclass(frozen=True)
class TierDecision:
    escalate: bool
    reason: str


def tier_decision(tier_deliveries: Iterable[dict[str, Any]], now: float) -> TierDecision:
    """Whether the next tier must be told, from the deliveries of one alert's tier (state documents)."""
    deliveries = list(tier_deliveries)
    if not deliveries:
        return TierDecision(False, "nothing was sent in this tier")
    if any(d.get("state") == "acknowledged" for d in deliveries):
        return TierDecision(False, "acknowledged")
    if any(d.get("next_tier_sent") for d in deliveries):
        return TierDecision(False, "next tier already told")
    deadlines = [d["ack_deadline"] for d in deliveries if d.get("state") == "delivered" and d.get("ack_deadline")]
    parked = all(d.get("state") == "parked" for d in deliveries)
    if parked:
        return TierDecision(True, "no partner of this tier could be reached")
    if deadlines and now >= max(deadlines):
        return TierDecision(True, "no acknowledgement in time")
    return TierDecision(False, "waiting for an acknowledgement")
