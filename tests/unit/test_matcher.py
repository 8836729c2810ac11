"""The matcher and the known-pattern detector, judged by what an analyst would see."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from tests.shipped_patterns import shipped_library, shipped_matcher
from trailhound.detectors.base import Detector, Indicator
from trailhound.detectors.extract import extract_entities
from trailhound.detectors.library import PatternLibrary
from trailhound.detectors.matcher import PatternDetector, PatternMatcher, enriched_view
from trailhound.detectors.normalize import normalize
from trailhound.detectors.pattern_score import combine_evidence

LIBRARY = shipped_library()


def detector() -> PatternDetector:
    """A detector over the shipped library (compiled once per test process)."""
    return PatternDetector(shipped_matcher())


def score(text: str) -> float:
    norm = normalize(text)
    return detector().score(norm, extract_entities(norm)).score


def record(text: str) -> dict:
    """An enriched record as the pipeline sends it, through JSON."""
    norm = normalize(text)
    return json.loads(json.dumps({"post": {"id": "p1", "body": text}, "normalized": norm.to_json(),
                                  "entities": extract_entities(norm).to_json()}))


def test_the_detector_honours_the_shared_contract() -> None:
    assert isinstance(detector(), Detector)
    assert detector().name == "patterns"


def test_evidence_is_the_text_as_written_at_its_original_offsets() -> None:
    text = "Hi!! Sw33t ｙｏｕｎｇ g i r l here, ask  for  her 💗"
    detection = detector().score_one(record(text))
    assert detection.indicators
    for indicator in detection.indicators:
        a, b = indicator.span
        assert text[a:b] == indicator.evidence
    evidence = {i.pattern_id: i.evidence for i in detection.indicators}
    assert evidence["youth.young_fresh_girl"] == "ｙｏｕｎｇ g i r l"
    assert evidence["control.ask_for_her"] == "ask  for  her"
    assert evidence["youth.emoji_codes"] == "💗"


@pytest.mark.parametrize(
    "benign",
    [
        "Fresh produce new in store this week!",
        "Young professionals networking event, Thursday 6pm.",
        "Our team is available 24/7 for IT support.",
        "New girls' basketball schedule posted.",
        "Brand new phone, never used, $300.",
        "My girlfriend and I are hosting a game night, bring snacks.",
        "We are hiring cooks. Competitive pay, two days off per week, housing allowance.",
    ],
)
def test_benign_look_alikes_stay_below_the_alert_line(benign: str) -> None:
    assert score(benign) < 0.5


@pytest.mark.parametrize(
    "adult_ad",
    [
        "Hi gentlemen, I'm Mia, 29, independent. New in town, visiting Denver until Friday ✈️. "
        "Rates 250hr, 400 for two hours. Screening required. Text (201) 555-0123.",
        "Just arrived in Phoenix for the weekend! Upscale companion, 35, sweet and classy. "
        "$300/hour, overnight available. References please. Only here until Sunday.",
    ],
)
def test_a_consenting_adults_own_ad_with_movement_and_rates_is_not_an_alert(adult_ad: str) -> None:
    assert score(adult_ad) < 0.5


@pytest.mark.parametrize(
    ("ad", "categories"),
    [
        ("Young fresh girl, barely legal. My girls are waiting, ask for her.", {"youth", "control"}),
        ("She will do anything you want. Call two oh one five five five oh one two three",
         {"coercion", "obfuscation"}),
        ("Factory work abroad. Passports are kept by the agency. Visa fees will be deducted from your salary.",
         {"labour_documents", "labour_debt"}),
    ],
)
def test_strong_indicators_of_different_kinds_together_raise_an_alert(ad: str, categories: set[str]) -> None:
    detection = detector().score_one(record(ad))
    assert detection.score > 0.5
    assert categories <= set(detection.details["categories"])


def test_a_stated_minor_age_is_an_alert_on_its_own() -> None:
    assert score("Sweet girl, 16 yo, text me") > 0.5
    assert score("Sweet girl, 26 yo, text me") < 0.5


def test_explanation_and_details_name_the_evidence_and_library_version() -> None:
    detection = detector().score_one(record("Barely legal teen girl. My girls are waiting for you."))
    assert detection.explanation.startswith("youth language + third-party control") or \
        detection.explanation.startswith("third-party control + youth language")
    assert detection.details["library_version"] == LIBRARY.version
    assert {"youth", "control"} <= set(detection.details["categories"])


def _ind(category: str, weight: float, pid: str = "x.y") -> Indicator:
    return Indicator(pid, category, "e", (0, 1), weight)


def test_several_kinds_of_evidence_count_more_than_repeats_of_one_kind() -> None:
    labels: dict[str, str] = {}
    same = combine_evidence([_ind("youth", 0.3), _ind("youth", 0.3), _ind("youth", 0.3)], labels)
    mixed = combine_evidence([_ind("youth", 0.3), _ind("control", 0.3), _ind("coercion", 0.3)], labels)
    assert same.score < 0.5 < mixed.score
    assert combine_evidence([], labels).score == 0.0


def test_weight_hook_lets_feedback_quiet_a_pattern() -> None:
    ad = "Young fresh girl, barely legal. My girls are waiting, ask for her."
    norm = normalize(ad)
    entities = extract_entities(norm)
    quiet = PatternDetector(shipped_matcher(), weight_of=lambda pid, w: 0.0 if pid.startswith("control.") else w)
    before, after = detector().score(norm, entities), quiet.score(norm, entities)
    assert after.score < before.score
    assert all(i.weight == 0.0 for i in after.indicators if i.category == "control")


def test_raw_posts_and_enriched_records_score_alike() -> None:
    text = "new girls every week, 3 girls available, she is $60 per hour"
    from_record = detector().score_one(record(text))
    from_raw = detector().score_one({"post": {"id": "p1", "body": text}})
    assert from_record.score == from_raw.score > 0
    norm, entities = enriched_view(record(text))
    assert norm.text == normalize(text).text and entities == extract_entities(normalize(text))


def test_replacing_the_matcher_changes_what_is_flagged(tmp_path: Path) -> None:
    (tmp_path / "library.yaml").write_text(
        "version: '9'\ncategories:\n  control: {label: third-party control, description: d}\n"
    )
    (tmp_path / "control.yaml").write_text(
        "category: control\npatterns:\n"
        "  - id: control.code_word\n    weight: 0.9\n    description: d\n    source: s\n"
        "    match: [{literal: zebra crossing}]\n"
        "    examples: {positive: [zebra crossing], negative: [zebra]}\n"
    )
    detector = PatternDetector(shipped_matcher())
    assert detector.score_one(record("meet at the zebra crossing")).score == 0.0
    detector.replace_matcher(PatternMatcher(PatternLibrary.load(tmp_path)))
    detection = detector.score_one(record("meet at the zebra crossing"))
    assert detection.score > 0.5 and detection.details["library_version"].startswith("9+")


def test_the_garbage_collector_waits_while_a_post_is_matched(monkeypatch: pytest.MonkeyPatch) -> None:
    """A collection during a timed search would be charged to it: the search could be judged slow and its
    pattern skipped, so the post's indicators would depend on when the collector ran."""
    matcher = PatternMatcher(shipped_library())
    collector_during_searches: list[bool] = []
    bounded = PatternMatcher._bounded

    def watched(self: PatternMatcher, *args: object) -> object:
        collector_during_searches.append(gc.isenabled())
        return bounded(self, *args)

    monkeypatch.setattr(PatternMatcher, "_bounded", watched)
    norm = normalize("Factory work abroad. Passports are kept by the agency.")
    found = {i.pattern_id for i in matcher.match(norm, extract_entities(norm))}
    assert "labour_documents.passport_held" in found
    assert collector_during_searches and not any(collector_during_searches)
    assert gc.isenabled()
