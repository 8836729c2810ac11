"""Drift monitor: quiet on a stationary stream, an event naming the model on a real shift."""

from __future__ import annotations

import random

from trailhound.detectors.online.drift import DriftMonitor


def _errors(rng: random.Random, n: int, rate: float) -> list[float]:
    return [1.0 if rng.random() < rate else 0.0 for _ in range(n)]


def test_no_event_on_a_stationary_stream() -> None:
    monitor = DriftMonitor()
    rng = random.Random(1)
    events = [monitor.update("text_model.error", v) for v in _errors(rng, 4000, 0.1)]
    assert [e for e in events if e is not None] == []


def test_event_when_the_error_rate_jumps() -> None:
    monitor = DriftMonitor()
    rng = random.Random(2)
    stream = _errors(rng, 1500, 0.1) + _errors(rng, 1500, 0.5)
    events = [(i, e) for i, v in enumerate(stream) if (e := monitor.update("text_model.error", v)) is not None]
    assert events, "a jump from 10% to 50% errors must be detected"
    first_at, first = events[0]
    assert 1500 <= first_at < 1800
    assert (first.model, first.stream) == ("text_model", "error")
    assert first.mean_after > first.mean_before
    assert "text_model error rose" in first.detail


def test_streams_are_watched_separately() -> None:
    monitor = DriftMonitor()
    rng = random.Random(3)
    for v in _errors(rng, 1500, 0.1):
        monitor.update("text_model.score", v)
    shifted = [monitor.update("entity_anomaly.score", v) for v in _errors(rng, 200, 0.9)]
    assert [e for e in shifted if e is not None] == []
    assert set(monitor.streams()) == {"text_model.score", "entity_anomaly.score"}


def test_a_significant_but_negligible_change_is_not_reported() -> None:
    monitor = DriftMonitor(min_change=0.05)
    rng = random.Random(6)
    stream = [rng.gauss(0.30, 0.05) for _ in range(3000)] + [rng.gauss(0.28, 0.05) for _ in range(3000)]
    assert [e for v in stream if (e := monitor.update("text_model.score", v)) is not None] == []
