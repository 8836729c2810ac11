"""Alerts to partners on the real stack: real webhook receivers and SMTP server, real Kafka and Elasticsearch.

The escalator runs in the test's event loop against the test's own namespace; alerts enter through the
same recording stage the worker uses, so grouping, silences, routing, the outbox, delivery state and
the audit log are all the real ones.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from elasticsearch import AsyncElasticsearch

from tests.helpers import (
    RISKY_BODY,
    ROOT,
    alerts_for,
    cli_env,
    free_port,
    jsonl,
    post,
    posts_indexed,
    read_topic,
    run_cli,
    wait_for,
)
from tests.partners import SmtpReceiver, WebhookReceiver
from tests.unit.test_alert_transitions_grouping import alert
from trailhound.alerts.lifecycle import AlertActions, InvalidTransition, send_outbox
from trailhound.alerts.partners import Routing, parse_routing
from trailhound.alerts.recorder import AlertRecorder, SilenceCache
from trailhound.config import Settings
from trailhound.signing import feedback_key, verify
from trailhound.streams.escalator import Escalator

SECRETS = {"TRAILHOUND_SECRET_HOTLINE": "h" * 40, "TRAILHOUND_SECRET_NORTH": "n" * 40,
           "TRAILHOUND_SECRET_NGO": "g" * 40}
FAST_RETRY = {"attempts": 3, "first": "0.1s", "max": "0.3s"}


def partners_config(hotline: str, north: str, smtp_port: int, ack_within: str = "1h") -> dict[str, Any]:
    return {
        "partners": {
            "hotline": {"secret_env": "TRAILHOUND_SECRET_HOTLINE", "webhook": {"url": hotline, "timeout": "3s"},
                        "retry": FAST_RETRY,
                        "policy": {"phones": "hash", "city": "clear", "message": "redact"}},
            "north": {"secret_env": "TRAILHOUND_SECRET_NORTH", "webhook": {"url": north, "timeout": "3s"},
                      "retry": FAST_RETRY, "policy": {"phones": "clear", "contact": "clear", "evidence": "clear"}},
            "ngo": {"secret_env": "TRAILHOUND_SECRET_NGO", "retry": FAST_RETRY, "policy": {"region": "clear"},
                    "email": {"to": ["intake@ngo.example.org"], "from": "th@ops.example.org", "port": smtp_port}},
        },
        "rules": [
            {"name": "minors", "match": {"categories": ["youth"]}, "automatic": True,
             "tiers": [{"partners": ["hotline"], "ack_within": ack_within}, {"partners": ["north"]}]},
            {"name": "labour", "match": {"categories": ["labour_*"]}, "automatic": True,
             "tiers": [{"partners": ["ngo"]}]},
            {"name": "north-high", "match": {"min_severity": "high"}, "tiers": [{"partners": ["north"]}]},
        ],
    }


@dataclass
class Rig:
    settings: Settings
    es: AsyncElasticsearch
    producer: AIOKafkaProducer
    routing: Routing
    hotline: WebhookReceiver
    north: WebhookReceiver
    smtp: SmtpReceiver
    recorder: AlertRecorder
    escalator: Escalator
    actions: AlertActions

    async def raise_alerts(self, *alerts: dict[str, Any]):
        return await self.recorder.record([json.loads(json.dumps(a)) for a in alerts])

    async def deliveries(self, **terms: str) -> list[dict[str, Any]]:
        await self.es.indices.refresh(index=self.settings.index("escalations"))
        query = {"bool": {"filter": [{"term": {k: v}} for k, v in terms.items()]}}
        found = await self.es.search(index=self.settings.index("escalations"), query=query, size=100)
        return [h["_source"] for h in found["hits"]["hits"]]

    async def audit(self, action: str) -> list[dict[str, Any]]:
        await self.es.indices.refresh(index=self.settings.index("audit"))
        found = await self.es.search(index=self.settings.index("audit"), query={"term": {"action": action}}, size=100)
        return [h["_source"] for h in found["hits"]["hits"]]


async def until(probe: Callable[[], Any], timeout_s: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})")


@pytest.fixture
async def rig(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    options = getattr(request, "param", {})
    settings = replace(settings, escalator_port=free_port(), partner_secrets=tuple(SECRETS.items()))
    hotline = await WebhookReceiver(SECRETS["TRAILHOUND_SECRET_HOTLINE"].encode(),
                                    answers=list(options.get("hotline_answers", []))).start()
    north = WebhookReceiver(SECRETS["TRAILHOUND_SECRET_NORTH"].encode())
    if not options.get("north_down"):
        await north.start()
    with SmtpReceiver() as smtp:
        routing = parse_routing(partners_config(hotline.url, north.url, smtp.port,
                                                options.get("ack_within", "1h")), SECRETS)
        es = AsyncElasticsearch(settings.elasticsearch_url)
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()

        async def outbox(record: dict[str, Any]) -> None:
            await send_outbox(producer, settings, record)

        recorder = AlertRecorder(settings, es, routing, outbox, SilenceCache(settings, es))
        escalator = Escalator(settings, routing, es, producer)
        running = asyncio.ensure_future(escalator.run())
        await until(lambda: _answers(f"http://127.0.0.1:{settings.escalator_port}/healthz"), what="escalator up")
        try:
            yield Rig(settings, es, producer, routing, hotline, north, smtp, recorder, escalator,
                      AlertActions(settings, es, producer, routing=routing))
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await producer.stop()
            await es.close()
            await hotline.stop()
            await north.stop()


async def _answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, timeout=2)).status_code == 200
    except httpx.HTTPError:
        return False


async def test_an_alert_reaches_exactly_its_partners_once_with_exactly_the_fields_their_policies_allow(rig: Rig):
    youth = alert("y1", categories=("youth",))
    youth["message"] = "Young and new, call (212) 555-0143"
    labour = alert("l1", contact="phone:+12125550144", categories=("labour_debt",))
    await rig.raise_alerts(youth, labour)
    event = (await until(lambda: rig.hotline.events("raised"), what="the hotline's delivery"))[0]
    await until(lambda: rig.smtp.messages, what="the NGO's e-mail")
    await asyncio.sleep(1.0)
    await rig.raise_alerts(youth, labour)  # a replay of the same alerts
    await asyncio.sleep(2.0)

    assert len(rig.hotline.processed) == 1 and sum(rig.hotline.requests.values()) == 1
    assert len(rig.smtp.messages) == 1
    assert rig.north.requests == {}, "the north unit's rule is manual; nobody escalated"
    data = event["data"]
    assert set(data) == {"alert_id", "severity", "risk_score", "categories", "created", "phones", "city", "message",
                         "reason", "ack_url"}
    assert data["phones"] != ["+15550100001"] and len(data["phones"][0]) == 64
    assert "555-0143" not in data["message"] and data["message"].startswith("Young and new, call ")
    assert event["subject"] == data["alert_id"] and event["specversion"] == "1.0"
    mail = rig.smtp.messages[0]
    assert mail["To"] == "intake@ngo.example.org" and mail["Idempotency-Key"]
    mailed = json.loads(next(mail.iter_attachments()).get_content())
    assert set(mailed["data"]) == {"alert_id", "severity", "risk_score", "categories", "created", "region", "reason",
                                   "ack_url"}
    disclosures = await rig.audit("disclose")
    assert sorted((d["partner"], tuple(d["fields_disclosed"])) for d in disclosures) == [
        ("hotline", ("city", "message", "phones")), ("ngo", ("region",))]
    states = await rig.deliveries(kind="alert")
    assert sorted((d["partner"], d["state"]) for d in states) == [("hotline", "delivered"), ("ngo", "delivered")]


@pytest.mark.parametrize("rig", [{"hotline_answers": [500, 200]}], indirect=True)
async def test_a_partner_answering_500_then_200_receives_the_alert_once(rig: Rig):
    await rig.raise_alerts(alert("y2"))
    await until(lambda: rig.hotline.processed, what="delivery after the retry")
    [delivery] = await until(lambda: rig.deliveries(partner="hotline", state="delivered"), what="delivered state")
    assert delivery["attempts"] == 2
    assert list(rig.hotline.requests.values()) == [2] and len(rig.hotline.processed) == 1
    assert 'trailhound_delivery_attempts_total{outcome="failed",partner="hotline"} 1.0' in await _metrics(rig)


@pytest.mark.parametrize("rig", [{"north_down": True}], indirect=True)
async def test_a_partner_down_for_long_is_parked_on_the_dead_letter_topic_and_retried_on_command(rig: Rig):
    raised = await rig.raise_alerts(alert("h1", severity=3, categories=("coercion",)))
    alert_id = raised.raised[0]["event"]["id"]
    escalated = await rig.actions.escalate(alert_id, "ana", "urgent, north region")
    assert escalated["trailhound"]["status"] == "escalated"
    [parked] = await until(lambda: rig.deliveries(partner="north", state="parked"), what="parked delivery")
    assert parked["attempts"] == 3 and "cannot reach" in parked["last_error"]
    dead = read_topic(rig.settings, "escalations.dlq")
    assert [r.key.decode() for r in dead] == [parked["delivery_id"]]
    assert b"cannot reach" in dict(dead[0].headers)["reason"]
    assert 'trailhound_deliveries_parked{partner="north"} 1.0' in await until(
        lambda: _parked_metric(rig), what="parked metric")

    await rig.north.start()
    result = await asyncio.to_thread(run_cli, rig.settings, "escalations", "retry")
    assert result.returncode == 0 and "1 parked deliveries will be sent again" in result.stdout, result.stderr
    await until(lambda: rig.north.processed, what="delivery after retry on command")
    [delivered] = await until(lambda: rig.deliveries(partner="north", state="delivered"), what="delivered")
    assert delivered["delivery_id"] == parked["delivery_id"] and len(rig.north.processed) == 1
    listed = await asyncio.to_thread(run_cli, rig.settings, "escalations", "list", "--json")
    assert json.loads(listed.stdout.splitlines()[0])["state"] == "delivered"


@pytest.mark.parametrize("rig", [{"ack_within": "3s"}], indirect=True)
async def test_without_acknowledgement_the_next_tier_is_told_and_an_acknowledged_alert_stays_put(rig: Rig):
    recorded = await rig.raise_alerts(alert("t1", contact="phone:+12125550145"),
                                      alert("t2", contact="phone:+12125550146"))
    ids = {a["trailhound"]["post_ids"][0]: a["event"]["id"] for a in recorded.raised}
    await until(lambda: len(rig.hotline.processed) == 2, what="both alerts at the hotline")
    acked = next(e for e in rig.hotline.events() if e["subject"] == ids["t2"])
    async with httpx.AsyncClient() as client:
        forged = await client.get(acked["data"]["ack_url"].replace("sig=", "sig=0"))
        answer = await client.post(acked["data"]["ack_url"])
    assert forged.status_code == 403 and answer.status_code == 200
    told = await until(lambda: rig.north.events("raised"), what="the next tier")
    await asyncio.sleep(3.0)
    assert [e["subject"] for e in rig.north.events()] == [ids["t1"]] and told
    assert "rule minors, tier 1: no acknowledgement in time" in rig.north.events()[0]["data"]["reason"]
    [state] = await rig.deliveries(alert_id=ids["t2"], partner="hotline")
    assert state["state"] == "acknowledged"
    assert [a["partner"] for a in await rig.audit("partner-acknowledged")] == ["hotline"]


async def test_lifecycle_moves_are_audited_a_dismissal_is_a_verdict_and_partners_hear_of_closed_alerts(rig: Rig):
    recorded = await rig.raise_alerts(alert("c1", contact="phone:+12125550147"),
                                      alert("c2", contact="phone:+12125550148"))
    first, second = (a["event"]["id"] for a in recorded.raised)
    await until(lambda: len(rig.hotline.processed) == 2, what="deliveries")
    with pytest.raises(InvalidTransition, match="cannot resolve"):
        await rig.actions.resolve(first, "ana")
    acked = await rig.actions.acknowledge(first, "ana", "looking")
    assert acked["trailhound"]["status"] == "acknowledged"
    resolved = await rig.actions.resolve(first, "ana", "handled by the hotline")
    assert [(m["action"], m["by"], m["to"]) for m in resolved["trailhound"]["lifecycle"]] == [
        ("acknowledge", "ana", "acknowledged"), ("resolve", "ana", "resolved")]
    await rig.actions.dismiss(second, "ben", "outreach service, not an ad")
    with pytest.raises(InvalidTransition, match="already dismissed"):
        await rig.actions.acknowledge(second, "ben")

    await until(lambda: rig.hotline.events("resolved") and rig.hotline.events("withdrawn"), what="updates")
    assert [e["subject"] for e in rig.hotline.events("resolved")] == [first]
    assert [e["subject"] for e in rig.hotline.events("withdrawn")] == [second]
    assert {(a["action"], a["actor"], a["alert_id"]) for a in await rig.audit("acknowledge")} == {
        ("acknowledge", "ana", first)}
    assert len(await rig.audit("resolve")) == 1 and len(await rig.audit("dismiss")) == 1
    [verdict] = read_topic(rig.settings, "feedback")
    body = json.loads(verdict.value)
    assert (body["alert_id"], body["label"], body["analyst"]) == (second, "benign", "ben")
    assert verify(feedback_key(rig.settings), verdict.value, dict(verdict.headers)["signature"])


async def test_twenty_posts_of_one_cluster_make_one_alert_and_replays_add_nothing(rig: Rig):
    posts = [alert(f"k{n}", contact=f"phone:+1212555{n:04d}", cluster="ring-7", score=0.55 + n / 100)
             for n in range(20)]
    first = await rig.raise_alerts(*posts[:8])
    second = await rig.raise_alerts(*posts[8:])
    replay = await rig.raise_alerts(*posts)
    assert len(first.raised) == 1 and second.raised == [] and len(second.updated) == 1
    assert replay.raised == replay.updated == [] and replay.duplicates == 20
    await rig.es.indices.refresh(index=rig.settings.index("alerts"))
    found = (await rig.es.search(index=rig.settings.index("alerts"), size=50))["hits"]["hits"]
    assert len(found) == 1
    group = found[0]["_source"]["trailhound"]
    assert sorted(group["post_ids"]) == sorted(f"k{n}" for n in range(20))
    assert group["score"] == pytest.approx(0.74)
    await until(lambda: rig.hotline.processed, what="the one delivery")
    await asyncio.sleep(1.5)
    assert len(rig.hotline.processed) == 1, "a growing group is one alert to the partner"


def network_alert(cluster: str, posts: list[str], contact: str) -> dict[str, Any]:
    """A cluster's network alert as linkage raises it (rule category ``network``), about ``posts``."""
    document = alert(posts[0], contact=contact, cluster=cluster, score=0.8)
    document["event"]["id"] = f"network-{cluster}"
    document["rule"] = {"id": "trailhound.network", "category": "network"}
    document["trailhound"].update(post_ids=posts, cluster={"id": cluster, "contacts": [contact]})
    return document


