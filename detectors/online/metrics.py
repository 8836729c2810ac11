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

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from river import metrics, utils

from trailhound.detectors.online.state_checks import check_bool, check_float, check_int, check_list

__all__ = ["ProgressiveMetrics"]


@dataclass(slots=True)
class _Tracker:
    window: int
    roc_auc: metrics.RollingROCAUC = field(init=False)
    precision: utils.Rolling = field(init=False)
    recall: utils.Rolling = field(init=False)
    n: int = 0
    positives: int = 0
    history: deque[tuple[bool, float]] = field(init=False)
    """The window's ``(verdict, score)`` pairs: a checkpoint stores these, a restore replays them."""

    def __post_init__(self) -> None:
        self.history = deque(maxlen=self.window)
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
        tracker.history.append((y, float(score)))

    def state(self) -> dict[str, Any]:
        """Plain data for a checkpoint: per model and version the counts and the window's pairs."""
        return {model: [[version, t.n, t.positives, [[y, s] for y, s in t.history]] for version, t in versions.items()]
                for model, versions in self._trackers.items()}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Rebuild the rolling metrics by replaying each window; ``ValueError`` if malformed."""
        if not isinstance(state, Mapping):
            raise ValueError("metrics state must map model names")
        for model, versions in state.items():
            for version, n, positives, history in check_list(versions, self.max_versions):
                for y, score in check_list(history, self.window):
                    self.update(str(model), str(version), check_bool(y), check_float(score, 0.0, 1.0))
                tracker = self._trackers[str(model)][str(version)] if history else None
                if tracker is not None:
                    tracker.n, tracker.positives = check_int(n, 0), check_int(positives, 0)

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
