"""Progressive-validation metrics per model version, bounded in the versions they keep."""

from __future__ import annotations

from trailhound.detectors.online.metrics import ProgressiveMetrics


def test_metrics_follow_the_scores_given_before_learning() -> None:
    metrics = ProgressiveMetrics(threshold=0.5)
    for y, score in [(True, 0.9), (True, 0.4), (False, 0.2), (False, 0.6), (False, 0.1)]:
        metrics.update("text_model", "warm+0", y, score)
    snap = metrics.snapshot()["text_model"]["warm+0"]
    assert snap["precision"] == 0.5  # 0.9 right, 0.6 a false alarm
    assert snap["recall"] == 0.5  # 0.4 missed
    assert 0.8 < snap["roc_auc"] < 0.9  # 5 of 6 pairs ordered correctly
    assert snap["n"] == 5 and snap["positives"] == 2


def test_versions_are_kept_apart_and_only_the_newest_few_remain() -> None:
    metrics = ProgressiveMetrics(max_versions=2)
    metrics.update("text_model", "v1", True, 0.1)
    metrics.update("text_model", "v2", True, 0.9)
    metrics.update("text_model", "v3", True, 0.9)
    snap = metrics.snapshot()["text_model"]
    assert list(snap) == ["v2", "v3"]
    assert snap["v3"]["recall"] == 1.0
