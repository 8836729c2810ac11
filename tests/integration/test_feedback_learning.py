"""Analysts' verdicts teach every worker within seconds, survive restarts, and cannot be forged."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from tests.helpers import BENIGN_BODY, RISKY_BODY, alerts_for, jsonl, post, posts_indexed, read_topic, run_cli, wait_for
from trailhound.config import Settings
from trailhound.signing import worker_token

ANALYSTS = {"TRAILHOUND_ANALYSTS": "ana,bo"}


def worker_auth() -> dict[str, str]:
    """The bearer token a worker started by the tests accepts (the key file in the shared cache)."""
    return {"Authorization": f"Bearer {worker_token(Settings.from_env())}"}
CODE_WORD = "quillfeather"


def score(worker, body: str) -> dict:
    response = httpx.post(worker.base_url + "/score", json=post("probe", body), headers=worker_auth(), timeout=10)
    response.raise_for_status()
    return response.json()


def models_version(worker) -> str:
    return worker.healthz()["versions"]["models"]


def verdict(post_id: str, label: str, analyst: str = "ana") -> dict:
    return {"post_id": f"test-board:{post_id}", "label": label, "analyst": analyst, "at": "2026-11-21T09:00:00Z"}


def carrier_body(n: int) -> str:
    return f"Evening company in the city, ask for the {CODE_WORD} special. Reply {n} for details."


def test_verdicts_teach_every_worker_and_survive_a_killed_worker(settings, start_worker, es, tmp_path):
    first, second = start_worker(settings, ANALYSTS), start_worker(settings, ANALYSTS)
    (tmp_path / "posts.jsonl").write_bytes(jsonl(*(post(f"c-{n}", carrier_body(n)) for n in range(12))))
    assert run_cli(settings, "ingest", str(tmp_path / "posts.jsonl")).returncode == 0
    wait_for(lambda: posts_indexed(es, settings) == 12, what="the carriers indexed")
    probe = carrier_body(99)
    before = [score(w, probe)["detectors"]["text_model"] for w in (first, second)]
    start_version = models_version(first)

    (tmp_path / "verdicts.jsonl").write_text(
        "".join(json.dumps(verdict(f"c-{n}", "trafficking")) + "\n" for n in range(12)))
    sent = run_cli(settings, "feedback", str(tmp_path / "verdicts.jsonl"))
    assert sent.returncode == 0 and "sent 12 verdicts" in sent.stdout, sent.stderr

    learned = start_version.rsplit("+", 1)[0] + "+12"
    for worker in (first, second):
        wait_for(lambda w=worker: models_version(w) == learned, timeout_s=60, what="both workers to learn")
    after = [score(w, probe)["detectors"]["text_model"] for w in (first, second)]
    assert all(a > b + 0.2 for a, b in zip(after, before, strict=True)), (before, after)
    assert 'trailhound_verdicts_total{outcome="learned"} 12.0' in first.metrics()
    assert 'trailhound_model_metric{' in first.metrics()

    def checkpointed_offset() -> int | None:
        found = es.options(ignore_status=(404, 503)).get(index=settings.index("models"), id="online-models")
        return found["_source"]["feedback_offset"] if found.get("found") else None

    wait_for(lambda: checkpointed_offset() == 11, timeout_s=40, what="a checkpoint of all 12 verdicts")
    (tmp_path / "more.jsonl").write_text(
        "".join(json.dumps(verdict(f"c-{n}", "trafficking", "bo")) + "\n" for n in range(2)))
    assert run_cli(settings, "feedback", str(tmp_path / "more.jsonl")).returncode == 0
    learned = start_version.rsplit("+", 1)[0] + "+14"
    wait_for(lambda: models_version(second) == learned, what="the two later verdicts learned")

    first.stop(kill=True)
    replacement = start_worker(settings, ANALYSTS)
    assert models_version(replacement) == learned, "checkpoint restored and the later verdicts replayed"
    restored = re.search(r"replaying verdicts from offset (\d+)", replacement.log_tail(200))
    assert restored and int(restored.group(1)) >= 12, "it started from the checkpoint, not from scratch"
    assert score(replacement, probe)["detectors"]["text_model"] == pytest.approx(
        score(second, probe)["detectors"]["text_model"], abs=0.05)

    es.indices.refresh(index=settings.index("feedback"))
    stored = es.search(index=settings.index("feedback"), query={"term": {"learned": True}}, size=0)
    assert stored["hits"]["total"]["value"] == 14, "every verdict is kept for rebuilding and audit"


def test_false_alarm_verdicts_lower_a_noisy_patterns_weight(settings, start_worker, es, tmp_path):
    worker = start_worker(settings, ANALYSTS)
    body = "Available 24/7, no English needed, ask for her at the front desk of our hotel."
    before = score(worker, body)
    fired = {i["pattern_id"] for i in before["indicators"] if not i["pattern_id"].startswith("text_model")}
    assert fired, before
    (tmp_path / "posts.jsonl").write_bytes(jsonl(*(post(f"n-{n}", f"{body} Room {n}.") for n in range(10))))
    assert run_cli(settings, "ingest", str(tmp_path / "posts.jsonl")).returncode == 0
    wait_for(lambda: posts_indexed(es, settings) == 10, what="the posts indexed")
    (tmp_path / "verdicts.jsonl").write_text(
        "".join(json.dumps(verdict(f"n-{n}", "benign", "bo")) + "\n" for n in range(10)))
    assert run_cli(settings, "feedback", str(tmp_path / "verdicts.jsonl")).returncode == 0
    wait_for(lambda: models_version(worker).endswith("+10"), what="the verdicts learned")
    after = score(worker, body)
    assert after["detectors"]["patterns"] < before["detectors"]["patterns"] * 0.7
    weights_before = {i["pattern_id"]: i["weight"] for i in before["indicators"]}
    for indicator in after["indicators"]:
        if indicator["pattern_id"] in fired:
            assert indicator["weight"] < weights_before[indicator["pattern_id"]]

    listed = httpx.get(worker.base_url + "/patterns", headers=worker_auth(), timeout=5).json()["patterns"]
    stats = {r["pattern_id"]: r for r in listed}
    for pattern_id in fired:
        assert stats[pattern_id]["verdicts"] == 10
        assert stats[pattern_id]["learned_weight"] < stats[pattern_id]["weight"]
    shown = run_cli(settings, "patterns", "stats", "--worker", worker.base_url)
    assert shown.returncode == 0 and all(p in shown.stdout for p in fired), shown.stdout + shown.stderr


def test_forged_foreign_and_replayed_verdicts_are_refused_and_recorded(settings, start_worker, es, tmp_path):
    worker = start_worker(settings, ANALYSTS)
    (tmp_path / "posts.jsonl").write_bytes(jsonl(post("r-1", RISKY_BODY), post("r-2", BENIGN_BODY)))
    assert run_cli(settings, "ingest", str(tmp_path / "posts.jsonl")).returncode == 0
    wait_for(lambda: alerts_for(es, settings, "test-board:r-1"), what="the alert")
    (tmp_path / "genuine.jsonl").write_text(json.dumps(verdict("r-2", "benign")) + "\n")
    assert run_cli(settings, "feedback", str(tmp_path / "genuine.jsonl")).returncode == 0
    wait_for(lambda: models_version(worker).endswith("+1"), what="the genuine verdict learned")
    version = models_version(worker)

    (tmp_path / "verdicts.jsonl").write_text(
        json.dumps(verdict("r-2", "trafficking", analyst="mallory")) + "\n"
        + json.dumps({**verdict("r-2", "trafficking"), "label": "very bad"}) + "\n")
    sent = run_cli(settings, "feedback", str(tmp_path / "verdicts.jsonl"))
    assert "sent 1 verdicts, rejected 1" in sent.stdout
    genuine = read_topic(settings, "feedback")[0]
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    forged = json.dumps({**verdict("r-2", "trafficking"), "verdict_id": "f" * 32}).encode()
    producer.send(settings.topic("feedback"), key=b"test-board:r-2", value=forged).get(30)
    producer.send(settings.topic("feedback"), key=genuine.key, value=genuine.value, headers=genuine.headers).get(30)
    producer.close()

    wait_for(lambda: 'trailhound_verdicts_total{outcome="refused"} 3.0' in worker.metrics(), what="three refusals")
    assert models_version(worker) == version, "refused verdicts must not change the models"
    dead = read_topic(settings, "feedback.dlq")
    assert len(dead) == 1 and "verdict.label" in dict(dead[0].headers)["reason"].decode()
    es.indices.refresh(index=settings.index("feedback"))
    reasons = sorted(h["_source"]["refused_reason"] for h in es.search(
        index=settings.index("feedback"), query={"term": {"learned": False}})["hits"]["hits"])
    assert len(reasons) == 3
    assert any("mallory" in r for r in reasons)
    assert any("signed" in r for r in reasons)
    assert any("replayed" in r for r in reasons)


def test_a_shift_in_scores_raises_a_model_health_alert(settings, start_worker, es: Elasticsearch, tmp_path):
    start_worker(settings, ANALYSTS)
    calm = [post(f"calm-{n}", f"{BENIGN_BODY} Stall {n}.") for n in range(250)]
    shifted = [post(f"shift-{n}", f"{RISKY_BODY} Ref {n}.") for n in range(250)]
    (tmp_path / "calm.jsonl").write_bytes(jsonl(*calm))
    (tmp_path / "shifted.jsonl").write_bytes(jsonl(*shifted))
    assert run_cli(settings, "ingest", str(tmp_path / "calm.jsonl")).returncode == 0
    wait_for(lambda: posts_indexed(es, settings) == 250, what="the calm period scored")
    assert run_cli(settings, "ingest", str(tmp_path / "shifted.jsonl")).returncode == 0

    def model_health() -> list[dict]:
        return [a for a in alerts_for(es, settings) if a["rule"]["category"] == "model_health"]

    alert = wait_for(model_health, timeout_s=90, what="a model_health alert")[0]
    assert alert["event"]["kind"] == "alert"
    assert alert["trailhound"]["categories"] == ["model_health"]
    assert "drift" in alert["message"]
