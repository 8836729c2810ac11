"""Cluster and watchlist alert documents, their in-place update, and evidence records."""

from __future__ import annotations

import pytest

from tests.linkage_posts import summary
from trailhound.alerts.linkage_alerts import (
    build_cluster_alert,
    build_watchlist_alert,
    canonical_post,
    cluster_alert_id,
    evidence_document,
    is_upserted,
    upsert_parts,
    verify_evidence,
)
from trailhound.config import Settings, SettingsError
from trailhound.detectors.linkage.clusters import ClusterBook
from trailhound.detectors.linkage.key_index import Link
from trailhound.detectors.linkage.networks import assess_cluster
from trailhound.detectors.linkage.watchlist import WatchEntry, WatchMatch
from trailhound.schemas import validate_alert
from trailhound.streams.enrich import enrich_post
from trailhound.streams.linkage import key_partition


def circuit_cluster():
    posts = [summary(day=i, city=c, phone="+12125550147", categories=("control", "youth"), harm=("control", "youth"))
             for i, c in enumerate(("Denver", "Phoenix", "Dallas"))]
    book = ClusterBook()
    book.link(Link(posts[0], posts[1], "phone:+12125550147", "same phone"))
    book.link(Link(posts[1], posts[2], "text:3:abc", "text 0.93 similar", 0.93))
    (cluster,) = book.clusters.values()
    return cluster, posts


def test_a_cluster_alert_names_every_post_city_and_reason_and_is_valid() -> None:
    cluster, posts = circuit_cluster()
    alert = build_cluster_alert(cluster, assess_cluster(cluster), 1_700_000_000.0)
    validate_alert(alert)
    th = alert["trailhound"]
    assert alert["event"]["id"] == cluster_alert_id(cluster.cluster_id)
    assert th["cluster_id"] == cluster.cluster_id == th["entity"]["cluster_id"]
    assert th["post_ids"] == [p.post_key for p in posts]
    assert th["cluster"]["cities"] == ["Denver", "Phoenix", "Dallas"] and th["cluster"]["city_count"] == 3
    assert th["cluster"]["link_reasons"] == ["same phone", "text similar"]
    assert any(link["reason"] == "text 0.93 similar" for link in th["cluster"]["links"])
    assert "Denver → Phoenix → Dallas" in alert["message"]
    assert th["entity"]["phones"] == ["+12125550147"]


def test_the_alert_id_follows_the_cluster_not_its_size() -> None:
    cluster, posts = circuit_cluster()
    first = build_cluster_alert(cluster, assess_cluster(cluster), 1.0)
    book = ClusterBook([cluster])
    book.link(Link(posts[2], summary(day=4, city="Miami", phone="+12125550147"), "phone:+12125550147", "same phone"))
    grown = build_cluster_alert(book.clusters[cluster.cluster_id], assess_cluster(book.clusters[cluster.cluster_id]),
                                2.0)
    assert grown["event"]["id"] == first["event"]["id"]
    assert len(grown["trailhound"]["post_ids"]) == 4


def test_updates_leave_the_lifecycle_status_and_creation_time_alone() -> None:
    cluster, _ = circuit_cluster()
    alert = build_cluster_alert(cluster, assess_cluster(cluster), 1.0)
    assert is_upserted(alert)
    doc, on_create = upsert_parts(alert)
    assert "status" not in doc["trailhound"] and "created" not in doc["event"]
    assert on_create["trailhound"]["status"] == "new"
    assert doc["trailhound"]["post_ids"] == alert["trailhound"]["post_ids"]


def test_a_watchlist_alert_carries_the_case_and_who_may_see_it() -> None:
    enriched = enrich_post({"id": "9", "source": "t.example", "posted_at": "2025-01-01T00:00:00Z",
                            "body": "text two one two five five five zero one four seven"}, 0.0)
    entry = WatchEntry("phone", "+12125550147", "NGO-17", "hotline", ("hotline", "unit-3"))
    alert = build_watchlist_alert(enriched, [WatchMatch(entry, "+12125550147")], 5.0)
    validate_alert(alert)
    assert not is_upserted(alert)
    assert alert["trailhound"]["visible_to"] == ["hotline", "unit-3"]
    assert "NGO-17" in alert["message"] and alert["trailhound"]["watchlist"][0]["found"] == "+12125550147"


def test_evidence_verifies_until_the_bytes_change() -> None:
    post = {"id": "1", "source": "t.example", "body": "café", "posted_at": "2025-01-01T00:00:00Z"}
    record = evidence_document("t.example:1", post, "alert-1", 10.0)
    assert record["original"].encode("utf-8") == canonical_post(post)
    assert verify_evidence(record)
    assert not verify_evidence({**record, "original": record["original"].replace("café", "cafe")})
    assert canonical_post(dict(reversed(list(post.items())))) == canonical_post(post)


def test_keys_go_to_a_stable_partition() -> None:
    assert key_partition("phone:+12125550147", 4) == key_partition("phone:+12125550147", 4)
    assert {key_partition(f"text:{b}:x", 4) for b in range(40)} == {0, 1, 2, 3}


@pytest.mark.parametrize("name, value", [
    ("TRAILHOUND_LINKAGE_RETENTION_DAYS", "15"), ("TRAILHOUND_LINK_TEXT_SIMILARITY", "0"),
    ("TRAILHOUND_LINK_IMAGE_RADIUS", "4"), ("TRAILHOUND_HUB_MIN_TEXTS", "1"), ("TRAILHOUND_CIRCUIT_MIN_CITIES", "1"),
    ("TRAILHOUND_KEY_INDEX_STORE", "redis"), ("TRAILHOUND_LINKAGE_MAX_CLUSTER_POSTS", "1"),
])
def test_linkage_settings_out_of_range_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name.removeprefix("TRAILHOUND_")[:12]):
        Settings.from_env({name: value})


def test_linkage_settings_are_read() -> None:
    settings = Settings.from_env({"TRAILHOUND_LINKAGE_RETENTION_DAYS": "7", "TRAILHOUND_HUB_MIN_TEXTS": "30",
                                  "TRAILHOUND_TEMPLATE_MIN_CONTACTS": "5",
                                  "TRAILHOUND_LINKAGE_MAX_CLUSTER_POSTS": "50"})
    assert (settings.linkage_retention_days, settings.hub_min_texts, settings.template_min_contacts,
            settings.linkage_max_cluster_posts) == (7.0, 30, 5, 50)
    assert Settings.from_env({}).linkage_max_cluster_posts == 1000


def test_a_network_at_its_size_limit_says_so_in_its_alert() -> None:
    posts = [summary(day=i, city=c, phone="+12125550147") for i, c in enumerate(("Denver", "Phoenix", "Dallas"))]
    book = ClusterBook(max_posts=2)
    book.link(Link(posts[0], posts[1], "phone:+12125550147", "same phone"))
    book.link(Link(posts[1], posts[2], "phone:+12125550147", "same phone"))
    (cluster,) = book.clusters.values()
    alert = build_cluster_alert(cluster, assess_cluster(cluster), 1.0)
    validate_alert(alert)
    assert alert["trailhound"]["cluster"]["links_refused"] == 1
    assert "at its size limit: 1 link to further posts not followed" in alert["message"]
    assert alert["message"].startswith("Network of 2 posts in 2 cities (Denver → Phoenix) under 1 contact:")
    plain, _ = circuit_cluster()
    plain_alert = build_cluster_alert(plain, assess_cluster(plain), 1.0)
    assert plain_alert["trailhound"]["cluster"]["links_refused"] == 0 and "size limit" not in plain_alert["message"]