async def test_a_network_alert_and_the_grouped_alert_of_its_posts_name_each_other_and_reach_a_partner_once(rig: Rig):
    contact = "phone:+12125550161"
    await rig.raise_alerts(alert("n1", contact=contact), alert("n2", contact=contact))
    await until(lambda: rig.hotline.processed, what="the grouped alert's delivery")
    # no refresh in between: an alert recorded a moment ago is seen as related all the same
    recorded = await rig.raise_alerts(network_alert("ring-9", ["n1", "n2", "n3"], contact))
    assert len(recorded.raised) == 1
    later = await rig.raise_alerts(alert("n4", contact=contact, posted_at="2026-11-25T10:00:00Z"))  # a new window
    assert len(later.raised) == 1
    await asyncio.sleep(2.0)  # any second delivery arrives now
    assert len(rig.hotline.processed) == 1, "one partner, one case: the network and later groups are not sent again"
    await rig.es.indices.refresh(index=rig.settings.index("alerts"))
    found = {h["_id"]: h["_source"] for h in (await rig.es.search(index=rig.settings.index("alerts")))["hits"]["hits"]}
    groups = {i: d for i, d in found.items() if d["rule"]["category"] != "network"}
    assert len(groups) == 2
    first = next(i for i, d in groups.items() if "n1" in d["trailhound"]["post_ids"])
    second = next(i for i in groups if i != first)
    assert sorted(found["network-ring-9"]["trailhound"]["related_alerts"]) == sorted([first, second])
    assert {d["trailhound"]["network_alert_id"] for d in groups.values()} == {"network-ring-9"}
    outbox = [json.loads(r.value) for r in read_topic(rig.settings, "escalations")]
    assert [r["alert_id"] for r in outbox if r["partner"] == "hotline"] == [first]


