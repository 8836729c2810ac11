"""Per-stage timings: every finished batch reports its records' time since arrival and its own work."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from tests.unit.test_batching import _Stream
from trailhound.streams.batching import held_batches
from trailhound.streams.metrics import PipelineMetrics
from trailhound.streams.stage_timing import StageTimer


def _sample(metrics: PipelineMetrics, name: str, stage: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"stage": stage})


def test_a_finished_batch_reports_each_record_since_its_arrival_and_the_batch_s_work():
    metrics = PipelineMetrics()
    timer = StageTimer(metrics, "detect")
    now = time.time()
    batch = [SimpleNamespace(message=SimpleNamespace(timestamp=now - age)) for age in (3.0, 1.0, 0.004)]
    timer.finished(batch, taken_at=now - 0.5)  # type: ignore[arg-type]
    assert _sample(metrics, "trailhound_stage_latency_seconds_count", "detect") == 3
    assert _sample(metrics, "trailhound_stage_latency_seconds_sum", "detect") == pytest.approx(4.004, abs=0.05)
    assert _sample(metrics, "trailhound_stage_latency_seconds_bucket", "detect") is None  # buckets carry "le"
    assert metrics.registry.get_sample_value("trailhound_stage_latency_seconds_bucket",
                                             {"stage": "detect", "le": "0.01"}) == 1
    assert metrics.registry.get_sample_value("trailhound_stage_latency_seconds_bucket",
                                             {"stage": "detect", "le": "2.0"}) == 2
    assert _sample(metrics, "trailhound_stage_batch_seconds_count", "detect") == 1
    assert _sample(metrics, "trailhound_stage_batch_seconds_sum", "detect") == pytest.approx(0.5, abs=0.05)
    assert _sample(metrics, "trailhound_stage_batch_seconds_count", "enrich") is None


def test_only_batches_that_were_finished_are_timed():
    metrics = PipelineMetrics()
    stream = _Stream(batches=3)

    async def consume() -> None:
        n = 0
        async for _batch in held_batches(stream, 3, 0.1, StageTimer(metrics, "record_alerts")):  # type: ignore[arg-type]
            if n == 1:
                raise RuntimeError("Elasticsearch said no")
            n += 1

    with pytest.raises(RuntimeError):
        asyncio.run(consume())
    assert _sample(metrics, "trailhound_stage_batch_seconds_count", "record_alerts") == 1
    assert _sample(metrics, "trailhound_stage_latency_seconds_count", "record_alerts") == 0, \
        "the stand-in's records carry no timestamp (0.0): nothing to time"
