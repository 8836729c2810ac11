"""Online-learning detectors: models that learn from analysts' verdicts as they arrive.

One model per module: :mod:`.text_model` (river text classifier), :mod:`.pattern_precision` (adaptive
pattern weights), :mod:`.entity_anomaly` (per-contact behaviour), :mod:`.drift` (model health),
:mod:`.metrics` (progressive validation), all held together by :class:`.ensemble.OnlineModels`,
which is what the stream worker checkpoints and restores.
"""

from __future__ import annotations

from trailhound.detectors.online.drift import DriftEvent, DriftMonitor
from trailhound.detectors.online.ensemble import ModelStateError, OnlineModels
from trailhound.detectors.online.entity_anomaly import EntityAnomaly
from trailhound.detectors.online.labels import LABELS, is_positive
from trailhound.detectors.online.metrics import ProgressiveMetrics
from trailhound.detectors.online.pattern_precision import PatternPrecision
from trailhound.detectors.online.text_model import TextModel

__all__ = [
    "LABELS",
    "DriftEvent",
    "DriftMonitor",
    "EntityAnomaly",
    "ModelStateError",
    "OnlineModels",
    "PatternPrecision",
    "ProgressiveMetrics",
    "TextModel",
    "is_positive",
]
