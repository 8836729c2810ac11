"""The cluster stage's memory of its clusters: trusted only while batches follow one another, and bounded."""

from __future__ import annotations

from trailhound.detectors.linkage.clusters import Cluster, Edge, Member
from trailhound.streams.cluster_cache import ClusterCache, Stored


def _cluster(cluster_id: str, *posts: str, key: str = "phone:+1") -> Cluster:
    members = {p: Member(p, 0.0, "", "Denver", key, "", (), (), 0.0) for p in posts}
    edges = [Edge(a, b, key, "same phone") for a, b in zip(posts, posts[1:], strict=False)]
    return Cluster(cluster_id, members, edges)


def _keep(cache: ClusterCache, *clusters: Cluster, left: tuple[str, ...] = ()) -> None:
    cache.keep({c.cluster_id: Stored(c) for c in clusters}, {c.cluster_id: c for c in clusters},
               {p: c.cluster_id for c in clusters for p in c.members}, left)


def test_batches_that_follow_one_another_keep_the_clusters_and_a_gap_forgets_them() -> None:
    cache = ClusterCache()
    cache.begin(0)
    _keep(cache, _cluster("c1", "p1", "p2"))
    cache.finish(9)
    cache.begin(10)
    assert cache.cluster_of("p2") == "c1" and cache.get("c1") is not None
    cache.finish(12)
    cache.begin(20)  # another worker had the partition, or a batch is read again
    assert cache.cluster_of("p2") is None and cache.get("c1") is None and not cache.searchable


def test_a_batch_that_did_not_finish_leaves_no_offset_to_follow() -> None:
    cache = ClusterCache()
    cache.begin(0)
    _keep(cache, _cluster("c1", "p1", "p2"))
    cache.finish(4)
    cache.begin(5)  # this batch fails: finish is never called
    cache.begin(5)  # read again from the same offset
    assert cache.get("c1") is None


def test_unknown_offsets_trust_nothing() -> None:
    cache = ClusterCache()
    cache.begin(None)
    _keep(cache, _cluster("c1", "p1", "p2"))
    cache.finish(None)
    cache.begin(None)
    assert cache.get("c1") is None


def test_posts_that_left_and_clusters_that_ended_are_forgotten() -> None:
    cache = ClusterCache()
    cache.begin(0)
    _keep(cache, _cluster("c1", "p1", "p2", "p3"))
    split = _cluster("c2", "p2", "p3")
    cache.keep({"c1": cache.get("c1"), "c2": Stored(split)}, {"c2": split}, {"p2": "c2", "p3": "c2"},  # type: ignore[dict-item]
               ["p1"])
    assert cache.get("c1") is None and cache.cluster_of("p1") is None and cache.cluster_of("p3") == "c2"


def test_the_least_recently_kept_clusters_leave_when_the_bound_is_reached() -> None:
    cache = ClusterCache(max_items=12)  # a two-post cluster counts 1 + 2 members + 1 link
    cache.begin(0)
    cache.searchable = True
    for n in range(5):
        _keep(cache, _cluster(f"c{n}", f"p{n}a", f"p{n}b"))
    assert len(cache) == 3 and cache.get("c0") is None and cache.get("c4") is not None
    assert cache.cluster_of("p0a") is None and cache.cluster_of("p4b") == "c4"
    assert not cache.searchable, "a cluster written a moment ago left: the next hub search must refresh"


def test_hub_keys_find_the_clusters_linked_through_them() -> None:
    cache = ClusterCache()
    cache.begin(0)
    _keep(cache, _cluster("c1", "p1", "p2", key="phone:+1"), _cluster("c2", "p3", "p4", key="image:ab"))
    assert cache.holding_edge_keys({"image:ab", "phone:+9"}) == {"c2"}
