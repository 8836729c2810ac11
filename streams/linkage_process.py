"""The linkage stages (link_keys and build_clusters) in a process of their own, beside the worker's.

Why it exists (issue 13): a worker is one Python process, so one core. The linkage stages read their own
topics (``linkage.keys``, ``linkage.links``) in consumer groups of their own and share nothing in memory
with detection, yet they were a third of a busy worker's time, and a cluster batch held the event loop for
hundreds of milliseconds while content alerts waited behind it. Run here, they use another core, and the
worker's loop is left to enrich, detect and record alerts. The process runs at a lower priority
(``TRAILHOUND_LINKAGE_NICE``): where cores are short, as during a burst on a two-core server shared with
Kafka and Elasticsearch, content alerts (a post that shows youth or control on its own) go first and the
network stages catch up behind them, in larger batches that cost less per post; where cores are free, the
priority changes nothing.

The worker starts this process once it is prepared (:class:`LinkageProcess`) and stops it when it stops; the
process dies with the worker even when the worker is killed (``PR_SET_PDEATHSIG``), is in a process group of
its own (a supervisor's stop signals the worker, which stops it), and a linkage process that exits stops the
worker, as a failed reader of the worker's own does, so whatever supervises the worker restarts both. A
process whose event loop hangs (it says it is alive every 5 s; silent for ``TRAILHOUND_LINKAGE_SILENT_S``,
or a minute more before its first word) is killed and the worker stops the same way: otherwise networks
would stop being found while everything else looked well. Nothing is lost either way: the stages commit a
batch's offsets only after its outputs are written, so a batch cut short is read again. The two processes
talk over a pipe: the worker sends the categories' readable names (for cluster alerts; they change when a
pattern library is published) and the process sends back its stages' batch timings and consumer lags, which
the worker serves on its ``/metrics`` with its own, so Prometheus and the dashboards see one worker as
before.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from multiprocessing.connection import Connection

from aiokafka import AIOKafkaProducer
from elasticsearch import AsyncElasticsearch

from trailhound.config import Settings
from trailhound.connections import es_options, kafka_options
from trailhound.es_json import orjson_serializers
from trailhound.streams.batching import PRODUCER_BATCH_BYTES, PRODUCER_LINGER_MS, PlainTopic
from trailhound.streams.collector import settle_collector
from trailhound.streams.linkage import Linkage, linkage_stages, linkage_upkeep
from trailhound.streams.metrics import PipelineMetrics, partition_lags
from trailhound.streams.publishing import Publisher
from trailhound.streams.stage_timing import StageTimer
from trailhound.topics import MAX_RECORD_BYTES

__all__ = ["LinkageProcess", "worker_elasticsearch"]

log = logging.getLogger(__name__)

LAG_EVERY_S = 5.0
ALIVE_EVERY_S = 5.0
START_GRACE_S = 60.0  # importing and connecting before the first word may take a while on a busy machine
STALE_LAGS_S = 4 * LAG_EVERY_S
STOP_GRACE_S = 30.0
_PR_SET_PDEATHSIG = 1


def worker_elasticsearch(settings: Settings) -> AsyncElasticsearch:
    """The Elasticsearch client of a worker's stages (orjson bodies, retried timeouts)."""
    return AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30, retry_on_timeout=True,
                              serializers=orjson_serializers(), **es_options(settings))


