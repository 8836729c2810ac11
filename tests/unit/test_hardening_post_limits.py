"""Finding 4 (pure part): padding cannot push an ad out of scoring, and per-post work is capped."""

from __future__ import annotations

import json
from functools import cache

from tests.helpers import RISKY_BODY, post
from trailhound.alerts.scoring import assess
from trailhound.config import Settings
from trailhound.detectors.detector_set import DetectorSet
from trailhound.schemas import parse_post
from trailhound.streams.enrich import enrich_post
from trailhound.streams.post_limits import bounded_post, bounded_text
from trailhound.streams.worker import build_detectors
from trailhound.topics import MAX_RECORD_BYTES


@cache
def detectors() -> DetectorSet:
    """The detectors a worker builds from default settings, built on first use."""
    return build_detectors(Settings())


def _alerted(raw_post: dict) -> tuple[bool, dict]:
    enriched = enrich_post(parse_post(json.dumps(raw_post).encode()), 0.0)
    assert len(json.dumps(enriched).encode()) < MAX_RECORD_BYTES / 8
    decision = assess(detectors().score(enriched), 0.5, detectors().supporting_categories)
    return decision.should_alert, enriched


def test_a_padded_high_risk_ad_is_still_scored_and_alerted() -> None:
    for body in (RISKY_BODY + " " + "$1 " * 87_000, "$1 " * 87_000 + RISKY_BODY,
                 RISKY_BODY + " " + "ok " * 40_000 + "$1 $2 " * 20_000):
        assert len(body) > 200_000
        alerted, enriched = _alerted(post("padded", body))
        assert alerted
        assert enriched["limited"] == {"body": len(body)}


def test_contact_lists_are_capped_before_extraction_and_the_cut_is_recorded() -> None:
    phones = [f"+1312555{n:04d}" for n in range(14_000)]
    alerted, enriched = _alerted(post("many", RISKY_BODY, contact={"phones": phones, "emails": ["a@example.org"]}))
    assert alerted
    assert enriched["post"]["contact"]["phones"] == phones[:20]
    assert enriched["post"]["contact"]["emails"] == ["a@example.org"]
    assert enriched["limited"] == {"contact.phones": 14_000}
    assert len(enriched["entities"]["phones"]) <= 20


def test_caps_are_exact_and_an_ordinary_post_is_untouched() -> None:
    ordinary = post("ok", "x" * 10_000, contact={"phones": ["+13125550100"] * 20}, images=[{"phash": "0" * 16}] * 20)
    assert bounded_post(ordinary, 20, 10_000) == (ordinary, {})
    over = post("over", "y " * 5_001, contact={"phones": ["+13125550100"] * 21}, images=[{"phash": "0" * 16}] * 21)
    bounded, limited = bounded_post(over, 20, 10_000)
    assert limited == {"contact.phones": 21, "images": 21, "body": 10_002}
    assert len(bounded["contact"]["phones"]) == 20 and len(bounded["images"]) == 20
    assert len(bounded["body"]) <= 10_000


def test_repetition_goes_first_then_head_and_tail_are_kept() -> None:
    assert bounded_text("start " + "$1 " * 10 + "end", 20) == "start $1 $1 $1 end"
    varied = "head " + " ".join(str(n) for n in range(5_000)) + " tail"
    cut = bounded_text(varied, 1_000)
    assert len(cut) <= 1_000 and cut.startswith("head ") and cut.endswith(" tail")
