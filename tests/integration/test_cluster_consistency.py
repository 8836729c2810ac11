"""What the cluster stage stores stays consistent however its batches come: each post is in one cluster at most,
and each post's membership names the cluster that holds it.

A latency run once found over a thousand posts stored in two clusters. The cause was a post past the
retention window linked again: it had left the cluster it founded, which lived on under its id, and alone it
founded that id anew, so the stored cluster was overwritten or deleted while its members' memberships still
named it. The feed below has what brought that about (old posts linked again, hubs splitting clusters,
expiry, a small cache that evicts, gaps that empty it) and checks the stored state against itself.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from elasticsearch import AsyncElasticsearch

from tests.linkage_posts import summary
from trailhound.config import Settings
from trailhound.detectors.linkage.key_index import HubKey, Link
from trailhound.provision import prepare_servers
from trailhound.streams.cluster_cache import ClusterCache
from trailhound.streams.linkage import Linkage

PHONES = tuple(f"+{n}" for n in range(30))


async def _inconsistencies(client: AsyncElasticsearch, settings: Settings) -> list[str]:
    clusters, members = settings.index("clusters"), settings.index("cluster-members")
    await client.indices.refresh(index=[clusters, members])
    holder: dict[str, str] = {}
    problems = []
    for hit in (await client.search(index=clusters, size=10_000, query={"match_all": {}}))["hits"]["hits"]:
        for member in hit["_source"]["state"]["members"]:
            if member["post_key"] in holder:
                problems.append(f"{member['post_key']} stored in {holder[member['post_key']]} and {hit['_id']}")
            holder[member["post_key"]] = hit["_id"]
    named = {hit["_source"]["post_key"]: hit["_source"]["cluster_id"]
             for hit in (await client.search(index=members, size=10_000, query={"match_all": {}}))["hits"]["hits"]}
    problems += [f"{post} is a member of {cluster} by its membership, of {holder.get(post)} by the clusters"
                 for post, cluster in named.items() if holder.get(post) != cluster]
    problems += [f"{post} in {cluster} has no membership" for post, cluster in holder.items() if post not in named]
    return problems


async def test_no_post_is_stored_in_two_clusters_and_every_membership_names_its_cluster(settings: Settings) -> None:
    own = replace(settings.with_namespace(f"{settings.namespace}k{uuid.uuid4().hex[:6]}"), linkage_retention_days=1.0)
    prepare_servers(own)
    rng = random.Random(0)
    client = AsyncElasticsearch(own.elasticsearch_url)

    async def publish(alerts: list[dict[str, Any]]) -> None:
        return None

    try:
        linkage = Linkage(own, client, SimpleNamespace(category_labels={}))  # type: ignore[arg-type]
        linkage.cache = ClusterCache(max_items=30)  # evicts all the time
        posts, events, offset, day = [], [], 0, 0.0
        for step in range(400):
            day += rng.uniform(0, 0.2)
            post = summary(day=day, phone=rng.choice(PHONES), categories=("price",), key=f"c:{step:04d}")
            for _ in range(rng.randint(1, 3) if posts else 0):
                other = rng.choice(posts) if rng.random() < 0.3 else rng.choice(posts[-40:])  # some past the window
                key = f"phone:{rng.choice(PHONES[:8])}" if rng.random() < 0.5 else f"phone:{post.phones[0]}"
                events.append(Link(other, post, key, "same phone"))
            if step and step % 20 == 0:
                events.append(HubKey(f"phone:{rng.choice(PHONES[:8])}", 25, 40))
            posts.append(post)
            if step % 5 == 4:
                records = [Linkage.event_record(event) for event in events]
                offset += 5 if rng.random() < 0.1 else 0  # a gap: the cache is emptied
                await linkage.build_clusters(records, publish, (offset, offset + len(records) - 1))
                offset += len(records)
                events = []
            if step % 100 == 99:
                assert await _inconsistencies(client, own) == [], f"after post {step}"
        stored = await client.count(index=own.index("clusters"))
        assert stored["count"] >= 5, "the feed made clusters (the check above had something to check)"
    finally:
        await client.close()
