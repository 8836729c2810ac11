"""How detector outputs combine into one decision."""

from __future__ import annotations

import pytest

from tests.helpers import RISKY_BODY, post
from trailhound.alerts.scoring import (
    DETECTOR_WEIGHTS,
    LEARNED_WORDS_MIN_VERDICTS,
    UnweightedDetector,
    assess,
    severity_for,
)
from trailhound.detectors.base import Detection, Indicator
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.library import BUNDLED_PATTERNS, PatternLibrary
from trailhound.streams.warm_start import enrich_raw, warm_start_synthetic


def indicator(category: str, weight: float = 0.5) -> Indicator:
    return Indicator(f"{category}.x", category, "text", (0, 4), weight)


def test_two_independent_moderate_signals_add_up_to_an_alert():
    alone = assess([Detection("patterns", 0.4, (indicator("youth"),))], threshold=0.5)
    together = assess([Detection("patterns", 0.4, (indicator("youth"),)),
                       text_model(0.75)], threshold=0.5)
    assert not alone.should_alert
    assert together.should_alert
    assert together.score > alone.score


def text_model(p: float, verdicts: int = 50, token: str = "quill") -> Detection:
    learned = Indicator(f"text_model:{token}", "learned_text", token, (0, len(token)), 0.2)
    return Detection("text_model", p, (learned,), explanation=f"tokens: {token}",
                     details={"verdicts_learned": verdicts})


def test_the_text_model_counts_only_above_chance_and_alone_only_when_confident():
    assert assess([text_model(0.5)], threshold=0.5).score == 0.0
    assert not assess([text_model(0.7)], threshold=0.5).should_alert
    assert assess([text_model(0.95)], threshold=0.5).should_alert


def test_learned_words_are_a_sign_of_harm_only_once_analysts_verdicts_taught_the_model():
    assert not assess([text_model(0.99, verdicts=0)], threshold=0.5).should_alert
    assert not assess([text_model(0.99, verdicts=LEARNED_WORDS_MIN_VERDICTS - 1)], threshold=0.5).should_alert
    assert assess([text_model(0.99, verdicts=LEARNED_WORDS_MIN_VERDICTS)], threshold=0.5).should_alert


def test_digit_words_and_entity_flags_never_open_the_gate():
    for token in ("five", "six", "five five", "call six", "oh", "0162", "cinco", "#contact_obfuscated"):
        assert not assess([text_model(0.99, token=token)], threshold=0.5).should_alert, token
    assert assess([text_model(0.99, token="fivefold")], threshold=0.5).should_alert


def test_a_model_below_chance_shows_no_evidence():
    result = assess([Detection("patterns", 0.9, (indicator("youth"),)), text_model(0.1)], threshold=0.5)
    assert [i.category for i in result.indicators] == ["youth"]
    assert "text_model" not in result.explanations


def test_no_alert_without_checkable_evidence():
    result = assess([Detection("patterns", 0.0), Detection("entity_anomaly", 1.0)], threshold=0.3)
    assert result.score >= 0.3
    assert not result.should_alert


def test_a_detector_without_a_weight_is_refused_not_guessed():
    with pytest.raises(UnweightedDetector, match="renamed_model"):
        assess([Detection("patterns", 0.9, (indicator("youth"),)), Detection("renamed_model", 0.9)], threshold=0.5)


def test_every_detector_a_worker_runs_has_a_weight():
    models = warm_start_synthetic(n=120, seed=3)
    detectors = DetectorSet(PatternLibrary.load(BUNDLED_PATTERNS), models)
    names = {d.detector for d in detectors.score(enrich_raw(post("w1", RISKY_BODY)))}
    assert names == set(DETECTOR_WEIGHTS)


def test_supporting_categories_alone_never_raise_an_alert():
    adult_ad = [Detection("patterns", 0.45, (indicator("obfuscation"), indicator("movement"))),
                Detection("entity_anomaly", 0.9, explanation="posts in 4 cities this week")]
    supporting = {"obfuscation", "movement"}
    result = assess(adult_ad, threshold=0.5, supporting=supporting)
    assert result.score >= 0.5
    assert not result.should_alert
    with_youth = [Detection("patterns", 0.6, (indicator("obfuscation"), indicator("youth")))]
    assert assess(with_youth, threshold=0.5, supporting=supporting).should_alert


def test_weak_detectors_cannot_raise_an_alert_alone():
    result = assess([Detection("entity_anomaly", 1.0, explanation="40 posts in 5 cities")], threshold=0.5)
    assert not result.should_alert


def test_assessment_keeps_every_indicator_and_category():
    result = assess([Detection("patterns", 0.95, (indicator("youth"), indicator("coercion"))),
                     Detection("text_model", 0.7, explanation="x")], threshold=0.5)
    assert result.categories == ("coercion", "youth")
    assert len(result.indicators) == 2
    assert result.explanations == {"text_model": "x"}
    assert result.detector_scores == {"patterns": 0.95, "text_model": 0.7}
    assert result.severity == "critical" and result.severity_number == 4


def test_severity_bands_are_ordered():
    assert [severity_for(s)[0] for s in (0.1, 0.6, 0.8, 0.95)] == ["low", "medium", "high", "critical"]
