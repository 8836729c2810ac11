"""Every Kibana saved search runs on the real Elasticsearch and finds exactly what its title promises.

Kibana cannot run here, but its Lucene queries are Elasticsearch ``query_string`` queries, so each
saved search's query is run the way Kibana runs it against alerts and posts made by the real detectors
from synthetic posts. What each search should find is written here independently, as a predicate on
the documents (an alert involving minors is one whose evidence has the youth category …), so a query
that is too wide, too narrow or names a field the index does not have fails.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from tests.unit.test_dashboards import clusters_mapped, kibana_by_key, saved_search_query
from trailhound import synth
from trailhound.alerts.document import build_alert, build_model_health_alert
from trailhound.alerts.post_documents import post_document
from trailhound.alerts.scoring import assess
from trailhound.config import Settings
from trailhound.streams.enrich import enrich_post
from trailhound.streams.warm_start import warm_start_synthetic
from trailhound.streams.worker import build_detectors
from trailhound.timefmt import iso

Doc = dict[str, Any]
DAY = 86400.0


def _today(alert: Doc) -> bool:
    return alert["@timestamp"][:10] == iso(time.time())[:10]


# What each saved search must return, by id: (logical index, predicate on its documents).
EXPECTED: dict[str, tuple[str, Callable[[Doc], bool]]] = {
    "trailhound-search-critical-today": (
        "alerts", lambda a: a["trailhound"]["severity"] == "critical" and _today(a)),
    "trailhound-search-youth": ("alerts", lambda a: "youth" in a["trailhound"]["categories"]),
    "trailhound-search-labour": (
        "alerts", lambda a: any(c.startswith("labour_") for c in a["trailhound"]["categories"])),
    "trailhound-search-by-language": ("alerts", lambda a: bool(a["trailhound"].get("language"))),
    "trailhound-search-clusters-many-cities": (
        "alerts", lambda a: (a["trailhound"].get("cluster") or {}).get("city_count", 0) >= 5),
    "trailhound-search-new-high-critical": (
        "alerts", lambda a: a["trailhound"]["status"] == "new" and a["trailhound"]["severity"] in ("high", "critical")),
    "trailhound-search-by-contact": (
        "alerts", lambda a: any(a["trailhound"]["entity"].get(k) for k in ("phones", "emails", "handles"))),
    "trailhound-search-evidence": ("alerts", lambda a: a["rule"]["category"] == "content"),
    "trailhound-search-model-health": ("alerts", lambda a: a["rule"]["category"] == "model_health"),
    "trailhound-search-posts-by-phone": ("posts", lambda p: bool(p["entities"].get("phones"))),
    "trailhound-search-posts": ("posts", lambda p: True),
    "trailhound-search-posts-alerted": ("posts", lambda p: p.get("alert_id") is not None),
    "trailhound-search-verdicts": ("feedback", lambda v: True),
}


@pytest.fixture(scope="module")
def corpus(stack_settings: Settings) -> dict[str, dict[str, Doc]]:
    """Alerts, posts and verdicts made by the real detectors, indexed under a namespace of this module."""
    from trailhound.provision import prepare_servers

    settings = stack_settings.with_namespace(f"{stack_settings.namespace}kib")
    prepare_servers(settings)
    detectors = build_detectors(settings, warm_start_synthetic(n=800, seed=3))  # as a worker scores
    now = time.time()
    docs: dict[str, dict[str, Doc]] = {"alerts": {}, "posts": {}, "feedback": {}}
    actions = []
    for number, post in enumerate(synth.generate(240, seed=11)):
        post["lang"] = ("en", "es", "fr")[number % 3] if number % 4 else None
        post = {k: v for k, v in post.items() if v is not None and not k.startswith("_")}
        when = now - (2 * DAY if number % 5 == 0 else 0)  # some alerts were raised two days ago
        enriched = enrich_post(post, when)
        assessment = assess(detectors.score(enriched), settings.alert_threshold, detectors.supporting_categories)
        alert = (build_alert(enriched, assessment, detectors.versions(), when, detectors.category_labels)
                 if assessment.should_alert else None)
        if alert:
            if number % 7 == 0:
                alert["trailhound"]["status"] = "acknowledged"
            if number % 6 == 0:  # as a network alert describes its cluster: 2 to 9 cities
                cities = 2 + number % 8
                alert["trailhound"]["cluster_id"] = f"cluster-{number}"
                alert["trailhound"]["cluster"] = {"id": f"cluster-{number}", "city_count": cities, "post_count": cities,
                                                  "cities": [f"City {c}" for c in range(cities)]}
            docs["alerts"][alert["event"]["id"]] = alert
            actions.append({"_index": settings.index("alerts"), "_id": alert["event"]["id"], "_source": alert})
        document = post_document(enriched, assessment, alert, settings)
        docs["posts"][document["_id"]] = document["_source"]
        actions.append(document)
    health = build_model_health_alert("text_model", "score", "mean score moved", detectors.versions(), now)
    docs["alerts"][health["event"]["id"]] = health
    actions.append({"_index": settings.index("alerts"), "_id": health["event"]["id"], "_source": health})
    for number, label in enumerate(("trafficking", "benign")):
        verdict = {"@timestamp": iso(now), "verdict_id": f"v{number:08d}", "label": label, "analyst": "ana",
                   "alert_id": next(iter(docs["alerts"])), "learned": True, "at": iso(now)}
        docs["feedback"][verdict["verdict_id"]] = verdict
        actions.append({"_index": settings.index("feedback"), "_id": verdict["verdict_id"], "_source": verdict})
    es = Elasticsearch(settings.elasticsearch_url)
    try:
        helpers.bulk(es, actions, refresh="wait_for")
    finally:
        es.close()
    return {"settings": settings, **docs}  # type: ignore[dict-item]


def test_every_saved_search_has_an_expectation() -> None:
    searches = {object_id for (kind, object_id) in kibana_by_key() if kind == "search"}
    assert searches == set(EXPECTED)


@pytest.mark.parametrize("search_id", sorted(EXPECTED))
def test_saved_search_returns_what_its_title_promises(search_id: str, corpus, es: Elasticsearch) -> None:
    if search_id == "trailhound-search-clusters-many-cities" and not clusters_mapped():
        pytest.skip("the alert index does not map cluster fields yet (entity linkage, issue 9)")
    settings: Settings = corpus["settings"]
    obj = kibana_by_key()[("search", search_id)]
    query = saved_search_query(obj)
    assert query["language"] == "lucene"
    logical, wanted = EXPECTED[search_id]
    view = kibana_by_key()[("index-pattern", obj["references"][0]["id"])]["attributes"]["title"]
    assert view == Settings().index(logical), f"{search_id} reads {view}"
    response = es.search(index=settings.index(logical), size=5000, source=False,
                         query={"query_string": {"query": query["query"], "analyze_wildcard": True}})
    found = {hit["_id"] for hit in response["hits"]["hits"]}
    expected = {doc_id for doc_id, doc in corpus[logical].items() if wanted(doc)}
    assert expected, f"the corpus has nothing {search_id} should find: the test would prove nothing"
    assert found == expected, json.dumps({"missing": sorted(expected - found)[:5],
                                          "unexpected": sorted(found - expected)[:5]})
    if logical != "feedback" and search_id != "trailhound-search-posts":
        assert len(found) < len(corpus[logical]), f"{search_id} finds everything"
