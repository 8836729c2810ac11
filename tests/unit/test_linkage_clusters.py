"""Clusters: links merge posts, ids depend only on members, hubs split what they glued, retention forgets."""

from __future__ import annotations

import itertools
import random
import sys
import tracemalloc

import orjson

from tests.linkage_posts import summary
from trailhound.detectors.linkage.clusters import Cluster, ClusterBook, cluster_id_for
from trailhound.detectors.linkage.key_index import HubKey, Link


def link(a, b, key="phone:+1", reason="same phone") -> Link:
    return Link(a, b, key, reason)


def test_linked_posts_form_one_cluster_named_after_the_earliest_post() -> None:
    a, b, c = summary(day=0), summary(day=1), summary(day=2)
    book = ClusterBook()
    book.link(link(b, c))
    book.link(link(a, b))
    (cluster,) = book.clusters.values()
    assert cluster.cluster_id == cluster_id_for(a.post_key)
    assert set(cluster.members) == {a.post_key, b.post_key, c.post_key}
    assert [e.reason for e in cluster.edges] == ["same phone", "same phone"]


def test_merging_keeps_the_older_cluster_id_and_records_the_other() -> None:
    a, b, c, d = (summary(day=d) for d in range(4))
    book = ClusterBook()
    book.link(link(c, d, "email:x"))
    book.take_changes()
    young = cluster_id_for(c.post_key)
    book.link(link(a, b))
    book.link(link(b, c, "text:1:aa", "text 0.93 similar"))
    changed, retired = book.take_changes()
    assert [x.cluster_id for x in changed] == [cluster_id_for(a.post_key)]
    assert retired == {young: cluster_id_for(a.post_key)}
    assert changed[0].merged_from == [young]


def test_the_cluster_id_does_not_depend_on_the_order_links_arrive_in() -> None:
    posts = [summary(day=d) for d in range(6)]
    links = [link(posts[i], posts[i + 1], f"phone:+{i}") for i in range(5)]
    outcomes = set()
    for order in itertools.islice(itertools.permutations(links), 0, 720, 37):
        book = ClusterBook()
        for item in order:
            book.link(item)
        (cluster,) = book.clusters.values()
        outcomes.add((cluster.cluster_id, frozenset(cluster.members)))
    assert outcomes == {(cluster_id_for(posts[0].post_key), frozenset(p.post_key for p in posts))}


def test_a_cluster_survives_a_round_trip_through_json_and_keeps_growing() -> None:
    a, b, c = summary(day=0, city="Denver"), summary(day=1, city="Dallas"), summary(day=2)
    book = ClusterBook()
    book.link(link(a, b))
    (stored,) = [x.to_json() for x in book.clusters.values()]
    again = ClusterBook([Cluster.from_json(stored)])
    again.link(link(b, c))
    (cluster,) = again.clusters.values()
    assert cluster.cluster_id == cluster_id_for(a.post_key)
    assert cluster.members[b.post_key].city == "Dallas" and len(cluster.members) == 3


def test_the_encoded_state_written_to_elasticsearch_is_the_json_state_also_after_the_cluster_changed() -> None:
    a, b, c, d = (summary(day=day, city=city) for day, city in enumerate(("Denver", "Dallas", "Reno", "Waco")))
    book = ClusterBook()
    book.link(link(a, b))
    book.link(link(c, d, "email:c"))
    for cluster in book.clusters.values():
        assert orjson.loads(cluster.encoded()) == cluster.to_json()  # members' and links' encodings now kept
    book.link(link(b, c, "text:1:ab"))
    book.hub(HubKey("email:c", 9, 40))
    for cluster in book.clusters.values():
        assert orjson.loads(cluster.encoded()) == cluster.to_json()
        assert Cluster.from_json(orjson.loads(cluster.encoded())).to_json() == cluster.to_json()


def test_a_cluster_kept_in_memory_costs_about_the_size_of_its_json_not_a_buffer_per_post_and_link() -> None:
    """The cluster stage keeps up to 150,000 posts and links of clusters in memory with their encodings; a
    buffer of 4 KB kept for each (orjson's, as it hands them back) made its memory grow by hundreds of MB."""
    posts = [summary(day=day % 9) for day in range(200)]
    book = ClusterBook()
    for a, b in itertools.pairwise(posts):
        book.link(link(a, b))
    (cluster,) = book.clusters.values()
    tracemalloc.start()
    try:
        encoded = cluster.encoded()  # every member's and link's encoding made and kept
        kept = tracemalloc.get_traced_memory()[0] - sys.getsizeof(encoded)
    finally:
        tracemalloc.stop()
    items = len(cluster.members) + len(cluster.edges)
    assert kept / items < 2 * len(encoded) / items + 200  # each kept encoding about its own size