async def test_with_no_partner_to_protect_related_alerts_recorded_a_moment_apart_name_each_other(settings: Settings):
    """Without partners the recorder never forces a refresh of the alerts index (it cost most of an alert's
    latency, issue 13): what it wrote a moment ago, not yet searchable, comes from its own memory."""
    es = AsyncElasticsearch(settings.elasticsearch_url)

    async def no_delivery(record: dict[str, Any]) -> None:
        raise AssertionError(f"no partner, yet a delivery: {record}")

    recorder = AlertRecorder(settings, es, Routing.empty(), no_delivery, SilenceCache(settings, es))
    contact = "phone:+12125550177"
    try:
        grouped = await recorder.record([alert("r1", contact=contact), alert("r2", contact=contact)])
        network = await recorder.record([network_alert("ring-4", ["r1", "r2", "r3"], contact)])
        found = {d["_id"]: d["_source"] for d in (await es.mget(
            index=settings.index("alerts"), ids=[grouped.raised[0]["event"]["id"], "network-ring-4"]))["docs"]}
    finally:
        await es.close()
    group_id = grouped.raised[0]["event"]["id"]
    assert len(network.raised) == 1
    assert found["network-ring-4"]["trailhound"]["related_alerts"] == [group_id]
    assert found[group_id]["trailhound"]["network_alert_id"] == "network-ring-4"


