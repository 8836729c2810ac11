"""A cluster's network alert and the grouped alert about the same posts know each other and share partners."""

from __future__ import annotations

from typing import Any

from tests.unit.test_alert_transitions_grouping import alert
from trailhound.alerts.related import RelatedIndex, partners_told, related_query


def network(cluster: str, posts: list[str], contacts: list[str], **details: Any) -> dict[str, Any]:
    return {"event": {"id": f"net-{cluster}"}, "rule": {"id": "trailhound.network", "category": "network"},
            "trailhound": {"cluster_id": cluster, "post_ids": posts, "status": "new",
                           "entity": {"key": contacts[0] if contacts else ""},
                           "cluster": {"id": cluster, "contacts": contacts}, **details}}


def test_a_network_alert_is_related_to_open_grouped_alerts_sharing_a_post_or_a_contact():
    ring = network("c1", ["p1", "p2"], ["phone:+15550100001"])
    by_post = alert("p2", contact="phone:+15550100999")
    by_contact = alert("p9", contact="phone:+15550100001")
    stranger = alert("p7", contact="phone:+15550100777")
    closed = alert("p1")
    closed["trailhound"]["status"] = "resolved"
    other_ring = network("c2", ["p1"], ["phone:+15550100001"])
    found = RelatedIndex([by_post, by_contact, stranger, closed, other_ring]).related_to(ring)
    assert [a["event"]["id"] for a in found] == sorted([by_post["event"]["id"], by_contact["event"]["id"]])


def test_a_grouped_alert_is_related_to_the_network_alert_of_its_contact_and_not_to_itself():
    group = alert("p5", contact="phone:+15550100001")
    ring = network("c1", ["p1"], ["phone:+15550100001", "email:a@example.org"])
    elsewhere = network("c2", ["p8"], ["phone:+15550100002"])
    assert RelatedIndex([group, ring, elsewhere]).related_to(group) == [ring]
    post_only = alert("p6", contact="post:web:p6")
    assert RelatedIndex([ring]).related_to(post_only) == []  # a post without a contact shares no contact


def test_partners_already_told_by_a_related_alert_are_not_told_again():
    told = alert("p1")
    told["trailhound"]["escalated_to"] = ["hotline", "north"]
    untold = network("c1", ["p1"], [])
    assert partners_told([told, untold]) == {"hotline", "north"}
    assert partners_told([]) == set()


def test_the_query_asks_for_the_other_kind_of_open_alert_by_posts_and_contacts():
    query = related_query([network("c1", ["p1", "p2"], ["phone:+15550100001"])])
    assert query is not None
    matching, kinds = query["bool"]["filter"]
    assert {"terms": {"trailhound.post_ids": ["p1", "p2"]}} in matching["bool"]["should"]
    assert {"terms": {"trailhound.entity.key": ["phone:+15550100001"]}} in matching["bool"]["should"]
    assert kinds["bool"]["should"] == [{"bool": {"must_not": {"term": {"rule.category": "network"}}}}]
    assert query["bool"]["must_not"] == [{"terms": {"trailhound.status": ["dismissed", "resolved"]}}]
    groups_query = related_query([alert("p3")])
    assert groups_query is not None
    assert groups_query["bool"]["filter"][1]["bool"]["should"] == [{"term": {"rule.category": "network"}}]
    assert related_query([]) is None
    assert related_query([alert("p4", contact="post:web:p4") | {"trailhound": {"post_ids": []}}]) is None


def test_the_index_of_a_batch_finds_for_every_alert_exactly_the_related_candidates():
    """The recorder indexes a batch's candidates once; each alert's answer is the pairwise rule's."""
    import random

    rng = random.Random(7)
    contacts = [f"phone:+1555010{i:04d}" for i in range(6)]

    def some(prefix: str, pool: int) -> list[str]:
        return [f"{prefix}{rng.randrange(pool)}" for _ in range(rng.randrange(0, 4))]

    candidates = []
    for i in range(40):
        if i % 2:
            found = network(f"c{i}", some("p", 40), rng.sample(contacts, rng.randrange(0, 3)))
        else:
            found = alert(f"p{i}", contact=rng.choice(contacts))
        if i % 7 == 0:
            found["trailhound"]["status"] = "resolved"
        candidates.append(found)
    index = RelatedIndex(candidates)

    def shares(a: dict[str, Any], b: dict[str, Any]) -> bool:
        sets = [(set(x["trailhound"].get("post_ids") or ()), set(x["trailhound"].get("cluster", {}).get("contacts")
                 or [x["trailhound"]["entity"]["key"]])) for x in (a, b)]
        return bool(sets[0][0] & sets[1][0] or sets[0][1] & sets[1][1])

    for asking in candidates:
        expected = sorted(c["event"]["id"] for c in candidates
                          if c is not asking and c["trailhound"]["status"] != "resolved"
                          and (c["rule"]["category"] == "network") != (asking["rule"]["category"] == "network")
                          and shares(asking, c))
        assert [c["event"]["id"] for c in index.related_to(asking)] == expected
    assert any(index.related_to(a) for a in candidates), "the feed has relations to find"
