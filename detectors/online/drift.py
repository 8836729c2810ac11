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

from dataclasses import dataclass

from river import drift

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

    def __init__(self, delta: float = 0.002, grace_period: int = 100, min_change: float = 0.05) -> None:
        self.delta = delta
        self.grace_period = grace_period
        self.min_change = min_change
        self._detectors: dict[str, drift.ADWIN] = {}
        self._counts: dict[str, int] = {}

    def update(self, name: str, value: float) -> DriftEvent | None:
        """Feed one value; return an event when this value completes a detected change."""
        detector = self._detectors.get(name)
        if detector is None:
            detector = self._detectors[name] = drift.ADWIN(delta=self.delta, grace_period=self.grace_period)
        self._counts[name] = self._counts.get(name, 0) + 1
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
