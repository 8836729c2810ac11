"""Lifecycle moves, grouping into one alert per contact/cluster, and silences (pure decisions)."""

from __future__ import annotations

import copy

import pytest

from trailhound.alerts.grouping import GroupReason, group_doc_id, group_key, merge_into_group
from trailhound.alerts.silences import Silence, matching_silence
from trailhound.alerts.transitions import InvalidTransition, decide_transition

DAY = 86400.0


def alert(post: str, score: float = 0.6, contact: str = "phone:+15550100001", posted_at: str = "2026-11-20T10:00:00Z",
          cluster: str | None = None, categories: tuple[str, ...] = ("youth",), severity: int = 2) -> dict:
    details = {"post_ids": [post], "score": score, "severity": "medium", "categories": list(categories),
               "indicators": [{"pattern_id": f"p.{post}", "category": categories[0], "evidence": f"text {post}"}],
               "entity": {"key": contact, "phones": [contact.removeprefix("phone:")] if contact.startswith("phone:")
                          else [], "emails": [], "handles": []},
               "posted_at": posted_at, "status": "new", "location": {"region": "North Region", "city": "Springfield"}}
    if cluster:
        details["cluster_id"] = cluster
    return {"@timestamp": "2026-11-20T10:00:01.000Z", "message": f"Medium-risk post {post}: youth (score {score})",
            "event": {"id": f"id-{post}", "severity": severity, "risk_score": score * 100,
                      "created": "2026-11-20T10:00:01Z"},
            "rule": {"id": "trailhound.content-risk", "category": "content"}, "tags": ["trailhound"],
            "trailhound": details}


@pytest.mark.parametrize(("status", "action", "to"), [
    ("new", "acknowledge", "acknowledged"), ("silenced", "acknowledge", "acknowledged"),
    ("new", "escalate", "escalated"), ("acknowledged", "escalate", "escalated"),
    ("escalated", "escalate", "escalated"), ("acknowledged", "resolve", "resolved"),
    ("escalated", "resolve", "resolved"), ("new", "dismiss", "dismissed"), ("escalated", "dismiss", "dismissed"),
])
def test_allowed_moves(status, action, to):
    move = decide_transition(status, action)
    assert (move.old, move.new) == (status, to)


@pytest.mark.parametrize(("status", "action", "says"), [
    ("new", "resolve", "cannot resolve"), ("resolved", "acknowledge", "already resolved"),
    ("dismissed", "escalate", "already dismissed"), ("acknowledged", "acknowledge", "cannot acknowledge"),
    ("resolved", "dismiss", "already resolved"), ("new", "reopen", "unknown action"),
])
def test_refused_moves_say_why(status, action, says):
    with pytest.raises(InvalidTransition, match=says):
        decide_transition(status, action)


def test_group_key_prefers_the_cluster_then_the_contact_within_its_window():
    assert group_key(alert("a", cluster="c9"), DAY) == "cluster:c9"
    same_day = group_key(alert("a", posted_at="2026-11-20T01:00:00Z"), DAY)
    assert same_day == group_key(alert("b", posted_at="2026-11-20T23:00:00Z"), DAY)
    assert same_day != group_key(alert("c", posted_at="2026-11-21T01:00:00Z"), DAY)
    assert group_key(alert("a", contact="post:board:a"), DAY) is None
    health = alert("h")
    health["rule"]["category"] = "model_health"
    assert group_key(health, DAY) is None


def test_twenty_posts_of_one_contact_become_one_growing_alert_and_replays_add_nothing():
    key = group_key(alert("p0"), DAY)
    document = None
    reasons = []
    for n in range(20):
        merged = merge_into_group(document, alert(f"p{n}", score=0.6 + n / 100), key, 0)
        reasons.append(merged.reason)
        document = merged.document or document
    assert reasons[0] is GroupReason.NEW and set(reasons[1:]) == {GroupReason.HIGHER_SCORE}
    assert document["event"]["id"] == group_doc_id(key, 0)
    assert document["trailhound"]["post_ids"] == [f"p{n}" for n in range(20)]
    assert document["trailhound"]["score"] == pytest.approx(0.79)
    assert document["message"].endswith("[20 posts]")
    assert len(document["trailhound"]["group"]["alert_ids"]) == 20
    replay = merge_into_group(document, alert("p7", score=0.67), key, 0)
    assert replay.reason is GroupReason.ALREADY_RECORDED and replay.document is None


def test_a_weaker_new_post_is_added_without_lowering_the_score():
    key = "contact:x:1"
    first = merge_into_group(None, alert("a", score=0.8), key, 0).document
    merged = merge_into_group(first, alert("b", score=0.55), key, 0)
    assert merged.reason is GroupReason.MORE_POSTS and not merged.raised
    assert merged.document["trailhound"]["score"] == 0.8
    assert merged.document["trailhound"]["post_ids"] == ["a", "b"]
    same_post_higher = merge_into_group(first, alert("a", score=0.9), key, 0)
    assert same_post_higher.reason is GroupReason.HIGHER_SCORE and same_post_higher.raised
    assert same_post_higher.document["trailhound"]["score"] == 0.9


