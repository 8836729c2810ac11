"""The worker's Prometheus metrics, on one registry that is passed in (tests use a fresh one).

prometheus-client is the reference client; its text exposition is what Prometheus scrapes from every
worker's ``/metrics``. Latency buckets span 50 ms to 5 min, which covers a healthy pipeline (sub-second)
and a stalled one (Elasticsearch down, a rebalance) without losing resolution where it matters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["PipelineMetrics", "partition_lags"]

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
STAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)


class PipelineMetrics:
    """Counts and timings the operations center watches on the Grafana dashboard."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.posts_consumed = Counter(
            "trailhound_posts_consumed", "Posts read by a pipeline stage", ["stage"], registry=self.registry)
        self.posts_rejected = Counter(
            "trailhound_posts_rejected", "Records sent to a dead-letter topic", ["stage"], registry=self.registry)
        self.alerts_raised = Counter(
            "trailhound_alerts_raised", "Alerts newly indexed, by severity", ["severity"], registry=self.registry)
        self.alerts_duplicate = Counter(
            "trailhound_alerts_duplicate", "Alerts that already existed when indexed (replays)",
            registry=self.registry)
        self.latency = Histogram(
            "trailhound_end_to_end_latency_seconds",
            "Time from a post's arrival in Kafka to its alert being indexed in Elasticsearch",
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.stage_latency = Histogram(
            "trailhound_stage_latency_seconds",
            "Time from a record's arrival on a stage's input topic to the stage having written what it makes "
            "of it (waiting for a batch, queueing behind earlier batches, and the batch's own work)",
            ["stage"], buckets=STAGE_BUCKETS, registry=self.registry)
        self.stage_batch = Histogram(
            "trailhound_stage_batch_seconds", "Time a stage spends on one batch, from taking it to finishing it",
            ["stage"], buckets=STAGE_BUCKETS, registry=self.registry)
        self.consumer_lag = Gauge(
            "trailhound_consumer_lag", "Records not yet processed, per topic partition", ["topic", "partition"],
            registry=self.registry)
        self.verdicts = Counter(
            "trailhound_verdicts", "Analyst verdicts handled, by outcome", ["outcome"], registry=self.registry)
        self.pattern_library = Gauge(
            "trailhound_pattern_library_info", "The pattern library version in use (value 1)", ["version"],
            registry=self.registry)
        self.pattern_library_refused = Counter(
            "trailhound_pattern_library_refused", "Published pattern libraries refused as malformed",
            registry=self.registry)
        self.model_metric = Gauge(
            "trailhound_model_metric", "Progressive-validation metrics of the online models",
            ["model", "version", "metric"], registry=self.registry)


async def partition_lags(consumer: Any, assigned: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """Records not yet read per partition of ``assigned`` that the consumer still holds.

    A rebalance can take a partition away while this awaits a position; aiokafka then raises (an
    ``AssertionError`` from ``highwater``, ``IllegalStateError`` from ``position``). That partition is
    skipped: a metric must never stop the worker (it once crashed one in a two-worker test).
    """
    lags: dict[TopicPartition, int] = {}
    for tp in assigned:
        try:
            highwater = consumer.highwater(tp)
            position = await consumer.position(tp)
        except (IllegalStateError, AssertionError):
            continue
        if highwater is not None and position is not None:
            lags[tp] = max(0, highwater - position)
    return lags
