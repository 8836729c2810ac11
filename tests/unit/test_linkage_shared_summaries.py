"""A worker's key indexes share one summary per post; the memory of recent posts stays bounded."""

from __future__ import annotations

import json

from tests.unit.test_linkage_stage import enriched, shipped_detectors
from trailhound.config import Settings
from trailhound.detectors.linkage.key_index import KeyIndex, KeyIndexParams, Link
from trailhound.detectors.linkage.keys import PostSummary
from trailhound.detectors.linkage.shared_summaries import SharedSummaries
from trailhound.streams.linkage import Linkage


def _post(key: str, score: float = 0.5) -> dict:
    return {"post_key": key, "ts": 1_790_000_000.0, "posted_at": "2026-09-21T00:00:00Z", "contact": "phone:+1",
            "phones": ["+13055550111"], "categories": ["labour_pay"], "score": score}


def test_records_of_one_post_share_its_summary_and_a_changed_post_gets_its_own() -> None:
    shared = SharedSummaries()
    first = shared.summary(_post("a"))
    assert shared.summary(json.loads(json.dumps(_post("a")))) is first  # the same post from another partition
    rescored = shared.summary(_post("a", score=0.9))
    assert rescored is not first and rescored.score == 0.9 and first.score == 0.5
    assert rescored == PostSummary.from_json(_post("a", score=0.9))


def test_only_the_latest_posts_are_remembered() -> None:
    shared = SharedSummaries(size=100)
    for n in range(1_000):
        shared.summary(_post(f"p{n}"))
    assert len(shared) == 100
    assert shared.summary(_post("p999")) is shared.summary(_post("p999"))


def test_every_partition_s_index_holds_the_one_summary_and_links_as_before() -> None:
    linkage = Linkage(Settings(partitions=4), es=None, detectors=shipped_detectors())  # type: ignore[arg-type]
    indexes = {p: KeyIndex(KeyIndexParams()) for p in range(4)}
    links: list[Link] = []
    for post in (enriched("a", "305-555-0111"), enriched("b", "415-555-0122")):
        records = linkage.key_records(post, ["labour_documents", "labour_pay"], 0.7)
        assert len(records) > 1, "the post has keys on several partitions"
        for partition, _, value in records:
            links += [e for e in linkage.observe(indexes[partition], value) if isinstance(e, Link)]
    assert {(link.a.post_key, link.b.post_key) for link in links} == {("jobs.example:a", "jobs.example:b")}
    assert len({id(link.b) for link in links}) == 1, "one summary of post b, whichever partition linked it"
