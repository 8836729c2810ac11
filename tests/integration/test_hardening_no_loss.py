"""Findings 4, 5 and 6 through a real worker: a record that fails to send or to index is never lost
(it arrives or is dead-lettered with the reason), a padded ad is scored, and the worker's analyst views
need the worker token."""

from __future__ import annotations

import json

import httpx
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from tests.es_fault_proxy import Fault, ThreadedFaultProxy
from tests.helpers import BENIGN_BODY, RISKY_BODY, alerts_for, jsonl, post, posts_indexed, read_topic, run_cli, wait_for
from trailhound.signing import worker_token


def _dead_letters(settings, stage: str) -> list[dict]:
    out = []
    for record in read_topic(settings, "posts.dlq"):
        headers = {k: v.decode() for k, v in record.headers}
        if headers.get("stage") == stage:
            out.append(headers)
    return out


def test_an_index_failure_dead_letters_only_the_post_at_fault_and_loses_nothing(settings, start_worker, es, tmp_path):
    proxy = ThreadedFaultProxy(settings.elasticsearch_url)
    try:
        proxy.add(Fault(lambda path, body: path.endswith("/_bulk") and b"poison-post" in body, 400))
        start_worker(settings, {"ELASTICSEARCH_URL": proxy.url})
        posts = [post(f"ok-{n}", RISKY_BODY if n % 2 else BENIGN_BODY) for n in range(8)]
        posts.append(post("poison-post", BENIGN_BODY))
        posts.append(post("padded", RISKY_BODY + " " + "$1 " * 80_000))  # finding 4: still scored
        (tmp_path / "feed.jsonl").write_bytes(jsonl(*posts))
        assert run_cli(settings, "ingest", str(tmp_path / "feed.jsonl")).returncode == 0
        wait_for(lambda: posts_indexed(es, settings) == 9 and _dead_letters(settings, "index-posts"),
                 timeout_s=120, what="every post indexed or dead-lettered")
        letters = _dead_letters(settings, "index-posts")
        assert len(letters) == 1 and "400" in letters[0]["reason"]
        wait_for(lambda: alerts_for(es, settings, "test-board:padded"), what="the padded ad's alert")
        assert not _dead_letters(settings, "enrich")
    finally:
        proxy.stop()


def test_a_send_the_broker_refuses_is_dead_lettered_not_lost(settings, start_worker, es, tmp_path):
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:  # the broker now refuses enriched records over 8 KB, after the worker queued them
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, settings.topic("posts.enriched"),
                                            configs={"max.message.bytes": "8000"})])
    finally:
        admin.close()
    start_worker(settings)
    small = [post(f"small-{n}", BENIGN_BODY) for n in range(4)]
    large = [post(f"large-{n}", BENIGN_BODY + " " + " ".join(f"word{i}" for i in range(600))) for n in range(3)]
    (tmp_path / "feed.jsonl").write_bytes(jsonl(*small, *large))
    assert run_cli(settings, "ingest", str(tmp_path / "feed.jsonl")).returncode == 0
    wait_for(lambda: posts_indexed(es, settings) + len(_dead_letters(settings, "enrich")) >= 7, timeout_s=120,
             what="every post indexed or dead-lettered")
    letters = _dead_letters(settings, "enrich")
    # the posts travel joined in one record per partition; a joined record the broker refuses is sent again
    # post by post, so only the large posts are dead-lettered
    assert posts_indexed(es, settings) == 4
    assert len(letters) == 3 and all("MessageSizeTooLarge" in letter["reason"] for letter in letters)
    dead = {json.loads(r.value)["id"] for r in read_topic(settings, "posts.dlq")}
    assert dead == {p["id"] for p in large}


def test_analyst_views_need_the_worker_token_and_take_one_post_at_most(settings, start_worker):
    worker = start_worker(settings)
    body = json.dumps(post("probe", RISKY_BODY)).encode()
    assert httpx.post(worker.base_url + "/score", content=body, timeout=10).status_code == 401
    assert httpx.get(worker.base_url + "/patterns", timeout=10).status_code == 401
    auth = {"Authorization": f"Bearer {worker_token(settings)}"}
    assert httpx.post(worker.base_url + "/score", content=body, headers=auth, timeout=10).json()["alert"] is True
    huge = httpx.post(worker.base_url + "/score", content=b"x" * (2 * 1024 * 1024), headers=auth, timeout=30)
    assert huge.status_code == 413
    assert httpx.get(worker.base_url + "/metrics", timeout=10).status_code == 200  # open for Prometheus
