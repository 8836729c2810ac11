"""The Faust application's wiring: topics, agents, sinks, start-up and shutdown — no decisions.

Three agents each read one topic and write the next; what they decide about a post is
:class:`~trailhound.streams.pipeline.PostProcessor`'s job and the HTTP views live in
:mod:`trailhound.streams.web`.

``posts.raw`` → **enrich** → ``posts.enriched`` → **detect** → ``alerts`` → **index_alerts** →
Elasticsearch (grouped, silenced and routed by :mod:`trailhound.streams.alert_stage`; deliveries to
partners go to the ``escalations`` outbox for ``trailhound escalator``). Processing is at-least-once:
offsets advance only after an agent's output is written, and every output is idempotent (alert ids
and post document ids are deterministic), which is safer than faust's ``exactly_once`` mode with its
open duplicate bugs. Pattern libraries and verdicts are read by every worker outside the consumer group
(:mod:`trailhound.streams.broadcast`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from elasticsearch import AsyncElasticsearch

from trailhound.alerts.indices import prepare_indices
from trailhound.alerts.sink import ElasticsearchSink
from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.connections import es_options
from trailhound.detectors.detector_set import DetectorSet
from trailhound.retrying import wait_out
from trailhound.schemas import InvalidRecord
from trailhound.streams.alert_stage import AlertStage
from trailhound.streams.delivery import on_send_failure
from trailhound.streams.feedback import FeedbackLearner
from trailhound.streams.linkage import Linkage, register_linkage
from trailhound.streams.metrics import PipelineMetrics
from trailhound.streams.pattern_updates import PatternUpdates
from trailhound.streams.pipeline import PostProcessor
from trailhound.streams.web import register_views
from trailhound.topics import MAX_RECORD_BYTES, dead_letter_headers

__all__ = ["build_app"]

log = logging.getLogger(__name__)

BATCH_SIZE = 500
BATCH_WITHIN_S = 0.25


def _faust_app(settings: Settings) -> faust.App:
    """The Faust app with the worker's settings: raw bytes in and out, at-least-once, large records."""
    data_dir = settings.cache_dir / "faust"  # Faust's own files, kept out of the current folder
    data_dir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        "trailhound" + (f"-{settings.namespace}" if settings.namespace else ""),
        broker=f"kafka://{settings.kafka_bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        datadir=str(data_dir / "{conf.name}"),
        web_port=settings.worker_web_port,
        web_bind=settings.bind_host,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        stream_wait_empty=False,
        stream_buffer_maxsize=16384,
        producer_max_request_size=MAX_RECORD_BYTES,
        consumer_max_fetch_size=MAX_RECORD_BYTES,
        broker_commit_every=2000,
        broker_commit_interval=1.0,
        producer_acks=-1,
        broker_credentials=_kafka_credentials(settings),
    )


def _kafka_credentials(settings: Settings) -> faust.SASLCredentials | None:
    """SASL/SCRAM credentials when the deployment sets them (see :mod:`trailhound.connections`)."""
    if not settings.kafka_sasl_username:
        return None
    return faust.SASLCredentials(username=settings.kafka_sasl_username, password=settings.kafka_sasl_password,
                                 mechanism=settings.kafka_sasl_mechanism)


