"""Alert documents for networks and watchlist matches, and the evidence record of each alerted post.

A **cluster alert** is one document per entity cluster: its ``event.id`` is derived from the cluster id,
so as the cluster grows the same alert is updated in place (an upsert that never touches
``trailhound.status``, which the alert lifecycle owns), listing every post in ``trailhound.post_ids``,
the explained links, and the route of cities with first and last seen. ``trailhound.cluster_id`` is
the field alert grouping keys on. A **watchlist alert** is raised for a post matching a partner's
watched contact or image, with the partner's case reference and who may see it.

An **evidence record** keeps what was posted when the post first entered an alert: the post as
accepted (canonical JSON), its SHA-256 and the capture time, written create-only so the first capture
is never overwritten; :func:`verify_evidence` re-computes the digest later.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

from trailhound.alerts.document import alert_id
from trailhound.alerts.scoring import severity_for
from trailhound.detectors.linkage.clusters import Cluster
from trailhound.detectors.linkage.networks import ClusterAssessment
from trailhound.detectors.linkage.watchlist import WatchMatch
from trailhound.ids import stable_id
from trailhound.timefmt import iso

__all__ = [
    "MERGE_ACTION", "NETWORK_RULE", "WATCHLIST_RULE", "build_cluster_alert", "build_merge_notice",
    "build_watchlist_alert", "canonical_post", "cluster_alert_id", "evidence_document", "evidence_id",
    "is_merge_notice", "is_upserted", "upsert_parts", "verify_evidence",
]

NETWORK_RULE = {"id": "trailhound.network", "name": "Network of linked posts (circuit, template, shared image)",
                "category": "network"}
WATCHLIST_RULE = {"id": "trailhound.watchlist", "name": "Post matches a partner's watchlist", "category": "watchlist"}
MAX_LISTED_LINKS = 200
MERGE_ACTION = "cluster-merged"
LIFECYCLE_FIELDS = ("status",)
"""Fields under ``trailhound`` that the alert lifecycle owns: set on creation, never by an update."""


def cluster_alert_id(cluster_id: str) -> str:
    return alert_id(NETWORK_RULE["id"], cluster_id)


def _route(assessment: ClusterAssessment) -> list[dict[str, Any]]:
    return [{"city": s.city, "first_seen": iso(s.first_seen), "last_seen": iso(s.last_seen), "posts": s.posts}
            for s in assessment.route]


def build_cluster_alert(cluster: Cluster, assessment: ClusterAssessment, now: float,
                        labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The alert for a whole cluster, current as of ``now``; the same ``event.id`` for the cluster's life."""
    members = sorted(cluster.members.values(), key=lambda m: m.order)
    severity, number = severity_for(assessment.score)
    cities = [s.city for s in assessment.route]
    kinds = " + ".join(k.replace("_", " ") for k in assessment.kinds) or "linked posts"
    route = f" ({' → '.join(cities)})" if cities else ""
    content = "; ".join(assessment.content)
    message = (f"Network of {_counted(len(members), 'post')} in {_counted(len(cities), 'city', 'cities')}{route} "
               f"under {_counted(len(assessment.contacts), 'contact')}: {kinds}" + (f"; {content}" if content else ""))
    if cluster.links_refused:
        message += (f"; at its size limit: {_counted(cluster.links_refused, 'link')} to further posts not followed "
                    "(these may be a common template rather than one network)")
    reasons = cluster.reason_counts()
    words = labels or {}
    phones = sorted({c.split(":", 1)[1] for c in assessment.contacts if c.startswith("phone:")})
    emails = sorted({c.split(":", 1)[1] for c in assessment.contacts if c.startswith("email:")})
    handles = sorted({c.split(":", 1)[1] for c in assessment.contacts if c.startswith("handle:")})
    return {
        "@timestamp": iso(now),
        "message": message,
        "event": {"kind": "alert", "id": cluster_alert_id(cluster.cluster_id), "severity": number,
                  "risk_score": round(assessment.score * 100, 1), "created": iso(now), "category": ["threat"]},
        "rule": {**NETWORK_RULE, "version": "linkage-1"},
        "tags": ["trailhound", "network", *assessment.kinds],
        "trailhound": {
            "cluster_id": cluster.cluster_id,
            "post_ids": [m.post_key for m in members],
            "score": assessment.score,
            "severity": severity,
            "categories": list(assessment.categories),
            "indicators": [{"pattern_id": f"network:{f.kind}", "category": "network", "evidence": f.evidence,
                            "span": [0, 0], "description": words.get(f.kind, f.kind.replace("_", " "))}
                           for f in assessment.findings],
            "detectors": {"linkage": assessment.score},
            "explanations": {f.kind: f.evidence for f in assessment.findings} | (
                {"content": content} if content else {}),
            "entity": {"key": assessment.contacts[0] if assessment.contacts else "", "phones": phones,
                       "emails": emails, "handles": handles, "cluster_id": cluster.cluster_id},
            "cluster": {
                "id": cluster.cluster_id,
                "post_count": len(members),
                "cities": cities,
                "city_count": len(cities),
                "route": _route(assessment),
                "contacts": list(assessment.contacts),
                "contact_count": len(assessment.contacts),
                "personas": assessment.personas,
                "networks": list(assessment.kinds),
                "findings": [f.to_json() for f in assessment.findings],
                "content": list(assessment.content),
                "link_reasons": sorted(reasons),
                "link_counts": dict(reasons),
                "links": [e.to_json() for e in cluster.edges[:MAX_LISTED_LINKS]],
                "links_total": max(cluster.links_total, len(cluster.edges)),
                "links_refused": cluster.links_refused,
                "hub_keys": [{"key": k, "note": v} for k, v in sorted(cluster.hubs.items())],
                "merged_from": list(cluster.merged_from),
                "first_seen": iso(members[0].ts) if members else None,
                "last_seen": iso(members[-1].ts) if members else None,
                "posts_per_day": round(len(members) / max(1.0, (members[-1].ts - members[0].ts) / 86_400), 2)
                if members else 0.0,
            },
            "status": "new",
        },
    }


