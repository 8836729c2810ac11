"""The README's promise, tested as written: "an adult's own ad with only movement language, rates or an
obscured number is never raised" — whatever the text model thinks of its words, unless analysts'
verdicts taught it, and never on digit words or an obscured number alone."""

from __future__ import annotations

import pytest

from tests.shipped_patterns import shipped_library
from trailhound.alerts.scoring import LEARNED_WORDS_MIN_VERDICTS, assess
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.library import PatternLibrary
from trailhound.detectors.online.ensemble import OnlineModels
from trailhound.streams.enrich import enrich_post

ADULTS_OWN_ADS = [
    "Independent and 100% me. Touring Chicago Friday to Sunday, rates firm, screening required. 312-555-0144",
    "I'm Alexis, 29, my own boss. Incall 200 hourly, 350 two hours. Text six one two 555 oh one four four",
    "Visiting Denver next week then Austin, deposit to book. Call 7O2-555-Ol22, I reply fast",
    "Brand new to the area, first week here! Real pics, verified, screening with work info. 212-555-0188",
    "Soy independiente, 28 años, de visita en Madrid esta semana, tarifas fijas, pido referencias. 305-555-0117",
    "Independente, 30 anos, em turnê por São Paulo, valores fixos. Ligue cinco cinco cinco zero um dois três",
    "Text only 612-555-0162, I reply fast. Outcall 250, overnight 900, traveling to Miami on the 5th.",
]


def post(body: str, n: int = 0) -> dict:
    return enrich_post({"id": f"adult-{n}", "source": "test.example", "posted_at": "2025-06-01T12:00:00Z",
                        "body": body}, 0.0)


@pytest.fixture(scope="module")
def library() -> PatternLibrary:
    return shipped_library()


@pytest.fixture(scope="module")
def models_that_distrust_adults() -> OnlineModels:
    """A text model warm-started to call these very ads trafficking: the worst case of issue 12."""
    examples = [(post(body, i), "trafficking") for i, body in enumerate(ADULTS_OWN_ADS)] * 30
    models = OnlineModels.warm_start(examples)
    assert models.text_model.predict(post(ADULTS_OWN_ADS[0])) > 0.9
    return models


@pytest.mark.parametrize("body", ADULTS_OWN_ADS)
def test_adults_own_ads_are_never_raised_by_warm_start_words(body, library, models_that_distrust_adults) -> None:
    detectors = DetectorSet(library, models_that_distrust_adults)
    result = assess(detectors.score(post(body)), 0.5, detectors.supporting_categories)
    assert result.score >= 0.5, "the model does push the score up"
    assert not result.should_alert, [(i.pattern_id, i.evidence) for i in result.indicators]


def test_after_verdicts_digit_words_and_obscured_numbers_still_do_not_open_the_gate(library) -> None:
    digits_only = "six one two five five five oh one four four"
    examples = [(post(digits_only, i), "trafficking") for i in range(60)]
    models = OnlineModels.warm_start(examples)
    models.text_model.verdicts_learned = LEARNED_WORDS_MIN_VERDICTS
    detectors = DetectorSet(library, models)
    result = assess(detectors.score(post(digits_only)), 0.5, detectors.supporting_categories)
    assert result.score >= 0.5
    assert not result.should_alert


def test_learned_words_open_the_gate_once_analysts_taught_them(library) -> None:
    body = "Sweet quillberry waiting tonight. 212-555-0109"
    examples = [(post(body, i), "trafficking") for i in range(60)]
    models = OnlineModels.warm_start(examples)
    detectors = DetectorSet(library, models)
    before = assess(detectors.score(post(body)), 0.5, detectors.supporting_categories)
    for i in range(LEARNED_WORDS_MIN_VERDICTS):
        models.learn_verdict(post(body, 100 + i), "trafficking")
    after = assess(detectors.score(post(body)), 0.5, detectors.supporting_categories)
    assert not before.should_alert
    assert after.should_alert
    assert any(i.category == "learned_text" for i in after.indicators)
