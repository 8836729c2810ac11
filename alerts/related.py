"""A cluster's network alert and the grouped alert about the same posts: related, and told to a partner once.

Linkage raises one network alert per cluster (:mod:`alerts.linkage_alerts`); grouping keeps one alert per
contact (:mod:`alerts.grouping`). When a ring's posts are one contact's posts, both alerts are about the
same people, and a partner must not receive the case twice. The two documents stay, since they answer
different questions (the posts and their evidence; the network, its route and links). But each names
the other: ``trailhound.related_alerts`` on the network alert, ``trailhound.network_alert_id`` on the
grouped alert. A partner that one of them was already escalated to is not sent the other.

Two alerts are related when they share a post, or when the grouped alert's contact is one of the
cluster's contacts, and both are open. Everything here is pure; the recorder asks Elasticsearch with
:func:`related_query` and decides with :class:`RelatedIndex` and :func:`partners_told`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trailhound.alerts.linkage_alerts import is_upserted
from trailhound.alerts.transitions import CLOSED

__all__ = ["MAX_TERMS", "RelatedIndex", "mentioned", "partners_told", "related_query", "shares_any"]

MAX_TERMS = 1000  # posts and contacts asked about in one query


def _posts(alert: dict[str, Any]) -> set[str]:
    return set((alert.get("trailhound") or {}).get("post_ids") or [])


def _contacts(alert: dict[str, Any]) -> set[str]:
    details = alert.get("trailhound") or {}
    if is_upserted(alert):
        return set((details.get("cluster") or {}).get("contacts") or [])
    key = (details.get("entity") or {}).get("key")
    return {key} if key and not key.startswith("post:") else set()


def mentioned(alerts: Iterable[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The posts and contacts ``alerts`` are about (what :func:`related_query` asks for)."""
    posts: set[str] = set()
    contacts: set[str] = set()
    for alert in alerts:
        posts |= _posts(alert)
        contacts |= _contacts(alert)
    return posts, contacts


def shares_any(alert: dict[str, Any], posts: set[str], contacts: set[str]) -> bool:
    """Whether ``alert`` is about one of ``posts`` or ``contacts`` (a cheap pre-check before
    :meth:`RelatedIndex.related_to`)."""
    return not (_posts(alert).isdisjoint(posts) and _contacts(alert).isdisjoint(contacts))


def related_query(alerts: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """An Elasticsearch query for open alerts of the other kind that may be related to any of ``alerts``
    (network alerts for grouped ones, grouped ones for network alerts); None when there is nothing to ask."""
    alerts = list(alerts)
    if not alerts:
        return None
    posts = sorted({p for a in alerts for p in _posts(a)})[:MAX_TERMS]
    contacts = sorted({c for a in alerts for c in _contacts(a)})[:MAX_TERMS]
    networks = [a for a in alerts if is_upserted(a)]
    should: list[dict[str, Any]] = []
    if posts:
        should.append({"terms": {"trailhound.post_ids": posts}})
    if contacts:
        should.append({"terms": {"trailhound.entity.key": contacts}})
        should.append({"terms": {"trailhound.cluster.contacts": contacts}})
    if not should:
        return None
    kinds: list[dict[str, Any]] = []
    if networks:  # grouped alerts about these networks
        kinds.append({"bool": {"must_not": {"term": {"rule.category": "network"}}}})
    if len(networks) < len(alerts):  # network alerts about these groups
        kinds.append({"term": {"rule.category": "network"}})
    return {"bool": {"filter": [{"bool": {"should": should, "minimum_should_match": 1}},
                                {"bool": {"should": kinds, "minimum_should_match": 1}}],
                     "must_not": [{"terms": {"trailhound.status": sorted(CLOSED)}}]}}


class RelatedIndex:
    """Open candidate alerts indexed by the posts and contacts they are about.

    Why it exists: finding an alert's related ones then costs the alert's own posts and contacts, not a set
    of every candidate's posts per alert. A batch of network alerts (up to 1,000 posts each) checked
    against hundreds of candidates that way was a fifth of a busy worker's time in a py-spy profile.
    """

    def __init__(self, candidates: Iterable[dict[str, Any]]) -> None:
        self.by_post: dict[str, list[dict[str, Any]]] = {}
        self.by_contact: dict[str, list[dict[str, Any]]] = {}
        for other in candidates:
            if (other.get("trailhound") or {}).get("status") in CLOSED:
                continue
            for post in _posts(other):
                self.by_post.setdefault(post, []).append(other)
            for contact in _contacts(other):
                self.by_contact.setdefault(contact, []).append(other)

    def related_to(self, alert: dict[str, Any]) -> list[dict[str, Any]]:
        """The candidates related to ``alert``: the other kind, open, sharing a post or a contact."""
        network = is_upserted(alert)
        alert_id = alert["event"]["id"]
        found: dict[str, dict[str, Any]] = {}
        for index, keys in ((self.by_post, _posts(alert)), (self.by_contact, _contacts(alert))):
            for key in keys:
                for other in index.get(key, ()):
                    other_id = other["event"]["id"]
                    if other_id != alert_id and is_upserted(other) != network:
                        found[other_id] = other
        return [found[other_id] for other_id in sorted(found)]


def partners_told(related: Iterable[dict[str, Any]]) -> set[str]:
    """Partners a related alert was already escalated to: they are not sent the same case again."""
    return {p for a in related for p in (a.get("trailhound") or {}).get("escalated_to") or []}
