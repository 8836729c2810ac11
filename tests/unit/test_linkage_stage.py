"""The detect stage's linkage records reach the owner of each key, and links and hubs survive the trip."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from functools import cache
from types import SimpleNamespace

import pytest

from tests.linkage_posts import summary
from trailhound.config import Settings
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.linkage.clusters import Member
from trailhound.detectors.linkage.key_index import HubKey, KeyIndex, KeyIndexParams, Link
from trailhound.detectors.linkage.keys import PostSummary
from trailhound.streams.batching import Outgoing, joined_records
from trailhound.streams.enrich import enrich_post
from trailhound.streams.linkage import Linkage, _items, key_partition, link_events
from trailhound.streams.worker import build_detectors

BODY = ("Work abroad opportunity! Hotel cleaners needed, no experience required, earn $7,500 per month. "
        "Travel and visa fee deducted from salary, the agency keeps your passport. WhatsApp {phone}.")


@cache
def shipped_detectors() -> DetectorSet:
    """The detectors a worker starts with, compiled once for this module's tests."""
    return build_detectors(Settings())


def enriched(post_id: str, phone: str) -> dict:
    return enrich_post({"id": post_id, "source": "jobs.example", "posted_at": "2026-11-10T08:00:00Z",
                        "body": BODY.format(phone=phone), "location": {"city": "Boston"}}, 0.0)


def test_records_go_to_the_partition_of_each_key_and_link_there() -> None:
    settings = Settings(partitions=3)
    linkage = Linkage(settings, es=None, detectors=shipped_detectors())  # type: ignore[arg-type]
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
    detectors = shipped_detectors()
    linkage = Linkage(settings, es=None, detectors=detectors)  # type: ignore[arg-type]
    pattern = detectors.library.patterns[0]
    assert linkage.categories_of([pattern.id, "no-such-pattern"]) == [pattern.category]


def test_a_batch_travels_in_one_record_per_partition_and_links_as_post_by_post() -> None:
    """Joining a batch's key records (one Faust event per partition, not per post and partition) and its link
    records changes no link and no order; records grow only up to the size limit."""
    settings = Settings(partitions=3)
    linkage = Linkage(settings, es=None, detectors=shipped_detectors())  # type: ignore[arg-type]
    topic = SimpleNamespace(name="linkage.keys")
    per_post = [Outgoing(topic, key, value, partition=partition)  # type: ignore[arg-type]
                for n, phone in enumerate(("305-555-0111", "415-555-0122", "305-555-0111", "212-555-0133"))
                for partition, key, value in linkage.key_records(enriched(f"p{n}", phone), ["labour_documents"], 0.7)]

    def links(records: list[Outgoing]) -> dict[int, list[tuple[str, str, str]]]:
        """Each partition's links, in the order its key index found them."""
        indexes = {p: KeyIndex(KeyIndexParams()) for p in range(3)}
        found: dict[int, list[tuple[str, str, str]]] = {p: [] for p in range(3)}
        for r in records:
            found[r.partition] += [(e.a.post_key, e.b.post_key, e.key)
                                   for e in linkage.observe(indexes[r.partition], r.value) if isinstance(e, Link)]
        return found

    joined = joined_records(per_post)
    assert sorted(r.partition for r in joined) == sorted({r.partition for r in per_post}), "one record a partition"
    assert links(joined) == links(per_post) and sum(map(len, links(per_post).values())) >= 6
    small = joined_records(per_post, max_bytes=2 * max(len(r.value) for r in per_post))
    assert len(joined) < len(small) < len(per_post) and links(small) == links(per_post)
    events = [Linkage.event_record(HubKey(f"phone:+{n}", 25, 40)) for n in range(3)]
    (record,) = joined_records([Outgoing(topic, b"links", e, partition=0) for e in events])  # type: ignore[arg-type]
    assert _items([record.value, events[0]]) == [json.loads(e) for e in (*events, events[0])]


def test_a_link_record_keeps_all_a_cluster_keeps_of_its_posts_and_no_contact_lists() -> None:
    settings = Settings(partitions=1)
    linkage = Linkage(settings, es=None, detectors=shipped_detectors())  # type: ignore[arg-type]
    index = KeyIndex(KeyIndexParams())
    for n, phone in enumerate(("305-555-0111", "305-555-0111")):
        (record,) = linkage.key_records(enriched(f"m{n}", phone), ["labour_documents"], 0.7)
        events = linkage.observe(index, record[2])
    link = next(e for e in events if isinstance(e, Link))
    data = json.loads(Linkage.event_record(link))
    for side, post in (("a", link.a), ("b", link.b)):
        assert Member.of(PostSummary.from_json(data[side])) == Member.of(post)
        assert not {"phones", "emails", "handles", "phashes", "signature"} & data[side].keys()


