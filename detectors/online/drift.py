"""Drift detection on the models' score and error streams, so operations hear when models go stale.

Why it exists: if the mix of posts changes (a new site, a new writing style) or the models start to
disagree with the analysts, nobody notices from individual alerts. One ADWIN detector per stream
(river's :class:`~river.drift.ADWIN`: an adaptive window that reports when the mean of recent values
differs significantly from the older ones, with a false-alarm bound ``delta``) watches e.g. the text
model's scores and its errors against verdicts. A detected change becomes a :class:`DriftEvent`, which
the stream worker turns into an operational alert (category ``model_health``). ADWIN was chosen over
Page-Hinkley because it needs no magnitude threshold per stream and catches shifts in both directions.

Over thousands of values ADWIN also finds changes that are significant but too small to matter (a
mean score moving from 0.285 to 0.278 on a stationary synthetic feed); an operations alert for those
would be noise, so a change is reported only when the mean moved by at least ``min_change``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from river import drift

from trailhound.detectors.online.state_checks import check_float, check_int, check_list

__all__ = ["DriftEvent", "DriftMonitor"]


@dataclass(frozen=True, slots=True)
class DriftEvent:
    """A detected change in one model's stream (``score`` or ``error``)."""

    model: str
    stream: str
    detail: str
    mean_before: float
    mean_after: float
    observations: int


def _split(name: str) -> tuple[str, str]:
    model, _, stream = name.rpartition(".")
    return (model, stream) if model else (name, "value")


class DriftMonitor:
    """One ADWIN per named stream; names are ``"<model>.<stream>"``, e.g. ``"text_model.error"``."""

    def __init__(self, delta: float = 0.002, grace_period: int = 100, min_change: float = 0.05,
                 history: int = 1000, max_streams: int = 32) -> None:
        self.delta = delta
        self.grace_period = grace_period
        self.min_change = min_change
        self.history = history
        self.max_streams = max_streams
        self._detectors: dict[str, drift.ADWIN] = {}
        self._counts: dict[str, int] = {}
        self._recent: dict[str, deque[float]] = {}
        """The last ``history`` values per stream: a checkpoint stores these, a restore replays them."""

    def state(self) -> dict[str, Any]:
        """Plain data for a checkpoint: per stream its count and most recent values."""
        return {name: {"count": self._counts[name], "recent": list(self._recent[name])} for name in self._detectors}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Rebuild each stream's detector by replaying its stored values (no events are raised)."""
        if not isinstance(state, Mapping) or len(state) > self.max_streams:
            raise ValueError(f"drift state must map at most {self.max_streams} stream names")
        for name, stream in state.items():
            for value in check_list(stream["recent"], self.history):
                self.update(str(name), check_float(value, 0.0, 1.0))
            self._counts[str(name)] = check_int(stream["count"], 0)

    def update(self, name: str, value: float) -> DriftEvent | None:
        """Feed one value; return an event when this value completes a detected change."""
        detector = self._detectors.get(name)
        if detector is None:
            if len(self._detectors) >= self.max_streams:
                raise ValueError(f"more than {self.max_streams} drift streams; {name!r} is not watched")
            detector = self._detectors[name] = drift.ADWIN(delta=self.delta, grace_period=self.grace_period)
        self._counts[name] = self._counts.get(name, 0) + 1
        recent = self._recent.get(name)
        if recent is None:
            recent = self._recent[name] = deque(maxlen=self.history)
        recent.append(float(value))
        before = detector.estimation
        detector.update(float(value))
        if not detector.drift_detected:
            return None
        after = detector.estimation
        if abs(after - before) < self.min_change:
            return None
        model, stream = _split(name)
        direction = "rose" if after > before else "fell"
        detail = (
            f"{model} {stream} {direction} from a mean of {before:.3f} to {after:.3f} "
            f"(ADWIN, delta={self.delta}, after {self._counts[name]} observations)"
        )
        return DriftEvent(model, stream, detail, before, after, self._counts[name])

    def streams(self) -> dict[str, dict[str, float]]:
        """Current mean and window length per stream, for dashboards."""
        return {
            name: {"mean": d.estimation, "window": float(d.width), "detections": float(d.n_detections)}
            for name, d in sorted(self._detectors.items())
        }
