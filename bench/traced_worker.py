"""A ``trailhound worker`` that also writes when each alert was recorded in Elasticsearch (for ``latency.py``).

Why it exists: the latency bench measures post produced → alert *indexed*. The ``alerts`` topic's record
timestamps say when an alert was published for the alert stage, not when that stage recorded it (its
batch window, grouping, related-alert search and bulk write come after), and the alert documents keep
only their latest state (grouped and network alerts are updated in place). This wrapper is the real
worker with one addition: after the alert stage finished a batch (its writes acknowledged), it appends
one JSON line ``{"at": time, "alerts": [[event id, [post ids]], …], "steps": {…}}`` to the file named by
the first argument; ``steps`` are the calls and seconds so far of the alert and cluster stages' main
steps (Elasticsearch reads, writes, refreshes). Nothing else changes; the cost is one buffered write per
batch.

Run: ``python bench/traced_worker.py TRACE_FILE worker --loglevel warning`` (the rest as for ``trailhound``).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import orjson

from trailhound.alerts.recorder import AlertRecorder
from trailhound.streams.alert_stage import AlertStage
from trailhound.streams.cluster_cache import ClusterCache
from trailhound.streams.linkage import Linkage

STEPS: dict[str, list[float]] = {}  # "Class.method" → [calls, seconds]
TIMED = {AlertRecorder: ["_record_singles", "_record_networks", "_related_candidates", "_fetch", "_write", "_link",
                         "_round"],
         Linkage: ["build_clusters", "_load", "_mget", "_save", "_capture_new_evidence", "_capture"]}


def _timed(cls: type, name: str) -> None:
    method = getattr(cls, name)

    async def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            step = STEPS.setdefault(f"{cls.__name__}.{name}", [0, 0.0])
            step[0] += 1
            step[1] += time.perf_counter() - t0

    setattr(cls, name, timed)


def _counted(cls: type, name: str, label: str) -> None:
    """Count the calls of a plain method (``label``), and how many of them returned something."""
    method = getattr(cls, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        value = method(*args, **kwargs)
        step = STEPS.setdefault(label, [0, 0.0])
        step[0] += 1
        step[1] += value is not None  # the "seconds" column holds the hits
        return value

    setattr(cls, name, counted)


def _traced(handle: Any, path: str) -> Any:
    out = open(path, "ab", buffering=1 << 16)  # noqa: SIM115 (open for the worker's life)

    async def handle_and_trace(self: AlertStage, batch: list[bytes]) -> None:
        await handle(self, batch)
        alerts = []
        for raw in batch:
            try:
                alert = orjson.loads(raw)
                alerts.append([alert["event"]["id"], alert.get("trailhound", {}).get("post_ids", [])])
            except (ValueError, KeyError, TypeError):
                continue
        out.write(orjson.dumps({"at": time.time(), "alerts": alerts, "steps": STEPS}) + b"\n")
        out.flush()

    return handle_and_trace


if __name__ == "__main__":
    trace_path = sys.argv.pop(1)
    AlertStage.handle = _traced(AlertStage.handle, trace_path)  # type: ignore[method-assign]
    for cls, names in TIMED.items():
        for name in names:
            if hasattr(cls, name):  # a step renamed since is left out of the table, not a crash
                _timed(cls, name)
    _counted(ClusterCache, "get", "ClusterCache.get (calls, hits)")
    _counted(ClusterCache, "clear", "ClusterCache.clear")
    from trailhound.cli import main

    main()
