"""The recorder's memory of alerts it wrote lately (what a search of the alerts index may not show yet)."""

from __future__ import annotations

from typing import Any

from trailhound.alerts.recent import RecentAlerts


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def doc(alert_id: str, posts: list[str], status: str = "new", **details: Any) -> dict[str, Any]:
    return {"event": {"id": alert_id}, "rule": {"category": "labour"}, "message": "long text",
            "trailhound": {"post_ids": posts, "status": status, "indicators": [{"evidence": "x"}], **details}}


def everything(_: dict[str, Any]) -> bool:
    return True


def test_a_written_alert_is_remembered_for_keep_s_then_forgotten():
    clock = Clock()
    recent = RecentAlerts(keep_s=10.0, clock=clock)
    recent.remember(doc("a", ["p1"]))
    clock.now += 5
    recent.remember(doc("b", ["p2"]))
    clock.now += 5.5
    assert [d["event"]["id"] for d in recent.documents()] == ["b"]
    clock.now += 5
    assert recent.documents() == []


def test_writing_again_keeps_the_alert_longer_and_the_latest_fields_only():
    clock = Clock()
    recent = RecentAlerts(keep_s=10.0, clock=clock)
    first = doc("a", ["p1"])
    recent.remember(first)
    first["trailhound"]["post_ids"].append("changed by the caller afterwards")
    clock.now += 8
    recent.remember(doc("a", ["p1", "p2"]))
    clock.now += 8
    [kept] = recent.documents()
    assert kept["trailhound"]["post_ids"] == ["p1", "p2"]
    assert "indicators" not in kept["trailhound"] and "message" not in kept, "only what the related decision reads"


def test_remembered_alerts_complete_the_search_but_the_status_stays_the_index_s():
    recent = RecentAlerts(clock=Clock())
    recent.remember(doc("a", ["p1", "p2"]))  # grew a moment ago; the index still has one post
    recent.remember(doc("b", ["p3"]))  # not searchable yet
    recent.remember(doc("c", ["p9"]))  # about something else
    hits = [doc("a", ["p1"], status="dismissed"), doc("z", ["p4"])]
    merged = {d["event"]["id"]: d for d in recent.with_index(hits, lambda d: "p9" not in d["trailhound"]["post_ids"])}
    assert sorted(merged) == ["a", "b", "z"]
    assert merged["a"]["trailhound"]["post_ids"] == ["p1", "p2"]
    assert merged["a"]["trailhound"]["status"] == "dismissed", "an analyst's decision is the index's"
    assert merged["b"]["trailhound"]["status"] == "new"


def test_a_partial_update_is_merged_into_the_remembered_alert():
    recent = RecentAlerts(clock=Clock())
    recent.remember(doc("n", ["p1"], cluster={"contacts": ["phone:+1"], "route": ["x"]}))
    recent.update("n", {"related_alerts": ["g1"], "cluster": {"merged_into": "c2"}, "score": 0.9})
    recent.update("unknown", {"related_alerts": ["g2"]})
    [kept] = recent.with_index([], everything)
    assert kept["trailhound"]["related_alerts"] == ["g1"]
    assert kept["trailhound"]["cluster"] == {"contacts": ["phone:+1"], "merged_into": "c2"}
    assert "score" not in kept["trailhound"]
