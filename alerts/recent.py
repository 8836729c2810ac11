"""The alerts one recorder wrote in the last seconds: what a search of the alerts index may not show yet.

Why it exists (issue 13): the alert stage looks for related alerts (:mod:`alerts.related`) with a search,
and a search sees a document only after the index's next refresh (about a second). The stage used to
force a refresh before every such search; on a busy node that cost 0.6 s a call, two calls a batch, and
was most of an alert's latency. Instead, the recorder remembers what it wrote itself for a while longer
than a refresh takes, and the search's hits are completed with these documents; the refresh is kept
only where a partner could be told twice (:meth:`AlertRecorder._related_candidates`).

A remembered document is the recorder's own latest write of it, cut down to the fields the related-alert
decision reads (:data:`KEPT`). The status, which an analyst owns, is taken from the index when the search
returns the document too, since only the lifecycle changes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["KEEP_S", "KEPT", "RecentAlerts"]

KEEP_S = 10.0  # well past the index's 1 s refresh interval, also when a busy node refreshes late
KEPT = ("post_ids", "entity", "cluster", "status", "escalated_to", "related_alerts", "network_alert_id")
"""The ``trailhound`` fields kept: what :mod:`alerts.related` and the recorder's back-links read."""


def _slim(document: dict[str, Any]) -> dict[str, Any]:
    details = document.get("trailhound") or {}
    kept = {name: details[name] for name in KEPT if name in details}
    for name in ("post_ids", "escalated_to", "related_alerts"):  # lists the caller may go on changing
        if isinstance(kept.get(name), list):
            kept[name] = list(kept[name])
    cluster = kept.get("cluster")
    if isinstance(cluster, dict):
        kept["cluster"] = {"contacts": list(cluster.get("contacts") or [])}
    return {"event": {"id": document["event"]["id"]}, "rule": dict(document.get("rule") or {}), "trailhound": kept}


class RecentAlerts:
    """Alert documents by id, each forgotten ``keep_s`` seconds after it was last written."""

    def __init__(self, keep_s: float = KEEP_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.keep_s = keep_s
        self.clock = clock
        self._docs: dict[str, tuple[float, dict[str, Any]]] = {}

    def remember(self, document: dict[str, Any]) -> None:
        """``document`` was just written (the fields of :data:`KEPT` are copied)."""
        self._docs.pop(document["event"]["id"], None)  # re-inserted last: the dict stays in write order
        self._docs[document["event"]["id"]] = (self.clock(), _slim(document))

    def update(self, alert_id: str, details: dict[str, Any]) -> None:
        """A partial update of ``trailhound`` fields was written to ``alert_id`` (applied if it is remembered)."""
        held = self._docs.get(alert_id)
        if held is None:
            return
        kept = held[1]["trailhound"]
        for name, value in details.items():
            if name in KEPT:  # an object is merged into, as Elasticsearch does with a partial document
                kept[name] = {**kept[name], **value} if isinstance(value, dict) and isinstance(kept.get(name), dict) \
                    else value

    def documents(self) -> list[dict[str, Any]]:
        """The documents written within the last ``keep_s`` seconds, oldest first."""
        horizon = self.clock() - self.keep_s
        while self._docs:
            alert_id, (at, _) = next(iter(self._docs.items()))
            if at >= horizon:
                break
            del self._docs[alert_id]
        return [doc for _, doc in self._docs.values()]

    def with_index(self, hits: list[dict[str, Any]], wanted: Callable[[dict[str, Any]], bool]
                   ) -> list[dict[str, Any]]:
        """The search's ``hits`` completed and overridden by the remembered documents that are ``wanted``
        (the status stays the index's)."""
        found = {hit["event"]["id"]: hit for hit in hits}
        for doc in filter(wanted, self.documents()):
            alert_id = doc["event"]["id"]
            indexed = found.get(alert_id)
            if indexed is not None and "status" in (indexed.get("trailhound") or {}):
                doc = {**doc, "trailhound": {**doc["trailhound"], "status": indexed["trailhound"]["status"]}}
            found[alert_id] = doc
        return list(found.values())
