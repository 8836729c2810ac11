"""One open alert per cluster or contact: the group an alert belongs to and how it absorbs new posts.

Twenty posts of one trafficking ring must reach the operations center as one alert that grows (more
posts, the highest score), not as twenty near-identical ones. The group key is the cluster when the
alert carries one (``trailhound.cluster_id``, set by the linkage detectors), else the contact
(``entity.key``) within a fixed window of the posts' own dates, so replays group the same way on any
worker. An alert about no contact (``post:…`` keys) or about model health is its own group.

A closed group (resolved or dismissed) never swallows new activity: the next post opens the group's
next *generation*, a new alert with its own id. Everything here is pure; :func:`merge_into_group`
returns the new document and a named reason, and the indexing stage does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from trailhound.alerts.transitions import CLOSED
from trailhound.ids import stable_id
from trailhound.timefmt import parse_rfc3339

__all__ = ["GroupReason", "Grouped", "MAX_INDICATORS", "group_doc_id", "group_key", "merge_into_group"]

MAX_INDICATORS = 50  # evidence kept on one grouped alert; the posts index holds the rest


class GroupReason(StrEnum):
    """Why grouping wrote (or did not write) the group alert."""

    NEW = "new group"
    MORE_POSTS = "new posts added"
    HIGHER_SCORE = "higher score"
    ALREADY_RECORDED = "already recorded"
    CLOSED = "group closed; next generation"


@dataclass(frozen=True)
class Grouped:
    """The outcome of merging one alert into its group."""

    reason: GroupReason
    document: dict[str, Any] | None  # what to write; None when nothing changes

    @property
    def changed(self) -> bool:
        return self.document is not None

    @property
    def raised(self) -> bool:
        """Whether partners' routing should be (re)considered: a new alert or a stronger one."""
        return self.reason in (GroupReason.NEW, GroupReason.HIGHER_SCORE)


def cluster_of(alert: dict[str, Any]) -> str | None:
    details = alert.get("trailhound") or {}
    return details.get("cluster_id") or (details.get("entity") or {}).get("cluster_id") or None


def group_key(alert: dict[str, Any], window_s: float) -> str | None:
    """``cluster:ID``, ``contact:KEY:WINDOW`` or None when the alert stands alone."""
    cluster = cluster_of(alert)
    if cluster:
        return f"cluster:{cluster}"
    details = alert.get("trailhound") or {}
    if (alert.get("rule") or {}).get("category") == "model_health":
        return None
    contact = (details.get("entity") or {}).get("key")
    if not contact or contact.startswith("post:") or not details.get("posted_at"):
        return None
    window = int(parse_rfc3339(details["posted_at"]) // window_s)
    return f"contact:{contact}:{window}"


def group_doc_id(key: str, generation: int) -> str:
    """The alert id of a group's generation (deterministic: every worker and every replay agree)."""
    return stable_id("trailhound.group", key, str(generation))


def _indicator_key(indicator: dict[str, Any]) -> tuple[str, str]:
    return indicator.get("pattern_id", ""), indicator.get("evidence", "")


def _new_group(alert: dict[str, Any], key: str, generation: int) -> dict[str, Any]:
    document = _copied(alert)
    document["event"]["id"] = group_doc_id(key, generation)
    details = document["trailhound"]
    details["group"] = {"key": key, "generation": generation, "alert_ids": [alert["event"]["id"]],
                        "first_seen": alert.get("@timestamp"), "last_seen": alert.get("@timestamp")}
    details["status"] = details.get("status") or "new"
    return document


def _copied(document: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON document; orjson's round trip is about ten times faster than ``copy.deepcopy``,
    which the alert stage paid on every alert it grouped."""
    copied: dict[str, Any] = orjson.loads(orjson.dumps(document))
    return copied


def merge_into_group(existing: dict[str, Any] | None, alert: dict[str, Any], key: str,
                     generation: int) -> Grouped:
    """Merge ``alert`` into the group's ``generation`` whose stored document is ``existing``."""
    if existing is None:
        return Grouped(GroupReason.NEW, _new_group(alert, key, generation))
    held = existing["trailhound"]
    incoming = alert["trailhound"]
    new_posts = [p for p in incoming.get("post_ids", []) if p not in held.get("post_ids", [])]
    higher = float(incoming.get("score", 0.0)) > float(held.get("score", 0.0))
    if not new_posts and not higher:
        return Grouped(GroupReason.ALREADY_RECORDED, None)
    if held.get("status") in CLOSED:
        return Grouped(GroupReason.CLOSED, None)
    document = _copied(existing)
    details = document["trailhound"]
    details["post_ids"] = [*held.get("post_ids", []), *new_posts]
    group = details["group"]
    if alert["event"]["id"] not in group["alert_ids"]:
        group["alert_ids"].append(alert["event"]["id"])
    group["last_seen"] = max(filter(None, (group.get("last_seen"), alert.get("@timestamp"))), default=None)
    details["categories"] = list(dict.fromkeys([*held.get("categories", []), *incoming.get("categories", [])]))
    document["tags"] = list(dict.fromkeys([*existing.get("tags", []), *alert.get("tags", [])]))
    seen = {_indicator_key(i) for i in held.get("indicators", [])}
    extra = [i for i in incoming.get("indicators", []) if _indicator_key(i) not in seen]
    details["indicators"] = [*held.get("indicators", []), *extra][:MAX_INDICATORS]
    if higher:
        for name in ("score", "severity", "detectors", "explanations", "versions"):
            if name in incoming:
                details[name] = incoming[name]
        for name in ("severity", "risk_score"):
            document["event"][name] = alert["event"][name]
        document["rule"] = {**document.get("rule", {}), **alert.get("rule", {})}
    headline = (alert if higher else existing)["message"].split(" [")[0]
    document["message"] = f"{headline} [{len(details['post_ids'])} posts]"
    return Grouped(GroupReason.HIGHER_SCORE if higher else GroupReason.MORE_POSTS, document)
