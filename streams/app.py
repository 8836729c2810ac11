"""The Faust application's wiring: topics, agents, sinks, start-up and shutdown — no decisions.

Each stage reads one topic and writes the next, a batch at a time; what they decide about a post
is :class:`~trailhound.streams.pipeline.PostProcessor`'s job and the HTTP views live in
:mod:`trailhound.streams.web`. ``posts.enriched`` is read by a Faust agent (detect); ``posts.raw``, the
linkage topics and ``alerts`` by bare aiokafka consumers (:mod:`~trailhound.streams.topic_batches`), which
save Faust's per-record cost and leave a stage's backlog in Kafka rather than in the worker's memory.

``posts.raw`` → **enrich** (stateless; optionally on a process pool: :mod:`~trailhound.streams.enrich_pool`)
→ ``posts.enriched`` → **detect** → Elasticsearch (posts, evidence) and ``alerts`` → **record_alerts**
→ Elasticsearch (grouped, silenced and routed by :mod:`~trailhound.streams.alert_stage`; deliveries to
partners go to the ``escalations`` outbox for ``trailhound escalator``). Linkage keys leave detect for
their own topics (:mod:`~trailhound.streams.linkage`), whose stages run in a second process the worker
starts (:mod:`~trailhound.streams.linkage_process`). The ``posts.enriched`` hop is kept because it
re-keys posts by contact: every post of one phone or e-mail reaches the same worker, whose per-contact
state must see all of them. Processing is at-least-once: a batch's offsets move only after everything it
produced is acknowledged by Kafka and Elasticsearch (:mod:`~trailhound.streams.batching`), and every
output is idempotent (alert ids and post document ids are deterministic), which is safer than faust's
``exactly_once`` mode with its open duplicate bugs. Pattern libraries and verdicts are read by every
worker outside the consumer group (:mod:`trailhound.streams.broadcast`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from typing import Any

import faust
import orjson
from aiokafka import ConsumerRecord

from trailhound.alerts.indices import prepare_indices
from trailhound.alerts.sink import ElasticsearchSink
from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.detectors.detector_set import DetectorSet
from trailhound.retrying import wait_out
from trailhound.streams.alert_stage import AlertStage
from trailhound.streams.batching import (
    JOINED_BATCH_RECORDS,
    JOINED_BUFFER_RECORDS,
    PRODUCER_BATCH_BYTES,
    PRODUCER_LINGER_MS,
    Deliveries,
    Outgoing,
    default_partition,
    held_batches,
    joined_items,
    joined_records,
)
from trailhound.streams.enrich_pool import Enricher
from trailhound.streams.feedback import FeedbackLearner
from trailhound.streams.linkage import Linkage, linkage_stages, linkage_upkeep, register_linkage
from trailhound.streams.linkage_process import LinkageProcess, worker_elasticsearch
from trailhound.streams.metrics import PipelineMetrics, partition_lags
from trailhound.streams.pattern_updates import PatternUpdates
from trailhound.streams.pipeline import PostProcessor
from trailhound.streams.publishing import Publisher, Reject
from trailhound.streams.stage_timing import StageTimer
from trailhound.streams.topic_batches import BatchHandler, TopicBatches, topic_reader
from trailhound.streams.web import register_views
from trailhound.topics import MAX_RECORD_BYTES

__all__ = ["build_app"]

log = logging.getLogger(__name__)

BATCH_SIZE = 500
DETECT_CONCURRENCY = 2
ALERT_FETCH_BYTES = 1024 * 1024  # a partition's alerts fetched ahead: hundreds, not a backlog of thousands


def _faust_app(settings: Settings) -> faust.App:
    """The Faust app with the worker's settings: raw bytes in and out, at-least-once, large records."""
    data_dir = settings.cache_dir / "faust"  # Faust's own files, kept out of the current folder
    data_dir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.consumer_group(),
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
        producer_linger_ms=PRODUCER_LINGER_MS,
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
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
    es = worker_elasticsearch(settings)
    app = _faust_app(settings)
    within_s = settings.batch_within_ms / 1000  # a batch is what arrived while the last one was worked on
    enriched_topic = app.topic(settings.topic("posts.enriched"), maxsize=JOINED_BUFFER_RECORDS)
    dlq_topic = app.topic(settings.topic("posts.dlq"))
    alerts_topic = app.topic(settings.topic("alerts"))
    outbox_topic = app.topic(settings.topic("escalations"))
    pattern_updates = PatternUpdates(settings, detectors, metrics)

    deliveries = Deliveries()
    enricher = Enricher(settings.max_post_bytes, settings.enrich_processes, clock)

    publisher = Publisher(alerts_topic, dlq_topic, deliveries,
                          lambda stage: metrics.posts_rejected.labels(stage=stage).inc(), clock)
    dead_letter_all, publish_alerts = publisher.dead_letter_all, publisher.publish_alerts

    async def dead_letter(raw: bytes, reason: str, stage: str, origin: str) -> None:
        await dead_letter_all([(raw, reason, stage, origin)])

    async def send_alert(alert: dict[str, Any]) -> None:
        await publish_alerts([alert])

    prepared = asyncio.Event()  # set once indices exist and the published pattern library is in use
    feedback = FeedbackLearner(settings, detectors, es, metrics, send_alert,
                               worker_id=f"{socket.gethostname()}-{os.getpid()}", clock=clock)

    async def enrich(batch: list[ConsumerRecord]) -> None:
        """Validate and enrich a batch of raw posts, re-keyed by contact: one record per partition."""
        metrics.posts_consumed.labels(stage="enrich").inc(len(batch))
        stamps = [record.timestamp / 1000 for record in batch]  # Kafka's are milliseconds
        records = await enricher.enrich([(record.value, stamp) for record, stamp in zip(batch, stamps, strict=True)])
        outgoing: list[Outgoing] = []
        rejects: list[Reject] = []
        raw_of: dict[int, tuple[bytes, str]] = {}
        for message, record in zip(batch, records, strict=True):
            origin = f"{message.topic}:{message.partition}:{message.offset}"
            if record.ok:
                out = Outgoing(enriched_topic, record.key, record.value,
                               partition=default_partition(record.key, settings.partitions))
                raw_of[id(out)] = (message.value, origin)
                outgoing.append(out)
            else:
                rejects.append((message.value, record.reason, "enrich", origin))
        for out, why in await deliveries.deliver_joined(outgoing):
            raw, origin = raw_of[id(out)]
            rejects.append((raw, f"enriched record not accepted: {why}", "enrich", origin))
        await dead_letter_all(rejects)

    async def read(reader: TopicBatches, handle: BatchHandler) -> None:
        """Read a topic until the worker stops; a reader that fails for good stops the worker."""
        try:
            await reader.run(handle)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("reading %s failed", reader.topic)
            await app.crash(exc)

    @app.agent(enriched_topic, concurrency=DETECT_CONCURRENCY)
    async def detect(stream: faust.Stream) -> None:
        """Judge batches of enriched posts; index posts and evidence in one bulk request; publish alerts.

        An event is a joined record of many posts (see ``enrich``), so a batch is a few events, and its
        posts are judged and written ``BATCH_SIZE`` at a time. Two instances share the stream: while one
        waits for Elasticsearch and Kafka, the other judges the next batch; the consumer commits only
        offsets below which every batch is finished.
        """
        await prepared.wait()
        sink = ElasticsearchSink(es)
        async for batch in held_batches(stream, JOINED_BATCH_RECORDS, within_s, StageTimer(metrics, "detect")):
            posts: list[tuple[dict[str, Any], str]] = []
            rejects: list[Reject] = []
            for event in batch:
                message = event.message
                origin = f"{message.topic}:{message.partition}:{message.offset}"
                try:
                    posts.extend((item, origin) for item in joined_items(event.value))
                except ValueError as exc:
                    rejects.append((event.value, f"not an enriched record: {exc!r}", "detect", origin))
            await dead_letter_all(rejects)
            metrics.posts_consumed.labels(stage="detect").inc(len(posts))
            for start in range(0, len(posts), BATCH_SIZE):
                await detect_posts(posts[start:start + BATCH_SIZE], sink)

    async def detect_posts(posts: list[tuple[dict[str, Any], str]], sink: ElasticsearchSink) -> None:
        """Judge enriched posts, index them with their evidence, then send their alerts and linkage keys."""
        alerts: list[dict[str, Any]] = []
        keys: list[Outgoing] = []
        rejects: list[Reject] = []

        async def collect(alert: dict[str, Any], alerts: list[dict[str, Any]] = alerts) -> None:
            alerts.append(alert)  # watchlist alerts leave with the batch's others

        for enriched, origin in posts:
            try:
                outcome = processor.process(enriched)
            except Exception as exc:  # one poison record must not take the batch with it
                log.exception("detection failed")
                rejects.append((orjson.dumps(enriched), f"detection failed: {exc!r}", "detect", origin))
                continue
            document = outcome.document
            sink.add(document["_index"], document["_id"], document["_source"])
            alerts.extend(outcome.alerts)
            keys.extend(await linkage.after_post(enriched, document, outcome.alerts, sink, collect))
        await dead_letter_all(rejects)
        # Posts and evidence are indexed before their alerts are published; the linkage keys need nothing
        # from Elasticsearch, so they go out while the bulk request is written (one wait less per batch).
        result, lost_keys = await asyncio.gather(sink.flush(), deliveries.deliver(joined_records(keys)))
        await dead_letter_all([(json.dumps(source).encode(), reason, "index-posts", source.get("post_key", "?"))
                               for source, reason in result.failed])
        await publish_alerts(alerts)
        for record, why in lost_keys:  # only a record too large for the topic
            log.error("linkage.keys refused the keys of %s: %s", record.key.decode(errors="replace"), why)

    async def send_outbox(key: bytes, value: bytes) -> None:
        lost = await deliveries.deliver([Outgoing(outbox_topic, key, value)])  # before the alert is recorded
        if lost:
            raise RuntimeError(f"the escalations outbox refused a delivery: {lost[0][1]}")

    alert_stage = AlertStage(settings, es, metrics, send_outbox, dead_letter, clock)

    async def record_alerts(batch: list[ConsumerRecord]) -> None:
        """Group → silence → route → outbox → record, a batch of alerts at a time."""
        await alert_stage.handle([record.value for record in batch])

    register_views(app, processor, metrics, prepared)

    background: list[asyncio.Task[None]] = []
    linkage = Linkage(settings, es, detectors, clock)
    raw_reader = topic_reader(settings, "posts.raw", BATCH_SIZE, timer=StageTimer(metrics, "enrich"))
    alerts_reader = topic_reader(settings, "alerts", BATCH_SIZE, ALERT_FETCH_BYTES,
                                 timer=StageTimer(metrics, "record_alerts"))
    register_linkage(app, settings, linkage, background)
    readers = [(raw_reader, enrich), (alerts_reader, record_alerts)]
    linkage_process = LinkageProcess(settings, metrics) if settings.linkage_process else None
    if linkage_process is None:  # stages 2 and 3 here, in the worker's own process
        readers += linkage_stages(settings, linkage, app.topic(settings.topic("linkage.links")), publish_alerts,
                                  lambda stage: StageTimer(metrics, stage))

    @app.task
    async def prepare() -> None:
        async for attempt in wait_out("preparing Elasticsearch", max_s=15):
            with attempt:
                await asyncio.to_thread(prepare_indices, settings)  # before any agent writes
        warming = asyncio.ensure_future(enricher.start())
        background.append(warming)
        background.append(asyncio.ensure_future(pattern_updates.run()))
        background.append(asyncio.ensure_future(feedback.run(next_feedback_offset)))
        await pattern_updates.reader.caught_up.wait()
        await warming  # ready means able to enrich: pool processes import for seconds before their first post
        prepared.set()
        background.extend(asyncio.ensure_future(read(reader, handle)) for reader, handle in readers)
        if linkage_process is None:
            background.append(asyncio.ensure_future(linkage_upkeep(linkage)))
        else:
            linkage_process.start(detectors.category_labels, app.crash)

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
        if linkage_process is not None:
            await linkage_process.stop()
        await asyncio.gather(*background, return_exceptions=True)
        await feedback.checkpoint()
        enricher.close()
        await es.close()

    @app.timer(5.0)
    async def watch_linkage_process() -> None:
        """A hung linkage process is killed, which stops the worker (:meth:`LinkageProcess.check_alive`)."""
        if linkage_process is None:
            return
        try:
            linkage_process.check_alive()
        except Exception:  # a report that could not be read is logged; the next tick checks again
            log.exception("checking the linkage process failed")

    @app.timer(5.0)
    async def report_lag() -> None:
        metrics.consumer_lag.clear()  # partitions this worker lost in a rebalance must not linger
        consumers = [(app.consumer, app.consumer.assignment()),
                     *((reader.consumer, reader.assignment()) for reader, _ in readers if reader.assignment())]
        for consumer, assigned in consumers:
            for tp, lag in (await partition_lags(consumer, assigned)).items():
                metrics.consumer_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)
        if linkage_process is not None:
            for (topic, partition), lag in linkage_process.current_lags().items():
                metrics.consumer_lag.labels(topic=topic, partition=str(partition)).set(lag)
            linkage_process.send_labels(detectors.category_labels)  # changed if a library was published

    return app


