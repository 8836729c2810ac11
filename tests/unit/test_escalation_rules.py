"""Routing rules, the partners file's strict checks, data policies, signed envelopes and tier decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.unit.test_alert_transitions_grouping import alert
from trailhound.alerts.deliveries import delivery_id, is_retryable_status, tier_decision
from trailhound.alerts.envelope import ack_signature, ack_url, build_envelope, email_message, verify_signature
from trailhound.alerts.partners import RoutingError, load_routing, parse_duration, parse_routing
from trailhound.alerts.policy import REDACTED, DataPolicy, apply_policy, keyed_hash, redact_contacts
from trailhound.alerts.routing import mismatch, next_tier, route
from trailhound.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"TRAILHOUND_SECRET_A": "a" * 32, "TRAILHOUND_SECRET_B": "b" * 32, "TRAILHOUND_SECRET_C": "c" * 32}


def config(**rules_and_partners) -> dict:
    data = {
        "partners": {
            "hotline": {"secret_env": "TRAILHOUND_SECRET_A", "webhook": {"url": "http://127.0.0.1:1/h"}},
            "ngo": {"secret_env": "TRAILHOUND_SECRET_B", "email": {"to": ["in@ngo.example.org"],
                                                                   "from": "th@ops.example.org"}},
            "north": {"secret_env": "TRAILHOUND_SECRET_C", "webhook": {"url": "http://127.0.0.1:1/n"}},
        },
        "rules": [
            {"name": "minors", "match": {"categories": ["youth"]}, "automatic": True,
             "tiers": [{"partners": ["hotline"], "ack_within": "15m"}, {"partners": ["north"]}]},
            {"name": "labour", "match": {"categories": ["labour_*"], "min_score": 0.6}, "automatic": True,
             "tiers": [{"partners": ["ngo"]}]},
            {"name": "north-high", "match": {"min_severity": "high", "regions": ["North Region"]},
             "tiers": [{"partners": ["north"]}]},
        ],
    }
    data.update(rules_and_partners)
    return data


def routing():
    return parse_routing(config(), SECRETS)


def test_the_shipped_example_file_is_valid():
    settings = Settings.from_env({"TRAILHOUND_SECRET_CHILD_HOTLINE": "h" * 32, "TRAILHOUND_SECRET_LABOUR_NGO": "n" * 32,
                                  "TRAILHOUND_SECRET_NORTH_UNIT": "u" * 32})
    loaded = load_routing(settings, ROOT / "alerts" / "partners.example.yaml")
    assert set(loaded.partners) == {"child-hotline", "labour-ngo", "north-unit"}
    assert "secret" not in (ROOT / "alerts" / "partners.example.yaml").read_text().split("secret_env")[0]


def test_every_problem_in_the_partners_file_is_reported_at_once():
    data = config()
    data["rules"][0]["tiers"][1]["partners"] = ["nobody"]
    data["rules"][1]["match"]["min_severity"] = "urgent"
    data["partners"]["ngo"]["policy"] = {"phones": "encrypt", "message": "hash", "alert_id": "drop"}
    data["partners"]["north"]["webhook"]["url"] = "ftp://x"
    with pytest.raises(RoutingError) as caught:
        parse_routing(data, {**SECRETS, "TRAILHOUND_SECRET_A": "short"})
    message = str(caught.value)
    for expected in ("partner 'nobody' is not defined", "'urgent' is not one of", "unknown treatment 'encrypt'",
                     "free text cannot be hashed", "'alert_id' is always shared", "ftp://x",
                     "TRAILHOUND_SECRET_A must hold at least 32 bytes"):
        assert expected in message
    assert message.startswith("partners file has 7 problem(s)")


def test_a_secret_must_come_from_a_trailhound_secret_variable_and_a_chain_needs_its_deadline():
    data = config()
    data["partners"]["hotline"]["secret_env"] = "HOME"
    del data["rules"][0]["tiers"][0]["ack_within"]
    with pytest.raises(RoutingError) as caught:
        parse_routing(data, {**SECRETS, "HOME": "x" * 40})
    assert "starting TRAILHOUND_SECRET_" in str(caught.value)
    assert "ack_within is required when a next tier follows" in str(caught.value)


def test_no_partners_file_means_nothing_is_escalated():
    assert load_routing(Settings()).rules == ()


def test_durations():
    assert [parse_duration(v) for v in (90, "30s", "15m", "2h", "1d", "1.5m")] == [90, 30, 900, 7200, 86400, 90]
    for bad in ("soon", "-5m", 0, "5 weeks"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_routing_sends_each_alert_to_the_partners_its_rules_name():
    rules = routing()
    youth = alert("a", categories=("youth",), score=0.6, severity=2)
    assert [(r.partner, r.rule, r.tier) for r in route(youth, rules, automatic_only=True)] == [("hotline", "minors", 0)]
    labour = alert("b", categories=("labour_debt",), score=0.6)
    assert [r.partner for r in route(labour, rules, automatic_only=True)] == ["ngo"]
    weak_labour = alert("c", categories=("labour_debt",), score=0.59)
    assert route(weak_labour, rules, automatic_only=True) == []
    high_north = alert("d", categories=("coercion",), severity=3)
    assert route(high_north, rules, automatic_only=True) == [], "manual rules are not automatic"
    assert [r.partner for r in route(high_north, rules, automatic_only=False)] == ["north"]
    assert route(alert("e", categories=("coercion",), severity=2), rules, automatic_only=False) == []


def test_mismatch_names_the_failing_condition():
    rules = routing()
    north = rules.rules[2].match
    elsewhere = alert("a", severity=4)
    elsewhere["trailhound"]["location"] = {"region": "South Region"}
    assert "region" in mismatch(north, elsewhere)
    assert "severity" in mismatch(north, alert("a", severity=2))
    assert mismatch(north, alert("a", severity=3)) is None
    assert "categories" in mismatch(rules.rules[0].match, alert("a", categories=("coercion",)))


def test_next_tier_follows_the_chain_and_ends():
    rules = routing()
    assert next_tier(rules, "minors", 0).partners == ("north",)
    assert next_tier(rules, "minors", 1) is None
    assert next_tier(rules, "labour", 0) is None


def test_the_default_policy_shares_only_what_identifies_the_alert():
    shared = apply_policy(alert("a"), DataPolicy(), b"k" * 32)
    assert set(shared.payload) == {"alert_id", "severity", "risk_score", "categories", "created"}
    assert shared.disclosed == {}
    assert "+1555" not in json.dumps(shared.payload)


def test_a_policy_shares_clear_hashed_and_redacted_fields_and_drops_the_rest():
    document = alert("a")
    document["message"] = "Call (212) 555-0143 or write to jo.doe@example.com now"
    policy = DataPolicy({"phones": "hash", "city": "clear", "message": "redact", "region": "drop"})
    shared = apply_policy(document, policy, b"k" * 32)
    assert shared.payload["phones"] == [keyed_hash(b"k" * 32, "+15550100001")]
    assert shared.payload["city"] == "Springfield"
    assert "region" not in shared.payload and "contact" not in shared.payload
    assert "jo.doe" not in shared.payload["message"] and "0143" not in shared.payload["message"]
    assert shared.payload["message"].startswith("Call ") and shared.payload["message"].endswith(" now")
    assert shared.disclosed == {"phones": "hash", "city": "clear", "message": "redact"}
    other = apply_policy(document, policy, b"j" * 32)
    assert other.payload["phones"] != shared.payload["phones"], "two partners' hashes cannot be joined"


def test_redaction_finds_disguised_contacts_and_keeps_the_rest():
    text = "New in town. Txt two one two, five five five, zero one four three. snap: sweetgirl99. Ask for Mia"
    redacted = redact_contacts(text)
    assert "five five" not in redacted and "sweetgirl99" not in redacted
    assert redacted.startswith("New in town.") and redacted.endswith("Ask for Mia")
    assert redacted.count(REDACTED) >= 2
    assert redact_contacts("Open 8 to 2 on Saturday") == "Open 8 to 2 on Saturday"


def test_envelopes_are_cloudevents_signed_over_timestamp_and_body():
    secret = b"s" * 32
    envelope = build_envelope("alert", "d1", "a1", {"severity": "high"}, "urn:trailhound:test", secret, 1_700_000_000)
    event = json.loads(envelope.body)
    assert event["specversion"] == "1.0" and event["type"] == "org.trailhound.alert.raised"
    assert event["id"] == envelope.headers["Idempotency-Key"] == "d1" and event["subject"] == "a1"
    headers = envelope.headers
    ts, sig = headers["X-Trailhound-Timestamp"], headers["X-Trailhound-Signature"]
    assert verify_signature(secret, ts, envelope.body, sig, 1_700_000_100) is None
    assert verify_signature(b"t" * 32, ts, envelope.body, sig, 1_700_000_100) == "bad signature"
    assert verify_signature(secret, ts, envelope.body + b" ", sig, 1_700_000_100) == "bad signature"
    assert "replay" in verify_signature(secret, ts, envelope.body, sig, 1_700_000_301)
    assert verify_signature(secret, ts, envelope.body, sig, 1_700_000_300) is None
    assert verify_signature(secret, None, envelope.body, sig, 1_700_000_000) == "unsigned"
    assert verify_signature(secret, str(1_700_000_001), envelope.body, sig, 1_700_000_001) == "bad signature"


def test_acknowledgement_links_are_signed_per_partner_and_delivery():
    url = ack_url("http://127.0.0.1:6068/", "hotline", "d1", b"s" * 32)
    assert url == f"http://127.0.0.1:6068/ack/hotline/d1?sig={ack_signature(b's' * 32, 'd1')}"
    assert ack_signature(b"s" * 32, "d2") != ack_signature(b"s" * 32, "d1")
    assert ack_signature(b"t" * 32, "d1") != ack_signature(b"s" * 32, "d1")


def test_email_carries_the_signed_event_and_the_acknowledgement_link():
    envelope = build_envelope("alert", "d1", "a1", {"severity": "high", "ack_url": "http://x/ack"}, "urn:t",
                              b"s" * 32, 1_700_000_000)
    message = email_message(envelope, "th@ops.example.org", ("in@ngo.example.org",))
    assert message["Idempotency-Key"] == "d1" and message["X-Trailhound-Signature"].startswith("v1=")
    assert "Confirm receipt: http://x/ack" in message.get_body(("plain",)).get_content()
    attached = next(message.iter_attachments())
    assert attached.get_content() == envelope.body


def test_delivery_ids_are_deterministic_per_alert_partner_and_kind():
    assert delivery_id("a", "p", "alert") == delivery_id("a", "p", "alert")
    assert len({delivery_id("a", "p", "alert"), delivery_id("a", "q", "alert"), delivery_id("a", "p", "resolved"),
                delivery_id("b", "p", "alert")}) == 4


@pytest.mark.parametrize(("status", "retry"), [(500, True), (503, True), (429, True), (408, True), (400, False),
                                               (401, False), (404, False), (422, False)])
def test_which_answers_are_worth_retrying(status, retry):
    assert is_retryable_status(status) is retry


def test_next_tier_is_told_only_when_nobody_acknowledged_in_time():
    now = 1000.0
    delivered = {"state": "delivered", "ack_deadline": 900}
    assert tier_decision([delivered], now).escalate
    assert not tier_decision([{**delivered, "ack_deadline": 1001}], now).escalate
    assert tier_decision([{**delivered, "ack_deadline": 1000}], now).escalate
    assert not tier_decision([delivered, {"state": "acknowledged"}], now).escalate
    assert not tier_decision([{**delivered, "next_tier_sent": True}], now).escalate
    unreachable = tier_decision([{"state": "parked"}, {"state": "parked"}], now)
    assert unreachable.escalate and unreachable.reason == "no partner of this tier could be reached"
    assert not tier_decision([{"state": "parked"}, {"state": "pending"}], now).escalate
    assert not tier_decision([], now).escalate


def test_yaml_round_trip_of_the_test_config():
    assert parse_routing(yaml.safe_load(yaml.safe_dump(config())), SECRETS).rules[0].automatic is True