def build_app(settings: Settings, detectors: DetectorSet, metrics: PipelineMetrics | None = None,
              next_feedback_offset: int = 0, clock: Clock = system_clock) -> faust.App:
    """A configured Faust app with its agents, web views and background tasks."""
    metrics = metrics or PipelineMetrics()
    processor = PostProcessor(settings, detectors, clock)
    es = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30, retry_on_timeout=True,
                            **es_options(settings))
    app = _faust_app(settings)
    raw_topic = app.topic(settings.topic("posts.raw"))
    enriched_topic = app.topic(settings.topic("posts.enriched"))
    dlq_topic = app.topic(settings.topic("posts.dlq"))
    alerts_topic = app.topic(settings.topic("alerts"))
    outbox_topic = app.topic(settings.topic("escalations"))
    posts_sink = ElasticsearchSink(es)
    pattern_updates = PatternUpdates(settings, detectors, metrics)

    async def send_alert(alert: dict[str, Any]) -> None:
        value = json.dumps(alert, ensure_ascii=False).encode("utf-8")
        delivery = await alerts_topic.send(key=alert["event"]["id"].encode("ascii"), value=value)
        on_send_failure(delivery, dead_letter_later(value, "send-alert", alert["event"]["id"]))

    prepared = asyncio.Event()  # set once indices exist and the published pattern library is in use
    feedback = FeedbackLearner(settings, detectors, es, metrics, send_alert,
                               worker_id=f"{socket.gethostname()}-{os.getpid()}", clock=clock)

    async def dead_letter(raw: bytes, reason: str, stage: str, origin: str) -> None:
        metrics.posts_rejected.labels(stage=stage).inc()
        await dlq_topic.send(key=origin.encode(), value=raw,
                             headers=dead_letter_headers(reason, stage, origin, clock))

    def dead_letter_later(raw: bytes, stage: str, origin: str) -> Callable[[BaseException], Awaitable[None]]:
        """What to do if a record queued for ``raw`` is refused by the broker: dead-letter ``raw``."""
        return lambda error: dead_letter(raw, f"could not be sent: {error!r}", stage, origin)

    @app.agent(raw_topic)
    async def enrich(stream: faust.Stream) -> None:
        await prepared.wait()
        async for event in stream.events():
            raw: bytes = event.value
            metrics.posts_consumed.labels(stage="enrich").inc()
            origin = f"{event.message.topic}:{event.message.partition}:{event.message.offset}"
            try:
                enriched = processor.enrich(raw, event.message.timestamp)
                delivery = await enriched_topic.send(key=enriched["entity_key"].encode("utf-8"),
                                                     value=json.dumps(enriched, ensure_ascii=False).encode("utf-8"))
                on_send_failure(delivery, dead_letter_later(raw, "enrich", origin))
            except InvalidRecord as exc:
                await dead_letter(raw, exc.reason, "enrich", origin)
            except Exception as exc:  # a post that breaks enrichment must not stop the stream or vanish
                log.exception("enrichment failed for %s", origin)
                await dead_letter(raw, f"enrichment failed: {exc!r}", "enrich", origin)

    @app.agent(enriched_topic)
    async def detect(stream: faust.Stream) -> None:
        await prepared.wait()
        async for batch in stream.take(BATCH_SIZE, within=BATCH_WITHIN_S):
            for raw in batch:
                metrics.posts_consumed.labels(stage="detect").inc()
                try:
                    enriched = json.loads(raw)
                    outcome = processor.process(enriched)
                except Exception as exc:  # one poison record must not take the batch with it
                    log.exception("detection failed")
                    await dead_letter(raw, f"detection failed: {exc!r}", "detect", "posts.enriched")
                    continue
                document = outcome.document
                posts_sink.add(document["_index"], document["_id"], document["_source"])
                for alert in outcome.alerts:
                    await send_alert(alert)
                await linkage.after_post(enriched, document, outcome.alerts, posts_sink, send_alert)
            result = await posts_sink.flush()
            for source, reason in result.failed:
                await dead_letter(json.dumps(source).encode(), reason, "index-posts", source.get("post_key", "?"))

    async def send_outbox(key: bytes, value: bytes) -> None:
        await (await outbox_topic.send(key=key, value=value))  # wait for Kafka before the alert is recorded

    alert_stage = AlertStage(settings, es, metrics, send_outbox, dead_letter, clock)

    @app.agent(alerts_topic)
    async def index_alerts(stream: faust.Stream) -> None:
        await prepared.wait()
        async for batch in stream.take(BATCH_SIZE, within=BATCH_WITHIN_S):
            await alert_stage.handle(batch)  # group → silence → route → outbox → record

    register_views(app, processor, metrics, prepared)

    background: list[asyncio.Task[None]] = []
    linkage = Linkage(settings, es, detectors, clock)
    register_linkage(app, settings, linkage, send_alert, prepared, background)

    @app.task
    async def prepare() -> None:
        async for attempt in wait_out("preparing Elasticsearch", max_s=15):
            with attempt:
                await asyncio.to_thread(prepare_indices, settings)  # before any agent writes
        background.append(asyncio.ensure_future(pattern_updates.run()))
        background.append(asyncio.ensure_future(feedback.run(next_feedback_offset)))
        await pattern_updates.reader.caught_up.wait()
        prepared.set()

    @app.timer(10.0)
    async def checkpoint_models() -> None:
        try:
            await feedback.checkpoint()
        except Exception:  # a failed checkpoint is retried on the next tick; the worker keeps going
            log.exception("model checkpoint failed")

    @app.on_before_shutdown.connect
    async def close(app: faust.App, **kwargs: Any) -> None:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await feedback.checkpoint()
        await es.close()

    @app.timer(5.0)
    async def report_lag() -> None:
        consumer = app.consumer
        metrics.consumer_lag.clear()  # partitions this worker lost in a rebalance must not linger
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            position = await consumer.position(tp)
            if highwater is not None and position is not None:
                metrics.consumer_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(
                    max(0, highwater - position))

    return app