class LinkageProcess:
    """The worker's side: starts the process, relays what it reports into the worker's metrics, stops it."""

    def __init__(self, settings: Settings, metrics: PipelineMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.lags: dict[tuple[str, int], int] = {}  # the process's consumer lags, as last reported
        self.lags_at = 0.0  # when (time.monotonic()): lags older than a few reports are not served
        self.heard_at = 0.0  # when the process last said anything (it says it is alive every ALIVE_EVERY_S)
        self._stopped = False
        self._timers: dict[str, StageTimer] = {}
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Connection | None = None
        self._labels: dict[str, str] = {}
        self._on_exit: Callable[[BaseException], Awaitable[None]] | None = None

    def start(self, labels: dict[str, str], on_exit: Callable[[BaseException], Awaitable[None]]) -> None:
        """Start the process; ``on_exit`` is awaited if it ends before :meth:`stop` (the worker then stops)."""
        if self._stopped:  # the worker began stopping before it was prepared
            return
        ours, theirs = multiprocessing.Pipe()
        context = multiprocessing.get_context("spawn")  # no copy of the worker's threads and Kafka clients
        self._process = context.Process(target=_main, name="trailhound-linkage", daemon=True,
                                        args=(self.settings, theirs, os.getpid(), labels, logging.getLogger().level))
        self._process.start()
        theirs.close()
        self._pipe, self._labels, self._on_exit = ours, dict(labels), on_exit
        self.heard_at = time.monotonic() + START_GRACE_S  # counted as heard a minute after its start
        asyncio.get_running_loop().add_reader(ours.fileno(), self._receive)
        log.info("linkage stages started in process %d", self._process.pid)

    def send_labels(self, labels: dict[str, str]) -> None:
        """Tell the process the categories' names, if they changed (a pattern library was published)."""
        if self._pipe is not None and labels != self._labels:
            self._labels = dict(labels)
            with contextlib.suppress(OSError):  # the process is gone: _receive reports it
                self._pipe.send(("labels", self._labels))

    def _receive(self) -> None:
        pipe = self._pipe
        try:
            while pipe is not None and pipe.poll():
                kind, *rest = pipe.recv()
                self.heard_at = time.monotonic()
                if kind == "batch":
                    stage, stamps, taken_at, finished_at = rest
                    timer = self._timers.get(stage) or self._timers.setdefault(stage, StageTimer(self.metrics, stage))
                    timer.finished_stamps(stamps, taken_at, finished_at)
                elif kind == "lags":
                    self.lags, self.lags_at = dict(rest[0]), time.monotonic()
                elif kind == "rejected":
                    self.metrics.posts_rejected.labels(stage=rest[0]).inc()
        except (EOFError, OSError):
            self._closed(RuntimeError("the linkage process exited"))

    def _closed(self, why: BaseException) -> None:
        if self._pipe is None:
            return
        asyncio.get_running_loop().remove_reader(self._pipe.fileno())
        self._pipe.close()
        self._pipe = None
        log.error("%s (exit code %s); the worker stops", why, self._process.exitcode if self._process else None)
        if self._on_exit is not None:
            asyncio.ensure_future(self._on_exit(why))

    def check_alive(self) -> None:
        """Kill a process silent for over ``linkage_silent_s`` (hung); that stops the worker, as its exit does."""
        self._receive()  # what arrived while the worker's own loop was busy counts
        silent = time.monotonic() - self.heard_at
        if self._pipe is None or self._process is None or silent <= self.settings.linkage_silent_s:
            return
        self._process.kill()
        self._process.join(1.0)  # reaped at once after SIGKILL, so its exit code is known for the log
        self._closed(RuntimeError(f"the linkage process said nothing for {silent:.0f} s and was killed as hung"))

    def current_lags(self) -> dict[tuple[str, int], int]:
        """The lags last reported, unless they are stale (a process that stopped reporting is not up to date)."""
        return self.lags if time.monotonic() - self.lags_at < STALE_LAGS_S else {}

    async def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 30 s) and wait for it."""
        self._stopped = True
        process, pipe = self._process, self._pipe
        self._on_exit = None
        if pipe is not None:
            asyncio.get_running_loop().remove_reader(pipe.fileno())
            pipe.close()
            self._pipe = None
        if process is None or process.exitcode is not None:
            return
        process.terminate()
        await asyncio.to_thread(process.join, STOP_GRACE_S)
        if process.exitcode is None:
            process.kill()
            await asyncio.to_thread(process.join, 10.0)


class _RelayedTimer:
    """A stage timer of the linkage process: each finished batch goes to the worker, which observes it."""

    def __init__(self, pipe: Connection, stage: str) -> None:
        self.pipe = pipe
        self.stage = stage

    def finished_stamps(self, stamps: Sequence[float], taken_at: float) -> None:
        with contextlib.suppress(OSError):  # the worker is gone: this process is about to be stopped too
            self.pipe.send(("batch", self.stage, list(stamps), taken_at, time.time()))


def _die_with(parent: int) -> None:
    """Be killed when the worker dies, however it dies (Linux); exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _main(settings: Settings, pipe: Connection, parent: int, labels: dict[str, str], loglevel: int) -> None:
    _die_with(parent)
    os.nice(settings.linkage_nice)
    os.setpgrp()  # a signal to the worker's group (a supervisor's stop) reaches the worker, which stops this one
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the worker, which stops this process
    logging.basicConfig(level=loglevel, format="%(asctime)s %(levelname)s %(name)s[linkage]: %(message)s")
    asyncio.run(_serve(settings, pipe, labels))


