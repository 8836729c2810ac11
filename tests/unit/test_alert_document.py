"""The alert document analysts see: ECS fields, evidence, stable identity."""

from __future__ import annotations

from trailhound.alerts.document import alert_id, build_alert
from trailhound.alerts.scoring import assess
from trailhound.detectors.base import Detection, Indicator
from trailhound.schemas import validate_alert

ENRICHED = {
    "post": {"id": "p1", "source": "board", "posted_at": "2026-11-20T10:00:00Z", "body": "b",
             "location": {"city": "Springfield", "region": "IL"}, "url": "https://board.example.org/p1"},
    "post_key": "board:p1",
    "entities": {"phones": ["+15550100123"], "emails": [], "handles": ["@sam"]},
    "entity_key": "phone:+15550100123",
    "language": "es",
    "ingested_ts": 1_790_000_000.0,
}


def make(score: float = 0.9) -> dict:
    detections = [Detection("patterns", score, (Indicator("youth.fresh", "youth", "fresh face", (3, 13), 0.6),
                                                Indicator("control.ask_for_her", "third_party_control",
                                                          "ask for her", (20, 31), 0.7)))]
    labels = {"youth": "youth language", "third_party_control": "third-party control"}
    return build_alert(ENRICHED, assess(detections, 0.5), {"patterns": "2026.11-abc"}, 1_790_000_005.0, labels)


def test_alert_follows_the_published_schema_and_ecs():
    alert = make()
    validate_alert(alert)
    assert alert["event"]["kind"] == "alert"
    assert alert["event"]["ingested"] < alert["event"]["created"]
    assert alert["rule"]["version"] == "2026.11-abc"
    assert alert["url"]["full"] == "https://board.example.org/p1"


def test_message_is_one_readable_sentence_with_place_and_reasons():
    message = make()["message"]
    assert "Springfield" in message
    assert "youth language" in message and "third-party control" in message
    assert "\n" not in message


def test_the_same_post_always_gets_the_same_alert_id():
    assert make(0.9)["event"]["id"] == make(0.95)["event"]["id"]
    assert alert_id("rule", "board:p1") != alert_id("rule", "board:p2")
    assert alert_id("rule", "a", "b") == alert_id("rule", "b", "a")


def test_entity_and_evidence_are_carried_for_linkage_and_review():
    alert = make()
    assert alert["trailhound"]["entity"]["phones"] == ["+15550100123"]
    assert [i["evidence"] for i in alert["trailhound"]["indicators"]] == ["fresh face", "ask for her"]
    assert alert["trailhound"]["status"] == "new"


def test_the_alert_names_the_posts_language_for_faceting():
    alert = make()
    validate_alert(alert)
    assert alert["trailhound"]["language"] == "es"