def test_a_batch_of_links_names_each_post_once_and_reads_back_in_order_with_its_hub_notices() -> None:
    posts = [summary(day=n, phone="+1", city=f"City{n}", categories=("price",), key=f"t:lr{n}") for n in range(5)]
    events: list[Link | HubKey] = [Link(posts[n], posts[4], "phone:+1", "same phone", 0.5 + n / 10) for n in range(4)]
    events.insert(2, HubKey("image:ab", 25, 40))
    records = Linkage.links_records(events, per_record=3)
    assert len(records) == 2, "at most three events a record"
    back = link_events(records)
    assert back == link_events([Linkage.event_record(e) for e in events])
    assert [(e.a.post_key, e.b.post_key, e.key, e.similarity) if isinstance(e, Link) else e for e in back] == \
        [(e.a.post_key, e.b.post_key, e.key, e.similarity) if isinstance(e, Link) else e for e in events]
    assert all(Member.of(e.a) == Member.of(o.a) and Member.of(e.b) == Member.of(o.b)
               for e, o in zip(back, events, strict=True) if isinstance(e, Link) and isinstance(o, Link))
    first = json.loads(records[0])["batch"]
    assert [item["type"] for item in first] == ["links", "hub"] and len(first[0]["posts"]) == 3
    links = [e for e in events if isinstance(e, Link)]
    (together,) = Linkage.links_records(links)
    assert len(together) < 0.75 * sum(len(Linkage.event_record(e)) for e in links), "each post once"


def test_the_key_index_is_kept_where_the_setting_says() -> None:
    import asyncio

    from trailhound.detectors.linkage.stored_key_index import StoredKeyIndex

    async def index_of(store: str) -> KeyIndex:
        linkage = Linkage(Settings(key_index_store=store), es=None, detectors=shipped_detectors())  # type: ignore[arg-type]
        return await linkage.index_for(0, 0)  # offset 0: nothing to replay

    on_disk, in_memory = asyncio.run(index_of("disk")), asyncio.run(index_of("memory"))
    assert isinstance(on_disk, StoredKeyIndex)
    assert type(in_memory) is KeyIndex
    assert Settings.from_env({}).key_index_store == "disk"


def test_a_rebalance_closes_the_key_indices_of_the_partitions_that_moved_away() -> None:
    """A worker keeps only the key indices (each a database) of the partitions it still reads."""
    linkage = Linkage(Settings(key_index_store="disk"), es=None, detectors=shipped_detectors())  # type: ignore[arg-type]

    async def take(partitions: list[int]) -> None:
        for partition in partitions:
            await linkage.index_for(partition, 0)

    asyncio.run(take([0, 1, 2]))
    moved = linkage.indexes[1]
    linkage.keep_indexes({0, 2, 3})
    assert sorted(linkage.indexes) == [0, 2] and 1 not in linkage.next_offset
    with pytest.raises(sqlite3.ProgrammingError):  # its database is closed
        moved._db.execute("SELECT 1")  # type: ignore[attr-defined]


def test_every_post_waiting_for_its_evidence_is_tried_each_tick_and_one_never_indexed_is_given_up() -> None:
    """A busy feed leaves more posts waiting than one request takes; none may be left to pile up."""
    from trailhound.streams import linkage as stage

    clock = [1_000.0]
    linkage = Linkage(Settings(), None, None, clock=lambda: clock[0])  # type: ignore[arg-type]
    indexed = {f"p{n}" for n in range(1_200)}
    linkage.pending_evidence = {f"p{n}": ("cl-1", "2026-11-10T08:00:00Z", 1_000.0) for n in range(1_201)}
    asked: list[int] = []

    async def capture(wanted: list[tuple[str, str, str]], now: float) -> tuple[set[str], list]:
        asked.append(len(wanted))
        return {key for _, key, _ in wanted if key in indexed}, []

    async def bulk(operations: list) -> None:
        return None

    linkage._capture, linkage._bulk = capture, bulk  # type: ignore[method-assign]
    asyncio.run(linkage.retry_evidence())
    assert asked == [stage.EVIDENCE_PER_REQUEST, stage.EVIDENCE_PER_REQUEST, 201]
    assert linkage.pending_evidence == {"p1200": ("cl-1", "2026-11-10T08:00:00Z", 1_000.0)}
    clock[0] += stage.EVIDENCE_GIVE_UP_S - 1
    asyncio.run(linkage.retry_evidence())
    assert "p1200" in linkage.pending_evidence  # not yet given up
    clock[0] += 2
    asyncio.run(linkage.retry_evidence())
    assert linkage.pending_evidence == {}
