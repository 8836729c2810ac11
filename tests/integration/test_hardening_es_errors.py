"""Finding 7 on the real Elasticsearch: failures are sorted — waited out, split, or dead-lettered — and a
verdict that meets a credentials error is learned once they work again, never marked handled unlearned."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from aiokafka import ConsumerRecord
from elasticsearch import AsyncElasticsearch

from tests.es_fault_proxy import Fault, FaultProxy
from tests.helpers import RISKY_BODY, post
from trailhound.alerts.indices import prepare_indices
from trailhound.alerts.post_documents import post_document
from trailhound.alerts.scoring import assess
from trailhound.alerts.sink import ElasticsearchSink
from trailhound.schemas import parse_post
from trailhound.signing import feedback_key, sign
from trailhound.streams.enrich import enrich_post
from trailhound.streams.feedback import FeedbackLearner
from trailhound.streams.metrics import PipelineMetrics
from trailhound.streams.warm_start import warm_start_synthetic
from trailhound.streams.worker import build_detectors


@pytest.fixture
async def proxy(settings):
    prepare_indices(settings)
    fault_proxy = await FaultProxy(settings.elasticsearch_url).start()
    yield fault_proxy
    await fault_proxy.stop()


def _bulk(path: str, _: bytes) -> bool:
    return path.endswith("/_bulk")


async def _written(settings, ids: list[str]) -> list[str]:
    es = AsyncElasticsearch(settings.elasticsearch_url)
    try:
        await es.indices.refresh(index=settings.index("alerts"))
        found = await es.mget(index=settings.index("alerts"), ids=ids)
        return [d["_id"] for d in found["docs"] if d.get("found")]
    finally:
        await es.close()


async def _flush(proxy: FaultProxy, settings, docs: dict[str, object]):
    es = AsyncElasticsearch(proxy.url, request_timeout=10)
    sink = ElasticsearchSink(es, max_wait_s=0.5)
    try:
        for doc_id, source in docs.items():
            sink.add(settings.index("alerts"), doc_id, {"n": source})
        return await sink.flush()
    finally:
        await es.close()


async def test_a_request_too_large_is_split_not_retried_forever(settings, proxy):
    proxy.faults.append(Fault(lambda path, body: _bulk(path, body) and body.count(b'"_id"') > 2, 413))
    ids = [f"big-{n}" for n in range(8)]
    result = await _flush(proxy, settings, {i: 1 for i in ids})
    assert sorted(result.written) == ids and result.failed == []
    assert proxy.faults[0].hits >= 3  # 8 → 4+4 → 2+2+2+2


async def test_a_whole_request_refused_as_malformed_dead_letters_only_the_document_at_fault(settings, proxy):
    proxy.faults.append(Fault(lambda path, body: _bulk(path, body) and b"poison" in body, 400))
    ids = [f"ok-{n}" for n in range(5)]
    result = await _flush(proxy, settings, {**{i: 1 for i in ids}, "poison": 2})
    assert sorted(result.written) == ids
    assert [source for source, _ in result.failed] == [{"n": 2}] and "400" in result.failed[0][1]
    assert sorted(await _written(settings, [*ids, "poison"])) == ids


async def test_a_document_the_client_cannot_serialise_fails_alone(settings, proxy):
    result = await _flush(proxy, settings, {"fine-1": 1, "odd": object(), "fine-2": 3})
    assert sorted(result.written) == ["fine-1", "fine-2"]
    assert len(result.failed) == 1 and "Serialization" in result.failed[0][1]


async def test_overload_is_waited_out_and_everything_arrives(settings, proxy):
    proxy.faults.append(Fault(_bulk, 503, times=2))
    result = await _flush(proxy, settings, {"later-1": 1, "later-2": 2})
    assert sorted(result.written) == ["later-1", "later-2"] and proxy.faults[0].hits == 2


async def test_a_verdict_meeting_a_credentials_error_is_learned_once_they_work(settings, proxy):
    settings = replace(settings, analysts=("ana",))
    detectors = build_detectors(settings, warm_start_synthetic(n=200))
    enriched = enrich_post(parse_post(json.dumps(post("cred-1", RISKY_BODY))), time.time())
    assessment = assess(detectors.score(enriched), 0.5, detectors.supporting_categories)
    document = post_document(enriched, assessment, None, settings)
    direct = AsyncElasticsearch(settings.elasticsearch_url)
    await direct.index(index=document["_index"], id=document["_id"], document=document["_source"], refresh=True)
    await direct.close()

    verdict = json.dumps({"analyst": "ana", "at": "2026-11-20T10:00:00.000Z", "label": "trafficking",
                          "post_id": "test-board:cred-1", "verdict_id": "v-cred-1"}).encode()
    record = ConsumerRecord(settings.topic("feedback"), 0, 7, 0, 0, b"test-board:cred-1", verdict, None,
                            len(b"k"), len(verdict), [("signature", sign(feedback_key(settings), verdict))])
    proxy.faults.append(Fault(lambda path, body: path.endswith("/_search"), 401, times=3))
    es = AsyncElasticsearch(proxy.url, request_timeout=10)

    async def no_alerts(alert: dict) -> None:
        raise AssertionError("no drift alert expected")

    learner = FeedbackLearner(settings, detectors, es, PipelineMetrics(), no_alerts, worker_id="test")
    try:
        await learner.handle(record)
    finally:
        await es.close()
    assert proxy.faults[0].hits == 3
    assert detectors.models is not None and detectors.models.verdicts == 1
    assert "v-cred-1" in detectors.models.learned_verdict_ids