def _counted(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def build_watchlist_alert(enriched: dict[str, Any], matches: list[WatchMatch], now: float) -> dict[str, Any]:
    """The alert for a post matching watched values; one per post, listing every match."""
    post = enriched["post"]
    key = enriched["post_key"]
    first = matches[0]
    cases = sorted({m.entry.case_ref for m in matches})
    entities = enriched.get("entities") or {}
    what = f"{first.entry.kind} {first.entry.value}" if first.entry.kind != "image" else "a watched image"
    more = f" and {len(matches) - 1} more" if len(matches) > 1 else ""
    return {
        "@timestamp": iso(now),
        "message": f"Post {key} matches a partner's watchlist: {what}{more} (case {', '.join(cases)})",
        "event": {"kind": "alert", "id": alert_id(WATCHLIST_RULE["id"], key), "severity": 3, "risk_score": 80.0,
                  "created": iso(now), "ingested": iso(enriched["ingested_ts"]), "category": ["threat"]},
        "rule": {**WATCHLIST_RULE, "version": "watchlist-1"},
        "tags": ["trailhound", "watchlist"],
        "trailhound": {
            "post_ids": [key],
            "score": 0.8,
            "severity": "high",
            "categories": ["watchlist"],
            "indicators": [{"pattern_id": f"watchlist:{m.entry.kind}", "category": "watchlist",
                            "evidence": m.found, "span": [0, 0], "description": f"case {m.entry.case_ref}"}
                           for m in matches],
            "detectors": {"watchlist": 1.0},
            "explanations": {"watchlist": "; ".join(
                f"{m.entry.kind} {m.found} is on {m.entry.partner}'s watchlist (case {m.entry.case_ref}"
                + (f", {m.distance} bits apart" if m.distance else "") + ")" for m in matches)},
            "entity": {"key": enriched.get("entity_key"), "phones": list(entities.get("phones", [])),
                       "emails": list(entities.get("emails", [])), "handles": list(entities.get("handles", [])),
                       "cluster_id": None},
            "watchlist": [m.to_json() for m in matches],
            "visible_to": sorted({v for m in matches for v in m.entry.visible_to}),
            "location": post.get("location") or {},
            "source": post["source"],
            "posted_at": post["posted_at"],
            "status": "new",
        },
    }


def build_merge_notice(cluster_id: str, into: str, now: float) -> dict[str, Any]:
    """The notice that ``cluster_id``'s alert was merged into ``into``'s (see the module docstring)."""
    return {"@timestamp": iso(now),
            "event": {"kind": "alert", "id": cluster_alert_id(cluster_id), "action": MERGE_ACTION},
            "rule": {**NETWORK_RULE, "version": "linkage-1"},
            "trailhound": {"cluster_id": cluster_id, "cluster": {"merged_into": into}}}


def is_merge_notice(alert: dict[str, Any]) -> bool:
    return alert.get("event", {}).get("action") == MERGE_ACTION


def is_upserted(alert: dict[str, Any]) -> bool:
    """Whether an alert is updated in place as it grows (cluster alerts) rather than written once."""
    return alert.get("rule", {}).get("category") == NETWORK_RULE["category"]


def upsert_parts(alert: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(doc, upsert)`` for an Elasticsearch update: the update leaves lifecycle fields alone."""
    doc = orjson.loads(orjson.dumps(alert, option=orjson.OPT_NON_STR_KEYS))  # a deep copy, JSON as it is sent
    for name in LIFECYCLE_FIELDS:
        doc["trailhound"].pop(name, None)
    doc["event"].pop("created", None)  # when the alert was first raised stays what it was
    return doc, alert


def canonical_post(post: dict[str, Any]) -> bytes:
    """The post as accepted, in one canonical byte form (sorted keys, UTF-8) for hashing and keeping."""
    return json.dumps(post, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def evidence_id(post_key: str) -> str:
    return stable_id("trailhound.evidence", post_key)


def evidence_document(post_key: str, post: dict[str, Any], alert_id_: str, captured_at: float) -> dict[str, Any]:
    """The evidence record of one post: its bytes as accepted, their SHA-256 and when they were captured."""
    original = canonical_post(post)
    return {
        "@timestamp": iso(captured_at),
        "post_key": post_key,
        "alert_id": alert_id_,
        "captured_at": iso(captured_at),
        "sha256": hashlib.sha256(original).hexdigest(),
        "original": original.decode("utf-8"),
        "url": post.get("url"),
        "bytes": len(original),
    }


def verify_evidence(record: dict[str, Any]) -> bool:
    """Whether the kept bytes still hash to the digest taken at capture."""
    original = str(record.get("original", "")).encode("utf-8")
    return hashlib.sha256(original).hexdigest() == record.get("sha256")
