"""The detect stage's linkage records reach the owner of each key, and links and hubs survive the trip."""

from __future__ import annotations

import json

from trailhound.config import Settings
from trailhound.detectors.linkage.key_index import HubKey, KeyIndex, KeyIndexParams, Link
from trailhound.streams.enrich import enrich_post
from trailhound.streams.linkage import Linkage, key_partition
from trailhound.streams.worker import build_detectors

BODY = ("Work abroad opportunity! Hotel cleaners needed, no experience required, earn $7,500 per month. "
        "Travel and visa fee deducted from salary, the agency keeps your passport. WhatsApp {phone}.")


def enriched(post_id: str, phone: str) -> dict:
    return enrich_post({"id": post_id, "source": "jobs.example", "posted_at": "2026-11-10T08:00:00Z",
                        "body": BODY.format(phone=phone), "location": {"city": "Boston"}}, 0.0)


def test_records_go_to_the_partition_of_each_key_and_link_there() -> None:
    settings = Settings(partitions=3)
    linkage = Linkage(settings, es=None, detectors=build_detectors(settings))  # type: ignore[arg-type]
    first = linkage.key_records(enriched("a", "305-555-0111"), ["labour_documents", "labour_pay"], 0.7)
    second = linkage.key_records(enriched("b", "415-555-0122"), ["labour_documents", "labour_pay"], 0.7)
    for partition, _, value in first + second:
        data = json.loads(value)
        assert {key_partition(k, 3) for k in data["keys"]} == {partition}
        assert data["post"]["harm"] == ["labour_documents"]  # labour_pay only supports
    assert len({p for p, _, _ in first}) == len(first), "one record per partition"
    indexes = {p: KeyIndex(KeyIndexParams()) for p in range(3)}
    links = []
    for partition, _, value in first + second:
        links += [e for e in linkage.observe(indexes[partition], value) if isinstance(e, Link)]
    assert links and all(link.reason.startswith("text 1.00") for link in links)
    assert {(link.a.post_key, link.b.post_key) for link in links} == {("jobs.example:a", "jobs.example:b")}
    record = json.loads(Linkage.event_record(links[0]))
    assert record["type"] == "link" and "signature" not in record["a"], "links travel without text signatures"
    hub = json.loads(Linkage.event_record(HubKey("phone:+1", 25, 40)))
    assert hub == {"type": "hub", "key": "phone:+1", "distinct_texts": 25, "posts": 40}


def test_categories_come_from_the_patterns_that_spoke() -> None:
    settings = Settings()
    detectors = build_detectors(settings)
    linkage = Linkage(settings, es=None, detectors=detectors)  # type: ignore[arg-type]
    pattern = detectors.library.patterns[0]
    assert linkage.categories_of([pattern.id, "no-such-pattern"]) == [pattern.category]
