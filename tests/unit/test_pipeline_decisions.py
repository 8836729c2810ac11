"""The worker's per-post decisions, tested with no broker: the same code the agents run."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.helpers import BENIGN_BODY, RISKY_BODY, post
from tests.shipped_patterns import shipped_library
from trailhound.clock import FixedClock
from trailhound.config import Settings
from trailhound.detectors.detector_set import DetectorSet
from trailhound.schemas import InvalidRecord
from trailhound.streams.pipeline import PostProcessor
from trailhound.timefmt import iso, parse_rfc3339

NOW = parse_rfc3339("2026-11-21T08:30:00Z")
LIBRARY = shipped_library()


def processor(**settings: object) -> PostProcessor:
    return PostProcessor(replace(Settings(), **settings), DetectorSet(LIBRARY), FixedClock(NOW))


def raw(post_id: str, body: str, **extra: object) -> bytes:
    return json.dumps(post(post_id, body, **extra)).encode()


def test_a_risky_post_becomes_one_explained_alert_stamped_with_the_clock() -> None:
    worker = processor()
    outcome = worker.process(worker.enrich(raw("p1", RISKY_BODY), NOW - 5))
    [alert] = outcome.alerts
    assert alert["@timestamp"] == iso(NOW)
    assert alert["event"]["ingested"] == iso(NOW - 5)
    assert alert["trailhound"]["post_ids"] == ["test-board:p1"]
    assert "youth" in alert["trailhound"]["categories"]
    assert outcome.document["_source"]["alert_id"] == alert["event"]["id"]


def test_replaying_a_post_gives_the_same_alert_and_document_ids() -> None:
    first, second = processor(), processor()
    a = first.process(first.enrich(raw("p1", RISKY_BODY), NOW))
    b = second.process(second.enrich(raw("p1", RISKY_BODY), NOW + 60))
    assert a.alerts[0]["event"]["id"] == b.alerts[0]["event"]["id"]
    assert a.document["_id"] == b.document["_id"]
    other = first.process(first.enrich(raw("p2", RISKY_BODY), NOW))
    assert other.alerts[0]["event"]["id"] != a.alerts[0]["event"]["id"]


def test_a_benign_post_is_documented_but_not_alerted() -> None:
    worker = processor()
    outcome = worker.process(worker.enrich(raw("b1", BENIGN_BODY), NOW))
    assert outcome.alerts == []
    assert outcome.document["_source"]["alert_id"] is None
    assert outcome.document["_source"]["post_key"] == "test-board:b1"
    assert outcome.document["_index"].endswith("posts-2026.11")


def test_the_threshold_decides() -> None:
    strict = processor(alert_threshold=1.0)
    assert strict.process(strict.enrich(raw("p1", RISKY_BODY), NOW)).alerts == []


def test_the_future_is_judged_by_the_injected_clock() -> None:
    worker = processor()
    tomorrow = raw("f1", RISKY_BODY, posted_at=iso(NOW + 86_400))
    assert worker.enrich(tomorrow, NOW)["post_key"] == "test-board:f1"
    with pytest.raises(InvalidRecord, match="in the future"):
        worker.enrich(raw("f2", RISKY_BODY, posted_at=iso(NOW + 3 * 86_400)), NOW)


def test_preview_explains_without_an_alert_document() -> None:
    preview = processor().preview(raw("p1", RISKY_BODY))
    assert preview["alert"] is True
    assert preview["score"] >= 0.5
    assert {i["category"] for i in preview["indicators"]} >= {"youth"}
    assert processor().preview(raw("b1", BENIGN_BODY))["alert"] is False