def test_a_closed_group_sends_new_activity_to_its_next_generation():
    key = "contact:x:1"
    first = merge_into_group(None, alert("a"), key, 0).document
    first["trailhound"]["status"] = "dismissed"
    assert merge_into_group(first, alert("b"), key, 0).reason is GroupReason.CLOSED
    assert merge_into_group(first, alert("a"), key, 0).reason is GroupReason.ALREADY_RECORDED
    assert group_doc_id(key, 1) != group_doc_id(key, 0)
    untouched = copy.deepcopy(first)
    merge_into_group(first, alert("c", score=0.99), key, 0)
    assert first == untouched, "merging never changes the stored document in place"


def test_silences_match_their_kind_only_while_in_force():
    now = 1_000_000.0
    contact = Silence("contact", "phone:+15550100001", "ana", "known outreach number", now + 60, now)
    pattern = Silence("pattern", "p.a", "ana", "noisy", now + 60, now)
    cluster = Silence("cluster", "c9", "ana", "under investigation", now + 60, now)
    assert matching_silence(alert("a"), [contact], now) is contact
    assert matching_silence(alert("a", contact="phone:+15550199999"), [contact], now) is None
    bare_number = Silence("contact", "+15550100001", "ana", "same number, written bare", now + 60, now)
    assert matching_silence(alert("a"), [bare_number], now) is bare_number
    assert matching_silence(alert("b"), [pattern], now) is None
    assert matching_silence(alert("a"), [pattern], now) is pattern
    assert matching_silence(alert("a", cluster="c9"), [cluster], now) is cluster
    assert matching_silence(alert("a"), [cluster], now) is None
    assert matching_silence(alert("a"), [contact], now + 60) is None, "a silence ends at its time"
    assert matching_silence(alert("a"), [contact], now - 1) is None


def test_a_silence_needs_a_known_kind_a_reason_and_a_future_end():
    with pytest.raises(ValueError, match="contact, pattern, cluster"):
        Silence("region", "x", "ana", "why", 10, 1)
    with pytest.raises(ValueError, match="reason"):
        Silence("contact", "x", "ana", " ", 10, 1)
    with pytest.raises(ValueError, match="future"):
        Silence("contact", "x", "ana", "why", 1, 1)


def test_grouped_silenced_and_moved_alerts_still_follow_the_published_schema():
    from tests.unit.test_alert_document import make
    from trailhound.schemas import InvalidRecord, validate_alert

    first = make(0.8)
    key = group_key(first, DAY)
    second = make(0.9)
    second["trailhound"]["post_ids"] = ["board:p2"]
    document = merge_into_group(merge_into_group(None, first, key, 0).document, second, key, 0).document
    document["trailhound"]["status"] = "silenced"
    document["trailhound"]["silenced_by"] = {"id": "s", "kind": "contact", "value": "phone:+15550100123", "by": "ana"}
    document["trailhound"]["lifecycle"] = [{"action": "acknowledge", "by": "ana", "at": "2026-11-20T10:00:00Z",
                                            "from": "silenced", "to": "acknowledged", "note": ""}]
    validate_alert(document)
    document["trailhound"]["status"] = "forgotten"
    with pytest.raises(InvalidRecord):
        validate_alert(document)


def test_settings_for_escalation_come_from_the_environment():
    from pathlib import Path

    from trailhound.config import Settings, SettingsError

    settings = Settings.from_env({"TRAILHOUND_PARTNERS_FILE": "/etc/th/partners.yaml", "TRAILHOUND_SECRET_X": "s" * 32,
                                  "OTHER_SECRET": "no", "TRAILHOUND_GROUP_WINDOW_S": "3600",
                                  "TRAILHOUND_ESCALATOR_PORT": "7000"})
    assert settings.partners_file == Path("/etc/th/partners.yaml")
    assert dict(settings.partner_secrets) == {"TRAILHOUND_SECRET_X": "s" * 32}
    assert "s" * 32 not in repr(settings), "secrets never show in logs"
    assert settings.group_window_s == 3600 and settings.ack_base_url() == "http://127.0.0.1:7000"
    assert Settings.from_env({"TRAILHOUND_ESCALATOR_URL": "https://esc.example.org/"}).ack_base_url() == \
        "https://esc.example.org"
    with pytest.raises(SettingsError, match="GROUP_WINDOW"):
        Settings.from_env({"TRAILHOUND_GROUP_WINDOW_S": "0"})
