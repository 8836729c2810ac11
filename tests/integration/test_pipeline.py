"""Posts in, explained alerts out: the pipeline on the real local Kafka and Elasticsearch."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from tests.helpers import (
    BENIGN_BODY,
    RISKY_BODY,
    ROOT,
    alerts_for,
    answers,
    cli_env,
    free_port,
    jsonl,
    post,
    posts_indexed,
    read_topic,
    run_cli,
    wait_for,
)
from trailhound.signing import ingest_token


def test_risky_post_becomes_an_explained_alert_and_a_benign_one_does_not(settings, start_worker, es, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(jsonl(post("risky-1", RISKY_BODY, location={"city": "Springfield"}),
                           post("benign-1", BENIGN_BODY)))
    start_worker(settings)
    result = run_cli(settings, "ingest", str(feed))
    assert result.returncode == 0, result.stderr
    assert "accepted 2, rejected 0" in result.stdout

    wait_for(lambda: posts_indexed(es, settings) == 2, what="both posts indexed")
    alert = wait_for(lambda: alerts_for(es, settings, "test-board:risky-1"), what="the alert")[0]
    assert alert["event"]["kind"] == "alert"
    assert alert["trailhound"]["status"] == "new"
    assert alert["trailhound"]["score"] >= settings.alert_threshold
    assert 0 <= alert["event"]["risk_score"] <= 100
    evidence = [i["evidence"] for i in alert["trailhound"]["indicators"]]
    assert evidence, "an alert must show its evidence"
    for indicator in alert["trailhound"]["indicators"]:
        start, end = indicator["span"]
        assert RISKY_BODY[start:end] == indicator["evidence"], "evidence must be the text as written"
    assert "Springfield" in alert["message"]
    assert alert["rule"]["version"] not in ("", "none")
    assert alerts_for(es, settings, "test-board:benign-1") == []


def test_invalid_lines_go_to_the_dead_letter_topic_with_their_reason(settings, tmp_path):
    feed = tmp_path / "mixed.jsonl"
    oversize = json.dumps(post("big", "x" * (300 * 1024))).encode()
    feed.write_bytes(
        jsonl(post("good-1", BENIGN_BODY)) + b"{not json\n" + json.dumps({"id": "nobody", "source": "s",
        "posted_at": "2026-11-20T10:00:00Z"}).encode() + b"\n" + json.dumps(post(7, "wrong id type")).encode()
        + b"\n" + oversize + b"\n" + b'{"id": "bad-utf8", "body": "\xff\xfe"}\n'
    )
    result = run_cli(settings, "ingest", str(feed))
    assert result.returncode == 0, result.stderr
    assert "accepted 1, rejected 5" in result.stdout

    dead = read_topic(settings, "posts.dlq")
    assert len(dead) == 5
    reasons = [dict(r.headers)["reason"].decode() for r in dead]
    assert any("not valid JSON" in r for r in reasons)
    assert any("body" in r for r in reasons)
    assert any("post.id" in r for r in reasons)
    assert any("over the" in r and "byte limit" in r for r in reasons)
    assert any("UTF-8" in r for r in reasons)
    originals = {r.value for r in dead}
    assert b"{not json" in originals, "the original bytes are kept"
    assert len(read_topic(settings, "posts.raw")) == 1


def test_ingesting_the_same_file_twice_creates_no_duplicate_alerts(settings, start_worker, es, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(jsonl(*(post(f"dup-{n}", RISKY_BODY) for n in range(5))))
    worker = start_worker(settings)
    for _ in range(2):
        assert run_cli(settings, "ingest", str(feed)).returncode == 0
    wait_for(lambda: "trailhound_alerts_duplicate_total 5.0" in worker.metrics(), what="the replays to be seen")
    assert len(alerts_for(es, settings)) == 5


def test_metrics_endpoint_reports_the_counts(settings, start_worker, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(jsonl(post("m-1", RISKY_BODY), post("m-2", BENIGN_BODY), post("m-3", BENIGN_BODY)))
    worker = start_worker(settings)
    assert run_cli(settings, "ingest", str(feed)).returncode == 0
    wait_for(lambda: 'trailhound_posts_consumed_total{stage="detect"} 3.0' in worker.metrics(),
             what="three posts counted")
    def alert_counted() -> str | None:
        text = worker.metrics()
        return text if "trailhound_alerts_raised_total{" in text else None

    text = wait_for(alert_counted, what="the alert counted")
    assert 'trailhound_posts_consumed_total{stage="enrich"} 3.0' in text
    assert "trailhound_end_to_end_latency_seconds_count 1.0" in text
    wait_for(lambda: "trailhound_consumer_lag{" in worker.metrics(), timeout_s=15,
             what="lag reported per partition the worker owns")


def test_http_ingest_and_alerts_list(settings, start_worker, tmp_path):
    start_worker(settings)
    port = free_port()
    env = cli_env(settings, TRAILHOUND_INGEST_PORT=str(port))
    server = subprocess.Popen([sys.executable, "-m", "trailhound", "ingest-server"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(url + "/healthz"), what="the ingest server")
        auth = {"Authorization": f"Bearer {ingest_token(settings)}"}
        one = httpx.post(url + "/posts", json=post("h-1", RISKY_BODY), headers=auth, timeout=30)
        assert one.status_code == 202 and one.json()["accepted"] == 1
        lines = jsonl(post("h-2", BENIGN_BODY)) + b'{"id": "h-3"}\n'
        many = httpx.post(url + "/posts", content=lines,
                          headers={"content-type": "application/x-ndjson", **auth}, timeout=30)
        assert many.status_code == 202
        assert many.json()["accepted"] == 1 and many.json()["rejected"] == 1
        assert "body" in many.json()["errors"][0]["reason"]
        bad = httpx.post(url + "/posts", content=b"{oops", headers={"content-type": "application/json", **auth},
                         timeout=30)
        assert bad.status_code == 422 and "not valid JSON" in bad.json()["errors"][0]["reason"]
    finally:
        server.terminate()
        server.wait(timeout=20)

    def listed() -> list[dict] | None:
        result = run_cli(settings, "alerts", "list", "--json")
        found = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        return found or None

    found = wait_for(listed, what="alerts list to show the alert")
    assert [a["trailhound"]["post_ids"] for a in found] == [["test-board:h-1"]]
    assert len(read_topic(settings, "posts.dlq")) == 2

