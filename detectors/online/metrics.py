"""Progressive-validation metrics per model and model version, measured against analysts' verdicts.

Why it exists: the only honest measure of an online model is how well it scored each post *before*
learning that post's verdict (progressive validation). For every verdict the caller passes the
pre-learning score; we keep rolling ROC AUC, precision and recall (at the alert threshold) over the
last ``window`` verdicts, per model and per version, so a dashboard can show whether the newest
version is doing better than the previous one. River's rolling metrics do the bookkeeping. Only the
newest ``max_versions`` versions of each model are kept, which bounds memory and the number of
Prometheus label values.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from river import metrics, utils

__all__ = ["ProgressiveMetrics"]


@dataclass(slots=True)
class _Tracker:
    window: int
    roc_auc: metrics.RollingROCAUC = field(init=False)
    precision: utils.Rolling = field(init=False)
    recall: utils.Rolling = field(init=False)
    n: int = 0
    positives: int = 0

    def __post_init__(self) -> None:
        self.roc_auc = metrics.RollingROCAUC(window_size=self.window)
        self.precision = utils.Rolling(metrics.Precision, window_size=self.window)
        self.recall = utils.Rolling(metrics.Recall, window_size=self.window)


class ProgressiveMetrics:
    """Rolling ROC AUC / precision / recall per ``(model, version)``."""

    def __init__(self, threshold: float = 0.5, window: int = 1000, max_versions: int = 5) -> None:
        self.threshold = threshold
        self.window = window
        self.max_versions = max_versions
        self._trackers: dict[str, OrderedDict[str, _Tracker]] = {}

    def update(self, model: str, version: str, y_true: bool, score: float) -> None:
        """Record one verdict against the score the model gave *before* learning it."""
        versions = self._trackers.setdefault(model, OrderedDict())
        tracker = versions.get(version)
        if tracker is None:
            tracker = versions[version] = _Tracker(self.window)
            while len(versions) > self.max_versions:
                versions.popitem(last=False)
        y = bool(y_true)
        tracker.roc_auc.update(y, float(score))
        predicted = float(score) >= self.threshold
        tracker.precision.update(y, predicted)
        tracker.recall.update(y, predicted)
        tracker.n += 1
        tracker.positives += int(y)

    def snapshot(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{model: {version: {roc_auc, precision, recall, n, positives}}}``, newest version last."""
        return {
            model: {
                version: {
                    "roc_auc": float(t.roc_auc.get()),
                    "precision": float(t.precision.get()),
                    "recall": float(t.recall.get()),
                    "n": float(t.n),
                    "positives": float(t.positives),
                }
                for version, t in versions.items()
            }
            for model, versions in sorted(self._trackers.items())
        }