def test_clusters_stored_with_a_shared_post_are_repaired_not_a_stalled_stage() -> None:
    """A post stored in two clusters stays in the first; links through it work, and the second is rewritten."""
    a, b, c, d = (summary(day=day) for day in range(4))
    first, second = ClusterBook(), ClusterBook()
    first.link(link(a, b))
    second.link(link(b, c))
    second.link(link(c, d))  # b in both
    book = ClusterBook([*first.clusters.values(), *second.clusters.values()])
    kept, lost = (cluster_id_for(a.post_key), cluster_id_for(b.post_key))
    assert book.repaired == {b.post_key} and book.cluster_of[b.post_key] == kept
    assert b.post_key not in book.clusters[lost].members and len(book.clusters[lost].members) == 2
    assert book.changed == {kept, lost}  # the keeper is written too, with the post's membership
    assert book.link(link(b, d)) == kept  # links through the repaired post work
    changed, _ = book.take_changes()
    assert {cluster.cluster_id for cluster in changed} == {kept}  # d's cluster merged into the keeper


def test_a_stored_cluster_left_with_fewer_than_two_posts_by_a_repair_is_dissolved() -> None:
    """Two stored clusters holding the same two posts: the second keeps nothing, so it is deleted, not written
    empty (writing it failed every batch that touched it)."""
    a, b = summary(day=0), summary(day=1)
    first, second = ClusterBook(), ClusterBook()
    first.link(link(a, b))
    second.link(link(b, a))
    twin = next(iter(second.clusters.values()))
    twin.cluster_id = "cl-twin"
    book = ClusterBook([*first.clusters.values(), twin])
    changed, retired = book.take_changes()
    assert [cluster.cluster_id for cluster in changed] == [cluster_id_for(a.post_key)]
    assert retired == {"cl-twin": ""}
    assert book.cluster_of == {a.post_key: cluster_id_for(a.post_key), b.post_key: cluster_id_for(a.post_key)}


def test_a_hub_notice_splits_what_the_hub_alone_held_together() -> None:
    a1, a2, b1, b2 = summary(day=0), summary(day=1), summary(day=2), summary(day=3)
    book = ClusterBook()
    book.link(link(a1, a2, "email:a"))
    book.link(link(b1, b2, "email:b"))
    book.link(link(a2, b1, "phone:+hub"))
    assert len(book.clusters) == 1
    book.take_changes()
    book.hub(HubKey("phone:+hub", 20, 40))
    ids = {c.cluster_id: set(c.members) for c in book.clusters.values()}
    assert ids == {cluster_id_for(a1.post_key): {a1.post_key, a2.post_key},
                   cluster_id_for(b1.post_key): {b1.post_key, b2.post_key}}
    assert all("phone:+hub" in c.hubs for c in book.clusters.values())
    assert book.link(link(a1, b2, "phone:+hub")) is None  # the hub links nothing any more
    assert len(book.clusters) == 2


def test_split_leaves_single_posts_out_of_any_cluster() -> None:
    a, b, c = summary(day=0), summary(day=1), summary(day=2)
    book = ClusterBook()
    book.link(link(a, b, "email:a"))
    book.link(link(b, c, "phone:+hub"))
    book.hub(HubKey("phone:+hub", 20, 40))
    (cluster,) = book.clusters.values()
    assert set(cluster.members) == {a.post_key, b.post_key}
    assert c.post_key not in book.cluster_of


def test_expiry_forgets_old_members_and_dissolves_what_is_left_alone() -> None:
    a, b, c = summary(day=0), summary(day=5), summary(day=6)
    book = ClusterBook()
    book.link(link(a, b))
    book.link(link(b, c))
    book.expire(horizon=summary(day=4).ts)
    (cluster,) = book.clusters.values()
    assert set(cluster.members) == {b.post_key, c.post_key}
    assert cluster.cluster_id == cluster_id_for(a.post_key)  # an id never changes under an analyst's feet
    book.take_changes()
    book.expire(horizon=summary(day=6).ts)
    assert not book.clusters and not book.cluster_of
    assert book.take_changes() == ([], {cluster_id_for(a.post_key): ""}), \
        "a dissolved cluster is retired, so its stored document is deleted and no search finds it again"


