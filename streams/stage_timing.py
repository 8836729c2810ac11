"""Per-stage timings of the stream: where a post's seconds go between ``posts.raw`` and its alert.

Why it exists (issue 13): the end-to-end latency histogram says *that* alerts are late, not *which*
stage holds them. Every batched stage (enrich, detect, link_keys, build_clusters, record_alerts) reports
two Prometheus histograms when it finishes a batch:

- ``trailhound_stage_latency_seconds{stage}``: for every record of the batch, the time from its Kafka
  timestamp (when the stage before wrote it, or when the post was ingested) to now, when the stage's own
  outputs are acknowledged. It covers the wait for the batch to form, the queue behind earlier batches
  and the batch's work; summed along a path (enrich → detect → record_alerts for a content alert; enrich
  → detect → link_keys → build_clusters → record_alerts for a network alert) it is the alert's latency.
- ``trailhound_stage_batch_seconds{stage}``: the batch's own work, from taking it to finishing it.

A stage whose latency is far above its batch time is waiting (for its input, a batch window or earlier
batches); one whose batch time is high is working or waiting for Elasticsearch and Kafka. Record
timestamps are the producers' clocks: across machines, clock skew adds to the first figure.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from faust.types import EventT

from trailhound.streams.metrics import PipelineMetrics

__all__ = ["BatchTimer", "StageTimer"]


class BatchTimer(Protocol):
    """What a stage's reader tells of each finished batch (:class:`StageTimer`, or a relay to the worker)."""

    def finished_stamps(self, stamps: Sequence[float], taken_at: float) -> None: ...


class StageTimer:
    """Observes a stage's finished batches into the worker's per-stage histograms."""

    def __init__(self, metrics: PipelineMetrics, stage: str) -> None:
        self._latency = metrics.stage_latency.labels(stage=stage)
        self._batch = metrics.stage_batch.labels(stage=stage)

    def finished(self, batch: Sequence[EventT], taken_at: float) -> None:
        """``batch`` is done (its outputs acknowledged); it was taken at ``taken_at`` (``time.time()``)."""
        self.finished_stamps([event.message.timestamp for event in batch], taken_at)

    def finished_stamps(self, stamps: Sequence[float], taken_at: float, now: float | None = None) -> None:
        """A batch of records with these Kafka timestamps (epoch seconds; 0 for none) is done (at ``now``)."""
        now = time.time() if now is None else now
        self._batch.observe(now - taken_at)
        observe = self._latency.observe
        for stamp in stamps:
            if stamp:
                observe(max(0.0, now - stamp))
