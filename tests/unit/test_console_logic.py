"""The console's decisions that need no server: evidence cutting, masking, sessions, roles, verdict signatures."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from trailhound.config import Settings
from trailhound.console.actions import ConsoleSender
from trailhound.console.evidence import contact_spans, mask, pieces
from trailhound.console.live import queue_query, summary
from trailhound.console.sessions import SessionStore
from trailhound.console.users import User, role_allows
from trailhound.signing import analyst_key, sign, verify
from trailhound.streams.feedback import FeedbackLearner, VerdictRefused

KEY = "s" * 40


def test_overlapping_evidence_is_cut_into_pieces_that_name_every_pattern_covering_them() -> None:
    text = "Ask for her when you call"
    indicators = [{"pattern_id": "control.ask_for_her", "category": "control", "span": [0, 11]},
                  {"pattern_id": "control.ask_for_name", "category": "control", "span": [0, 25]}]
    cut = pieces(text, indicators, [], {"control": "third-party control"})
    assert [p.text for p in cut] == ["Ask for her", " when you call"]
    assert [x["pattern_id"] for x in cut[0].patterns] == ["control.ask_for_her", "control.ask_for_name"]
    assert [x["pattern_id"] for x in cut[0].ending] == ["control.ask_for_her"]
    assert [x["pattern_id"] for x in cut[1].ending] == ["control.ask_for_name"]
    assert cut[0].patterns[0]["label"] == "third-party control"
    assert "".join(p.text for p in cut) == text


def test_spans_outside_the_text_are_clipped_and_empty_ones_ignored() -> None:
    cut = pieces("short", [{"pattern_id": "p", "category": "c", "span": [3, 99]},
                           {"pattern_id": "q", "category": "c", "span": [2, 2]}], [])
    assert [(p.text, [x["pattern_id"] for x in p.patterns]) for p in cut] == [("sho", []), ("rt", ["p"])]


def test_contacts_written_evasively_are_found_and_masked() -> None:
    text = "Sweet new girl. Text 312-555-0147 or write sweetjo@example.org today"
    spans = contact_spans(text)
    assert [(text[a:b], kind) for a, b, kind in spans] == [("312-555-0147", "phone"),
                                                            ("sweetjo@example.org", "email")]
    cut = pieces(text, [], spans)
    assert [p.contact_kind for p in cut if p.text in ("312-555-0147", "sweetjo@example.org")] == ["phone", "email"]
    assert "0147" not in mask("312-555-0147")[:-2] and mask("312-555-0147").endswith("47")
    assert set(mask("ab")) == {"•"}


def test_sessions_expire_and_are_counted() -> None:
    now = [1000.0]
    registry = CollectorRegistry()
    store = SessionStore(60, registry, clock=lambda: now[0])
    token, session = store.start(User("ana", "analyst"))
    assert store.find(token) is session and store.count() == 1
    assert registry.get_sample_value("trailhound_console_sessions") == 1
    assert store.find("forged") is None and store.find(None) is None
    assert session.csrf_matches(session.csrf_token) and not session.csrf_matches("x") and not session.csrf_matches(None)
    now[0] += 61
    assert store.find(token) is None and store.count() == 0
    token, _ = store.start(User("ana", "analyst"))
    store.end(token)
    assert store.find(token) is None


def test_roles_include_the_rights_of_lower_roles_only() -> None:
    assert role_allows("admin", "analyst") and role_allows("supervisor", "supervisor")
    assert not role_allows("analyst", "supervisor") and not role_allows("supervisor", "admin")
    assert not role_allows("root", "analyst")


def test_queue_filters_become_term_filters_and_unknown_ones_are_ignored() -> None:
    query = queue_query({"category": "youth", "status": "new", "lang": "es", "region": "IL", "evil": "x", "city": ""})
    terms = [c["term"] for c in query["bool"]["filter"]]
    assert terms == [{"event.kind": "alert"}, {"trailhound.categories": "youth"}, {"trailhound.status": "new"},
                     {"trailhound.language": "es"}, {"trailhound.location.region": "IL"}]


def test_a_queue_row_carries_no_contact() -> None:
    alert = {"@timestamp": "t", "message": "m", "event": {"id": "a1", "severity": 4}, "trailhound": {
        "severity": "critical", "score": 0.9, "status": "new", "categories": ["youth"], "post_ids": ["s:1"],
        "entity": {"phones": ["+13125550147"]}, "location": {"city": "Joliet", "region": "IL"}}}
    row = summary(alert)
    assert row["id"] == "a1" and row["city"] == "Joliet" and "+13125550147" not in json.dumps(row)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_and_wait(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                            partition: int | None = None, timestamp_ms: int | None = None,
                            headers: list[tuple[str, bytes]] | None = None) -> None:
        self.sent.append({"topic": topic, "value": value, "headers": dict(headers or [])})


def verdict_bytes(analyst: str) -> bytes:
    return json.dumps({"alert_id": "a1", "label": "benign", "analyst": analyst, "at": "2026-11-30T10:00:00Z",
                       "verdict_id": "v0000001"}, sort_keys=True).encode()


def accept(settings: Settings, value: bytes, headers: dict[str, bytes]) -> dict[str, Any]:
    learner = object.__new__(FeedbackLearner)  # only the acceptance rules, without Kafka or models
    learner.settings, learner.key, learner.detectors = settings, KEY.encode(), SimpleNamespace(models=None)
    return learner._accept(SimpleNamespace(value=value, headers=list(headers.items())))


def test_the_console_signs_verdicts_with_the_analysts_own_key_and_the_worker_accepts_only_that() -> None:
    settings = Settings(feedback_key=KEY, analysts=("ana", "bob"))
    producer = Recorder()
    sender = ConsoleSender(settings, producer)
    value = verdict_bytes("ana")
    asyncio.run(sender.send_and_wait("feedback", value=value, headers=[("signature", sign(KEY.encode(), value))]))
    asyncio.run(sender.send_and_wait("alerts", value=b"{}", headers=[("x", b"y")]))
    signed, other = producer.sent
    assert signed["headers"]["signer"] == b"ana"
    assert verify(analyst_key(KEY.encode(), "ana"), value, signed["headers"]["signature"])
    assert not verify(KEY.encode(), value, signed["headers"]["signature"])  # not the shared key
    assert other["headers"] == {"x": b"y"}
    assert accept(settings, value, signed["headers"])["analyst"] == "ana"

    claims_bob = verdict_bytes("bob")  # signed in ana's session, claiming to be bob's
    with pytest.raises(VerdictRefused, match="signed by 'ana' but claims analyst 'bob'"):
        accept(settings, claims_bob, {"signature": sign(analyst_key(KEY.encode(), "ana"), claims_bob),
                                      "signer": b"ana"})
    with pytest.raises(VerdictRefused, match="wrongly signed"):  # bob's name, ana's key
        accept(settings, claims_bob, {"signature": sign(analyst_key(KEY.encode(), "ana"), claims_bob),
                                      "signer": b"bob"})
    # the shared key of the feedback command still works
    assert accept(settings, value, {"signature": sign(KEY.encode(), value)})["analyst"] == "ana"
    with pytest.raises(VerdictRefused, match="not in TRAILHOUND_ANALYSTS"):
        accept(Settings(feedback_key=KEY, analysts=("bob",)), value, signed["headers"])
