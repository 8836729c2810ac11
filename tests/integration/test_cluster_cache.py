"""The cluster stage's clusters kept in memory between batches give exactly what reading them back gives."""

from __future__ import annotations

import random
import uuid
from types import SimpleNamespace
from typing import Any

from elasticsearch import AsyncElasticsearch

from tests.linkage_posts import summary
from trailhound.config import Settings
from trailhound.detectors.linkage.key_index import HubKey, Link
from trailhound.provision import prepare_servers
from trailhound.streams.linkage import Linkage

PHONES = ("+1", "+2", "+3", "+4", "+5")
CITIES = ("Denver", "Phoenix", "Dallas", "Atlanta", "Miami", "Boston")


def _batches(seed: int) -> list[list[bytes]]:
    """Batches of link records: posts joining, clusters merging, a hub splitting one, old posts expiring."""
    rng = random.Random(seed)
    posts = [summary(day=rng.uniform(0, 40), city=rng.choice(CITIES), phone=rng.choice(PHONES), author=f"a{n % 4}",
                     categories=("price", "control"), harm=("control",), key=f"t:{seed}:{n:03d}") for n in range(36)]
    posts.sort(key=lambda p: p.ts)
    events: list[Link | HubKey] = []
    for n, post in enumerate(posts[1:], 1):
        for other in rng.sample(posts[:n], min(n, rng.randint(1, 2))):
            key = f"phone:{rng.choice(PHONES[:2])}" if rng.random() < 0.3 else f"phone:{post.phones[0]}"
            events.append(Link(other, post, key, "same phone"))
        if n == 24:
            events.append(HubKey("phone:+1", 25, 40))
    records = [Linkage.event_record(event) for event in events]
    batches, start = [], 0
    while start < len(records):
        size = rng.randint(1, 6)
        batches.append(records[start:start + size])
        start += size
    return batches


async def _run(settings: Settings, batches: list[list[bytes]], offsets: bool) -> tuple[list[Any], dict[str, Any], int]:
    """Published alerts, the stored clusters (id → members) and how many clusters were read back."""
    published: list[tuple[str, list[str], Any]] = []

    async def publish(alerts: list[dict[str, Any]]) -> None:
        published.extend((a["event"]["id"], sorted(a["trailhound"].get("post_ids") or []),
                          a["trailhound"].get("cluster", {}).get("merged_into")) for a in alerts)

    client = AsyncElasticsearch(settings.elasticsearch_url)
    read_back = 0
    try:
        linkage = Linkage(settings, client, SimpleNamespace(category_labels={}))  # type: ignore[arg-type]
        mget = linkage._mget

        async def counting_mget(index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
            nonlocal read_back
            read_back += len(ids) if index == settings.index("clusters") else 0
            return await mget(index, ids)

        linkage._mget = counting_mget  # type: ignore[method-assign]
        offset = 0
        for batch in batches:
            await linkage.build_clusters(batch, publish, (offset, offset + len(batch) - 1) if offsets else None)
            offset += len(batch)
        await client.indices.refresh(index=settings.index("clusters"))
        found = await client.search(index=settings.index("clusters"), size=1000, query={"match_all": {}})
        stored = {h["_id"]: sorted(m["post_key"] for m in h["_source"]["state"]["members"])
                  for h in found["hits"]["hits"]}
    finally:
        await client.close()
    return published, stored, read_back


async def test_clusters_kept_in_memory_change_no_alert_and_no_stored_cluster(settings: Settings) -> None:
    other = settings.with_namespace(f"{settings.namespace}c{uuid.uuid4().hex[:6]}")
    prepare_servers(other)
    batches = _batches(7)
    read_each_batch = await _run(settings, batches, offsets=False)
    kept = await _run(other, batches, offsets=True)
    assert kept[0] == read_each_batch[0], "the same alerts, in the same order"
    assert kept[1] == read_each_batch[1] and len(kept[1]) >= 2, "the same clusters stored"
    assert kept[2] < read_each_batch[2] / 4, "clusters of earlier batches came from memory"
