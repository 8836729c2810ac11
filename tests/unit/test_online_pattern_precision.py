"""Adaptive pattern weights: noisy patterns lose weight gradually, and analysts can see why."""

from __future__ import annotations

from trailhound.detectors.online.pattern_precision import PatternPrecision


def test_a_pattern_analysts_keep_dismissing_loses_weight_step_by_step() -> None:
    precision = PatternPrecision()
    weights = [precision.weight_of("youth.fresh", 2.0)]
    for _ in range(15):
        precision.observe(["youth.fresh"], is_true_alarm=False)
        weights.append(precision.weight_of("youth.fresh", 2.0))
    assert weights[0] == 2.0
    assert all(later < earlier for earlier, later in zip(weights, weights[1:], strict=False))
    assert weights[-1] < 0.5 * weights[0]


def test_one_verdict_does_not_swing_the_weight_wildly() -> None:
    precision = PatternPrecision()
    precision.observe(["control.my_girls"], is_true_alarm=False)
    assert 0.75 * 1.5 < precision.weight_of("control.my_girls", 1.5) < 1.5


def test_true_alarms_restore_a_weight_and_untouched_patterns_keep_theirs() -> None:
    precision = PatternPrecision()
    for _ in range(5):
        precision.observe(["movement.new_in_town", "coercion.24_7"], is_true_alarm=False)
    low = precision.weight_of("coercion.24_7", 1.0)
    for _ in range(20):
        precision.observe(["coercion.24_7"], is_true_alarm=True)
    assert precision.weight_of("coercion.24_7", 1.0) > low
    assert precision.weight_of("movement.new_in_town", 1.0) == low
    assert precision.weight_of("labour.passport_held", 3.0) == 3.0


def test_statistics_show_the_posterior_per_pattern() -> None:
    precision = PatternPrecision(prior_alpha=4, prior_beta=1)
    precision.observe(["a", "a"], is_true_alarm=True)  # one post, one verdict
    precision.observe(["a", "b"], is_true_alarm=False)
    stats = precision.stats()
    assert stats["a"]["n"] == 2 and stats["a"]["alpha"] == 5 and stats["a"]["beta"] == 2
    assert abs(stats["a"]["precision"] - 5 / 7) < 1e-9
    assert stats["b"]["n"] == 1 and stats["b"]["precision"] < stats["a"]["precision"]