async def _serve(settings: Settings, pipe: Connection, labels: dict[str, str]) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    es = worker_elasticsearch(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=PRODUCER_LINGER_MS,
                                max_batch_size=PRODUCER_BATCH_BYTES, max_request_size=MAX_RECORD_BYTES,
                                client_id="trailhound-linkage", **kafka_options(settings))
    await producer.start()
    linkage = Linkage(settings, es, None)
    linkage.labels = labels
    settle_collector()
    def rejected(stage: str) -> None:
        with contextlib.suppress(OSError):
            pipe.send(("rejected", stage))

    publisher = Publisher(*(PlainTopic(producer, settings.topic(name)) for name in ("alerts", "posts.dlq")),
                          on_rejected=rejected)
    stages = linkage_stages(settings, linkage, PlainTopic(producer, settings.topic("linkage.links")),
                            publisher.publish_alerts, lambda stage: _RelayedTimer(pipe, stage))

    def receive() -> None:
        try:
            while pipe.poll():
                kind, value = pipe.recv()
                if kind == "labels":
                    linkage.labels = value
        except (EOFError, OSError):
            stopping.set()  # the worker is gone

    loop.add_reader(pipe.fileno(), receive)

    async def say_alive() -> None:
        """Tell the worker this loop runs, on its own clock (a lag read may wait for the broker)."""
        while True:
            try:
                pipe.send(("alive",))
            except OSError:  # the worker is gone: this process is about to be stopped too
                return
            await asyncio.sleep(ALIVE_EVERY_S)

    async def report_lags() -> None:
        while True:
            await asyncio.sleep(LAG_EVERY_S)
            lags: list[tuple[tuple[str, int], int]] = []
            try:
                for reader, _ in stages:
                    if reader.assignment():
                        lags += [((tp.topic, tp.partition), lag) for tp, lag in
                                 (await partition_lags(reader.consumer, reader.assignment())).items()]
                pipe.send(("lags", lags))
            except OSError:  # the worker is gone: this process is about to be stopped too
                return
            except Exception:  # a lag not known this time (a rebalance, the broker away): the next tick tells
                log.warning("linkage consumer lags not read", exc_info=True)

    tasks = [asyncio.ensure_future(reader.run(handle)) for reader, handle in stages]
    tasks += [asyncio.ensure_future(task) for task in (linkage_upkeep(linkage), report_lags(), say_alive())]
    stop = asyncio.ensure_future(stopping.wait())
    failed: list[asyncio.Future[None]] = []
    try:
        done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
        failed = [task for task in done if task is not stop and not task.cancelled() and task.exception()]
        for task in failed:
            log.error("a linkage stage failed", exc_info=task.exception())
    finally:
        for task in [stop, *tasks]:
            task.cancel()
        await asyncio.gather(stop, *tasks, return_exceptions=True)
        await producer.stop()
        await es.close()
        for index in linkage.indexes.values():
            index.close()
    if failed:
        raise SystemExit(1)
