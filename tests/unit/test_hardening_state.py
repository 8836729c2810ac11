"""Finding 8: state that used to grow without end is windowed, replaced or expired."""

from __future__ import annotations

import json
from dataclasses import replace

from prometheus_client import generate_latest

from tests.helpers import RISKY_BODY, post
from trailhound.alerts.post_documents import post_document
from trailhound.alerts.scoring import assess
from trailhound.config import Settings
from trailhound.detectors.online.ensemble import OnlineModels
from trailhound.detectors.online.verdict_window import DAY_S, VerdictWindow
from trailhound.schemas import parse_post
from trailhound.streams.enrich import enrich_post
from trailhound.streams.feedback import FeedbackLearner
from trailhound.streams.metrics import PipelineMetrics
from trailhound.streams.warm_start import enrich_raw, synthetic_training_set
from trailhound.streams.worker import build_detectors


def test_learned_verdict_ids_are_kept_for_the_window_only_and_older_copies_are_refused() -> None:
    window = VerdictWindow(max_age_s=30 * DAY_S)
    for day in range(200):
        for n in range(10):
            assert window.refusal(f"v{day}-{n}", day * DAY_S + n) is None
            window.add(f"v{day}-{n}", day * DAY_S + n)
    assert len(window) <= 31 * 10  # not 2,000
    assert "replayed" in (window.refusal("v199-3", 199 * DAY_S + 3) or "")
    assert "stale" in (window.refusal("v5-3", 5 * DAY_S + 3) or "")  # forgotten, so refused by date
    assert window.refusal("v199-new", 199 * DAY_S) is None
    restored = VerdictWindow(max_age_s=30 * DAY_S)
    restored.restore(json.loads(json.dumps(window.state())))
    assert len(restored) == len(window) and restored.horizon == window.horizon


def test_verdict_ids_are_capped_by_count_too() -> None:
    window = VerdictWindow(max_age_s=365 * DAY_S, max_ids=100)
    for n in range(1000):
        window.add(f"v{n}", 1_000_000 + n)
    assert len(window) == 100
    assert "stale" in (window.refusal("v10", 1_000_010) or "")


def _learner(tmp_path, models: OnlineModels) -> tuple[FeedbackLearner, PipelineMetrics]:
    settings = replace(Settings(cache_dir=tmp_path), analysts=("ana",))
    metrics = PipelineMetrics()

    async def send(_: dict) -> None:
        return None

    detectors = build_detectors(settings, models)
    return FeedbackLearner(settings, detectors, None, metrics, send, worker_id="t"), metrics  # type: ignore[arg-type]


def test_model_metric_series_are_replaced_not_accumulated(tmp_path) -> None:
    models = OnlineModels.warm_start(synthetic_training_set(200, seed=3))
    learner, metrics = _learner(tmp_path, models)
    for post_, label in synthetic_training_set(900, seed=4):
        models.learn_verdict(post_, label)
        learner._export_model_metrics()
    versions = {line.split('version="')[1].split('"')[0]
                for line in generate_latest(metrics.registry).decode().splitlines()
                if line.startswith("trailhound_model_metric{")}
    assert len(versions) <= models.metrics.max_versions  # 9 generations were seen


def test_only_library_patterns_get_learned_weights_not_text_model_words(tmp_path) -> None:
    models = OnlineModels.warm_start(synthetic_training_set(200, seed=5))
    learner, _ = _learner(tmp_path, models)
    enriched = enrich_post(parse_post(json.dumps(post("w-1", RISKY_BODY))), 0.0)
    detectors = learner.detectors
    document = post_document(enriched, assess(detectors.score(enriched), 0.5, detectors.supporting_categories),
                             None, learner.settings)["_source"]
    assert any(p.startswith("text_model:") for p in document["pattern_ids"])
    verdict = {"verdict_id": "v1", "label": "benign", "at": "2026-11-20T10:00:00.000Z"}
    learner._learn(verdict, document)
    learned = set(models.pattern_precision.stats())
    assert learned and learned <= set(detectors.library.by_id())


def test_contacts_expire_with_the_retention_and_never_enter_a_checkpoint() -> None:
    models = OnlineModels.warm_start(synthetic_training_set(100, seed=6))
    models.set_retention(90 * DAY_S, contact_ttl_s=2 * DAY_S)
    early = enrich_raw({"id": "a", "source": "s", "posted_at": "2026-01-01T00:00:00Z", "body": "call 312-555-0101"})
    late = enrich_raw({"id": "b", "source": "s", "posted_at": "2026-01-05T00:00:00Z", "body": "call 312-555-0199"})
    models.observe(early)
    assert early["entity_key"] in models.entity_anomaly._entities
    models.observe(late)
    assert early["entity_key"] not in models.entity_anomaly._entities  # older than two days: forgotten
    assert late["entity_key"] in models.entity_anomaly._entities
    assert "5550199" not in json.dumps(models.state())  # the checkpoint holds no contact
    assert len(OnlineModels.loads(models.dumps()).entity_anomaly) == 0