async def test_a_silenced_contact_is_recorded_but_not_raised(rig: Rig):
    await rig.actions.silence("contact", "phone:+12125550149", "ana", "known outreach line", time.time() + 3600)
    recorded = await rig.raise_alerts(alert("s1", contact="phone:+12125550149"), alert("s2"))
    assert recorded.silenced == 1 and len(recorded.raised) == 1
    await until(lambda: rig.hotline.processed, what="the unsilenced alert's delivery")
    await asyncio.sleep(1.5)
    assert len(rig.hotline.processed) == 1
    await rig.es.indices.refresh(index=rig.settings.index("alerts"))
    statuses = {h["_source"]["trailhound"]["post_ids"][0]: h["_source"]["trailhound"]
                for h in (await rig.es.search(index=rig.settings.index("alerts")))["hits"]["hits"]}
    assert statuses["s1"]["status"] == "silenced" and statuses["s1"]["silenced_by"]["by"] == "ana"
    assert statuses["s2"]["status"] == "new"
    assert len(await rig.audit("silence")) == 1


async def _metrics(rig: Rig) -> str:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{rig.settings.escalator_port}/metrics")).text


async def _parked_metric(rig: Rig) -> str | None:
    text = await _metrics(rig)
    return text if 'trailhound_deliveries_parked{partner="north"} 1.0' in text else None


