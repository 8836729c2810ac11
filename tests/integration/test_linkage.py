"""Linkage on the real stack: networks become one explained cluster alert, the same on any worker."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from tests.helpers import jsonl, run_cli, wait_for
from trailhound.config import Settings

PHONE_TEXT = "two one two five five five zero one four seven"  # +1 212 555 0147, written evasively
CIRCUIT = [  # one controller phone, three personas, a route through five cities; each ad reads mildly
    ("c1", "Denver", "luna", "New girl just arrived in town, ask for Luna, I book for her. Call 212-555-0147."),
    ("c2", "Phoenix", "mia", f"Sweet young newcomer Mia, first week, my girls wait for you. Text {PHONE_TEXT}."),
    ("c3", "Dallas", "ivy", "Ivy is new here, very young and fresh, call the manager at 212 555 0147 to book."),
    ("c4", "Atlanta", "luna", "Luna back for two days only, driver drops her off, call (212) 555-0147 tonight."),
    ("c5", "Miami", "mia", "Fresh young girl Mia just started, she cannot go out alone. Call 212.555.0147."),
]


def circuit_post(n: int, day: int) -> dict[str, Any]:
    post_id, city, author, body = CIRCUIT[n]
    return {"id": post_id, "source": "linkage.example", "posted_at": f"2026-11-{10 + day:02d}T1{n}:00:00Z",
            "body": body, "author": author, "location": {"city": city, "region": "", "country": "US"}}


def network_alerts(es: Elasticsearch, settings: Settings) -> list[dict[str, Any]]:
    es.indices.refresh(index=settings.index("alerts"))
    hits = es.search(index=settings.index("alerts"), query={"term": {"rule.id": "trailhound.network"}},
                     size=100)["hits"]["hits"]
    return [h["_source"] for h in hits]


def clusters(es: Elasticsearch, settings: Settings) -> dict[str, frozenset[str]]:
    """Every stored cluster: id → its posts."""
    index = settings.index("clusters")
    if not es.indices.exists(index=index):  # created by the first cluster written
        return {}
    es.indices.refresh(index=index)
    hits = es.search(index=index, query={"match_all": {}}, size=1000)["hits"]["hits"]
    return {h["_id"]: frozenset(m["post_key"] for m in h["_source"]["state"]["members"]) for h in hits}


def ingest(settings: Settings, tmp_path, name: str, *posts: dict[str, Any]) -> None:
    feed = tmp_path / name
    feed.write_bytes(jsonl(*posts))
    result = run_cli(settings, "ingest", str(feed))
    assert result.returncode == 0, result.stderr


def test_a_circuit_becomes_one_alert_updated_in_place_and_kept_across_a_restart(settings, start_worker, es, tmp_path):
    worker = start_worker(settings)
    ingest(settings, tmp_path, "first.jsonl", *(circuit_post(n, n) for n in range(3)))

    def grown_to(n: int):
        def probe():
            found = network_alerts(es, settings)
            return found if found and len(found[0]["trailhound"]["post_ids"]) == n else None
        return probe

    (alert,) = wait_for(grown_to(3), timeout_s=90, what="a cluster alert over the first three posts")
    cluster_id = alert["trailhound"]["cluster_id"]
    assert alert["trailhound"]["post_ids"] == [f"linkage.example:c{n}" for n in (1, 2, 3)]
    assert [stop["city"] for stop in alert["trailhound"]["cluster"]["route"]] == ["Denver", "Phoenix", "Dallas"]
    assert "Denver → Phoenix → Dallas" in alert["message"]
    assert "circuit" in alert["trailhound"]["cluster"]["networks"]
    assert "same phone" in alert["trailhound"]["cluster"]["link_reasons"]
    assert alert["trailhound"]["entity"]["phones"] == ["+12125550147"]
    es.update(index=settings.index("alerts"), id=alert["event"]["id"], doc={"trailhound": {"status": "acknowledged"}},
              refresh=True)  # an analyst picked it up: growing must not reset that

    worker.stop()
    start_worker(settings)
    ingest(settings, tmp_path, "later.jsonl", circuit_post(3, 3), circuit_post(4, 4))
    (grown,) = wait_for(grown_to(5), timeout_s=90, what="the same alert grown to five posts")
    assert grown["event"]["id"] == alert["event"]["id"] and grown["trailhound"]["cluster_id"] == cluster_id
    assert grown["trailhound"]["status"] == "acknowledged"
    assert grown["trailhound"]["cluster"]["cities"] == ["Denver", "Phoenix", "Dallas", "Atlanta", "Miami"]
    assert grown["trailhound"]["cluster"]["city_count"] == 5
    route = grown["trailhound"]["cluster"]["route"]
    assert route[0]["first_seen"] <= route[0]["last_seen"] < route[-1]["first_seen"]
    found = es.search(index=settings.index("alerts"), query={"range": {"trailhound.cluster.city_count": {"gte": 5}}})
    assert found["hits"]["total"]["value"] == 1, "Kibana can find clusters spanning many cities"

    def verified():
        result = run_cli(settings, "evidence", "verify", alert["event"]["id"])
        return result if result.returncode == 0 else None

    result = wait_for(verified, timeout_s=60, what="evidence of all five posts")
    assert "5 of 5 posts verified" in result.stdout
    record = es.search(index=settings.index("evidence"), query={"term": {"post_key": "linkage.example:c1"}})
    doc = record["hits"]["hits"][0]
    assert json.loads(doc["_source"]["original"])["body"] == CIRCUIT[0][3]
    es.update(index=settings.index("evidence"), id=doc["_id"], refresh=True,
              doc={"original": doc["_source"]["original"].replace("Luna", "Lena")})
    tampered = run_cli(settings, "evidence", "verify", alert["event"]["id"])
    assert tampered.returncode == 1 and "MISMATCH  linkage.example:c1" in tampered.stdout


TEMPLATE = ("Work abroad opportunity! Hotel cleaners needed in Dubai, no experience required, earn $7,500 per "
            "month. Travel and visa fee deducted from salary, the agency keeps your passport. WhatsApp {phone}.")
UNRELATED = (
    "Room for rent near the university, quiet street, shared kitchen and garden",
    "Vintage bicycle for sale, new tyres, rides well, collection only this weekend",
    "Piano lessons for beginners and adults, patient teacher with twenty years of practice",
    "Lost grey cat near the old mill, answers to Pepper, reward offered for news",
    "Weekend yoga retreat in the hills, vegetarian meals and morning walks included",
    "Used textbooks for first year engineering, good condition, fair prices",
    "Garden tools to lend in exchange for fresh eggs, ask about the hedge trimmer",
    "Choir looking for tenors, rehearsals on Thursday evenings in the church hall",
)


def linkage_feed() -> list[dict[str, Any]]:
    posts = [circuit_post(n, n) for n in range(5)]
    for n, phone in enumerate(("305-555-0111", "(415) 555-0122", "702 555 0133", "312.555.0144")):
        posts.append({"id": f"t{n}", "source": "jobs.example", "posted_at": f"2026-11-1{n}T08:00:00Z",
                      "body": TEMPLATE.format(phone=phone), "location": {"city": "Boston"}})
    for n, text in enumerate(UNRELATED):  # a hotel front desk number in unrelated ads, each owner also by e-mail
        for m in range(2):
            posts.append({"id": f"h{n}-{m}", "source": "classifieds.example",
                          "posted_at": f"2026-11-{11 + m:02d}T0{n}:00:00Z",
                          "body": f"{text}. Ask at the front desk 602-555-0100 or mail owner{n}@example.com",
                          "location": {"city": "Seattle"}})
    return posts


@pytest.mark.timeout(720)  # two phases of up to 240 s each after starting three workers: more than the 300 s default
def test_two_workers_find_the_same_clusters_as_one_and_a_hub_links_nothing(stack_settings, start_worker, es,
                                                                             tmp_path):
    from trailhound.provision import prepare_servers

    results = {}
    for workers in (1, 2):
        settings = stack_settings.with_namespace(f"{stack_settings.namespace}w{workers}")
        prepare_servers(settings)
        for _ in range(workers):
            start_worker(settings, extra_env={"TRAILHOUND_HUB_MIN_TEXTS": "6"})
        ingest(settings, tmp_path, f"feed{workers}.jsonl", *linkage_feed())
        expected = 1 + 1 + len(UNRELATED)  # the circuit, the template network, one pair per ad owner

        def settled(settings: Settings = settings, expected: int = expected):
            found = clusters(es, settings)
            posts = sum(map(len, found.values()))
            return found if len(found) == expected and posts == 5 + 4 + 2 * len(UNRELATED) else None

        results[workers] = wait_for(settled, timeout_s=240, what=f"the clusters found by {workers} worker(s)")
        seen: list[str] = []

        def two_alerts(settings: Settings = settings, seen: list[str] = seen):
            # open network alerts: one alerted before links reached it and later absorbed by another stays as
            # a record with ``merged_into``; whether there is one depends on the order links arrive in, and
            # its ``merged_into`` is recorded a batch after the alert that absorbed it, so a third open alert
            # may be seen for a moment
            found = [a for a in network_alerts(es, settings) if not a["trailhound"]["cluster"].get("merged_into")]
            seen[:] = [a["message"] for a in found]
            return found if len(found) == 2 else None

        try:
            alerts = wait_for(two_alerts, timeout_s=90, what="exactly two open network alerts")
        except AssertionError:
            raise AssertionError(f"open network alerts: {seen}") from None
        template = next(a for a in alerts if "template" in a["trailhound"]["cluster"]["networks"])
        assert template["trailhound"]["post_ids"] == [f"jobs.example:t{n}" for n in range(4)]
        assert template["trailhound"]["cluster"]["contact_count"] == 4
        assert any(reason.startswith("text ") for reason in template["trailhound"]["cluster"]["link_reasons"])
    assert results[1] == results[2]
    pairs = [members for members in results[1].values() if any(k.startswith("classifieds.example") for k in members)]
    assert sorted(sorted(p) for p in pairs) == [[f"classifieds.example:h{n}-0", f"classifieds.example:h{n}-1"]
                                                for n in range(len(UNRELATED))]


def test_an_evasively_written_watched_phone_alerts_with_the_case(settings, start_worker, es, tmp_path):
    watch = tmp_path / "watch.jsonl"
    watch.write_text(json.dumps({"kind": "phone", "value": "+1 212 555 0147", "case_ref": "NGO-2026-17",
                                 "partner": "hotline", "visible_to": ["hotline", "unit-3"]}) + "\n")
    result = run_cli(settings, "watchlist", "load", str(watch))
    assert result.returncode == 0 and "loaded 1 watchlist entries (1 phone)" in result.stdout, result.stderr
    start_worker(settings)
    ingest(settings, tmp_path, "one.jsonl", {"id": "w1", "source": "linkage.example",
                                             "posted_at": "2026-11-20T10:00:00Z",
                                             "body": f"Visiting this weekend, text {PHONE_TEXT}"})

    def watched():
        es.indices.refresh(index=settings.index("alerts"))
        hits = es.search(index=settings.index("alerts"), query={"term": {"rule.id": "trailhound.watchlist"}})
        return [h["_source"] for h in hits["hits"]["hits"]] or None

    (alert,) = wait_for(watched, timeout_s=60, what="the watchlist alert")
    assert alert["trailhound"]["watchlist"][0]["case_ref"] == "NGO-2026-17"
    assert alert["trailhound"]["watchlist"][0]["found"] == "+12125550147"
    assert alert["trailhound"]["visible_to"] == ["hotline", "unit-3"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"kind": "phone", "value": "12", "case_ref": "x", "partner": "p"}) + "\n")
    refused = run_cli(settings, "watchlist", "load", str(bad))
    assert refused.returncode == 1 and "line 1" in refused.stderr and "nothing was loaded" in refused.stderr


async def test_a_network_absorbed_before_its_alert_is_written_ends_merged_not_open(settings, es):
    """The alert stage lags the cluster stage (alerts wait on the ``alerts`` topic): a network alerted, then
    absorbed by a network founded earlier before its own alert was written, must still end marked as merged,
    not open next to the alert that took its posts (whether it did depended on timing, issue 13)."""
    from elasticsearch import AsyncElasticsearch

    from tests.linkage_posts import summary
    from trailhound.alerts.partners import Routing
    from trailhound.alerts.recorder import AlertRecorder, SilenceCache
    from trailhound.detectors.linkage.key_index import Link
    from trailhound.streams.linkage import Linkage

    cities = ("Denver", "Phoenix", "Dallas", "Atlanta")
    late = [summary(day=1 + i, city=city, phone="+1", author=name, categories=("price", "control"), harm=("control",))
            for i, (city, name) in enumerate(zip(cities, ("luna", "mia", "ivy", "luna"), strict=True))]
    earlier = summary(day=0.5, city="Miami", phone="+1", author="mia", categories=("price",))
    published: list[dict[str, Any]] = []  # what the cluster stage put on ``alerts``, in order

    async def publish(alerts: list[dict[str, Any]]) -> None:
        published.extend(alerts)

    client = AsyncElasticsearch(settings.elasticsearch_url)
    try:
        labels = SimpleNamespace(category_labels={})  # the cluster stage reads only these of the detectors
        linkage = Linkage(settings, client, labels)  # type: ignore[arg-type]
        chain = [Link(a, b, "phone:+1", "same phone") for a, b in zip(late, late[1:], strict=False)]
        assert await linkage.build_clusters([linkage.event_record(link) for link in chain], publish) == 1
        first_id = published[0]["event"]["id"]
        await linkage.build_clusters([linkage.event_record(Link(earlier, late[0], "phone:+1", "same phone"))],
                                     publish)
        recorder = AlertRecorder(settings, client, Routing.empty(), _discard, SilenceCache(settings, client))
        await recorder.record(published)  # the alert stage catches up only now
    finally:
        await client.close()
    alerts = {a["event"]["id"]: a for a in network_alerts(es, settings)}
    open_alerts = [a for a in alerts.values() if not a["trailhound"]["cluster"].get("merged_into")]
    assert len(open_alerts) == 1 and len(open_alerts[0]["trailhound"]["post_ids"]) == 5
    assert alerts[first_id]["trailhound"]["cluster"]["merged_into"] == open_alerts[0]["trailhound"]["cluster_id"]
    assert alerts[first_id]["trailhound"]["post_ids"] == [p.post_key for p in late], "the merged alert keeps its posts"


async def _discard(record: dict[str, Any]) -> None:
    raise AssertionError(f"no partner rule, yet a delivery: {record}")