def test_random_link_orders_give_the_same_partition() -> None:
    rng = random.Random(4)
    posts = [summary(day=d / 10) for d in range(30)]
    pairs = [(rng.randrange(30), rng.randrange(30)) for _ in range(25)]
    results = set()
    for _ in range(5):
        rng.shuffle(pairs)
        book = ClusterBook()
        for i, j in pairs:
            book.link(link(posts[i], posts[j], f"phone:{min(i, j)}"))
        results.add(frozenset((c.cluster_id, frozenset(c.members)) for c in book.clusters.values()))
    assert len(results) == 1


def test_a_cluster_stops_growing_at_its_size_limit_and_counts_what_it_refused() -> None:
    posts = [summary(day=d) for d in range(6)]
    book = ClusterBook(max_posts=4)
    for a, b in itertools.pairwise(posts):  # a chain, as near-copies of one template make
        book.link(link(a, b))
    cluster = book.clusters[cluster_id_for(posts[0].post_key)]
    assert set(cluster.members) == {p.post_key for p in posts[:4]}
    assert cluster.links_refused == 1
    rest = book.clusters[cluster_id_for(posts[4].post_key)]  # the chain goes on in a cluster of its own
    assert set(rest.members) == {posts[4].post_key, posts[5].post_key} and rest.links_refused == 0
    assert book.link(link(posts[0], posts[3], "email:y")) == cluster.cluster_id  # links inside still count
    assert len(cluster.edges) == 4


def test_two_clusters_that_together_pass_the_limit_stay_apart() -> None:
    a = [summary(day=d) for d in range(3)]
    b = [summary(day=10 + d) for d in range(2)]
    book = ClusterBook(max_posts=4)
    book.link(link(a[0], a[1]))
    book.link(link(a[1], a[2]))
    book.link(link(b[0], b[1], "email:b"))
    assert book.link(link(a[2], b[0], "text:1:aa", "text 0.9 similar")) is None
    assert sorted(len(c.members) for c in book.clusters.values()) == [2, 3]
    assert book.clusters[cluster_id_for(a[0].post_key)].links_refused == 1
    exactly = ClusterBook(max_posts=5)
    for x, y, key in ((a[0], a[1], "p"), (a[1], a[2], "p"), (b[0], b[1], "e"), (a[2], b[0], "t")):
        exactly.link(link(x, y, key))
    assert [len(c.members) for c in exactly.clusters.values()] == [5]  # the limit itself is allowed


def test_refused_links_survive_json_and_add_up_when_clusters_merge() -> None:
    posts = [summary(day=d) for d in range(6)]
    book = ClusterBook(max_posts=2)
    book.link(link(posts[0], posts[1]))
    book.link(link(posts[1], posts[2]))  # refused: the first cluster counts it
    book.link(link(posts[3], posts[4], "email:z"))
    book.link(link(posts[4], posts[5], "email:z"))  # refused twice by the second cluster
    book.link(link(posts[5], posts[3], "email:z"))
    stored = [c.to_json() for c in book.clusters.values()]
    assert sorted(Cluster.from_json(c).links_refused for c in stored) == [1, 2]
    wide = ClusterBook([Cluster.from_json(c) for c in stored], max_posts=10)
    wide.link(link(posts[1], posts[4], "text:1:aa", "text 0.9 similar"))
    (merged,) = wide.clusters.values()
    assert len(merged.members) == 4 and merged.links_refused == 3


def test_a_post_going_back_to_the_cluster_it_founded_counts_towards_the_limit() -> None:
    p = [summary(day=d) for d in range(5)]
    book = ClusterBook(max_posts=3)
    book.link(link(p[0], p[1]))
    book.link(link(p[1], p[2]))
    book.expire(p[1].ts)  # p[0] leaves the cluster it founded, which keeps its id
    book.link(link(p[3], p[4], "email:z"))
    assert book.link(link(p[0], p[3], "email:z")) is None  # p[0] rejoining would make 2 + 1 + 2 posts
    book.link(link(p[0], p[2]))  # back into its own cluster: 3 posts, allowed
    assert sorted(len(c.members) for c in book.clusters.values()) == [2, 3]
    fresh = Cluster("cl-x", {})
    assert "links_refused" not in fresh.to_json()  # stored documents of clusters never capped are unchanged