def test_the_worker_groups_twenty_posts_of_one_contact_into_one_alert_and_asks_once_for_each_partner(
        settings, start_worker, es, tmp_path):
    partners = tmp_path / "partners.yaml"
    partners.write_text(json.dumps(partners_config("http://127.0.0.1:9/h", "http://127.0.0.1:9/n", 25)))
    start_worker(settings, {"TRAILHOUND_PARTNERS_FILE": str(partners), **SECRETS})
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(jsonl(*(post(f"ring-{n}", f"{RISKY_BODY} Call (212) 555-0143.",
                                  posted_at=f"2026-11-20T{n // 2:02d}:{n % 2 * 30:02d}:00Z") for n in range(20))))
    for _ in range(2):  # the second time is a replay
        assert run_cli(settings, "ingest", str(feed)).returncode == 0
    wait_for(lambda: posts_indexed(es, settings) == 20, what="all posts")
    def post_alerts() -> list[dict]:  # a network alert about the contact's cluster may come on top
        return [a for a in alerts_for(es, settings) if a["rule"].get("category") != "network"]

    grouped = wait_for(lambda: [a for a in post_alerts() if len(a["trailhound"]["post_ids"]) == 20],
                       what="one alert holding all twenty posts")
    assert len(post_alerts()) == 1
    assert grouped[0]["trailhound"]["group"]["key"].startswith("contact:phone:+12125550143:")
    # The hotline hears of the ring once: through the grouped alert, or through the network alert about the
    # same posts if that one was recorded first (the two name each other, and a partner is told once).
    case = {grouped[0]["event"]["id"], grouped[0]["trailhound"].get("network_alert_id")} - {None}
    outbox = [json.loads(r.value) for r in read_topic(settings, "escalations")
              if json.loads(r.value)["alert_id"] in case]
    assert {r["partner"] for r in outbox if r["alert_id"] == grouped[0]["event"]["id"]} <= {"hotline"}
    hotline = {r["delivery_id"] for r in outbox if r["partner"] == "hotline"}
    assert len(hotline) == 1, "one delivery, however often it was asked for"


def test_the_escalator_refuses_to_start_with_a_partners_file_naming_a_missing_partner(settings, tmp_path):
    config = partners_config("http://127.0.0.1:9/h", "http://127.0.0.1:9/n", 25)
    config["rules"][0]["tiers"][1]["partners"] = ["nobody"]
    partners = tmp_path / "partners.yaml"
    partners.write_text(json.dumps(config))
    result = subprocess.run([sys.executable, "-m", "trailhound", "escalator"], cwd=ROOT, capture_output=True, text=True,
                            env=cli_env(settings, TRAILHOUND_PARTNERS_FILE=str(partners), **SECRETS), timeout=60)
    assert result.returncode == 2
    assert "partner 'nobody' is not defined under partners" in result.stderr
