"""Start one stream worker: load the bundled pattern library, prepare Kafka, run the Faust app.

Several workers may run at once against the same topics; Faust's consumer group shares the partitions
between them, and each reads pattern updates and verdicts in full.
"""

from __future__ import annotations

import logging

import faust
from elastic_transport import TransportError
from elasticsearch import Elasticsearch

from trailhound.config import Settings
from trailhound.connections import es_options
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.library import BUNDLED_PATTERNS, PatternLibrary
from trailhound.detectors.online.ensemble import OnlineModels
from trailhound.retrying import wait_out_blocking
from trailhound.streams.app import build_app
from trailhound.streams.collector import settle_collector
from trailhound.streams.model_state import Checkpoint, load_checkpoint
from trailhound.streams.warm_start import WARM_START_POSTS, WARM_START_SEED, warm_start_synthetic
from trailhound.topics import ensure_topics

__all__ = ["StreamWorker", "build_detectors", "restore_models", "run_worker"]

log = logging.getLogger(__name__)


class StreamWorker(faust.Worker):
    """A Faust worker without the terminal start-up spinner.

    Why it exists: to make the spinner spin on every log record, Faust sets the root logger to DEBUG, so
    aiokafka and Faust build a debug record for every message sent or fetched, which the handler then drops:
    about 5% of a busy worker's time in a py-spy profile (issue 13). Without the spinner the root logger
    keeps the level asked for.
    """

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        super().on_setup_root_logger(logger, level)


def restore_models(settings: Settings) -> Checkpoint:
    """The last checkpointed models, or models warm-started from synthetic posts if there is none."""
    es = Elasticsearch(settings.elasticsearch_url, request_timeout=30, **es_options(settings))
    try:
        for attempt in wait_out_blocking("reading the model checkpoint", lambda e: isinstance(e, TransportError),
                                         max_s=10, give_up_after_s=300):
            with attempt:
                checkpoint = load_checkpoint(es, settings)
    finally:
        es.close()
    if checkpoint is not None:
        log.info("restored models %s; replaying verdicts from offset %s", checkpoint.models.version,
                 checkpoint.next_feedback_offset)
        return checkpoint
    log.info("no model checkpoint: warm-starting from %d synthetic posts", WARM_START_POSTS)
    return Checkpoint(warm_start_synthetic(n=WARM_START_POSTS, seed=WARM_START_SEED), 0)


def build_detectors(settings: Settings, models: OnlineModels | None = None) -> DetectorSet:
    """The detectors a worker starts with, before any published library or verdict arrives."""
    return DetectorSet(PatternLibrary.load(settings.patterns_dir or BUNDLED_PATTERNS), models,
                       match_budget_s=settings.match_budget_ms / 1000)


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Run a worker in the foreground until interrupted."""
    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ensure_topics(settings)
    detectors = build_detectors(settings)
    checkpoint = restore_models(settings)
    checkpoint.models.set_retention(settings.verdict_window_days * 86_400, settings.contact_retention_days * 86_400)
    detectors.use_models(checkpoint.models)
    app = build_app(settings, detectors, next_feedback_offset=checkpoint.next_feedback_offset)
    settle_collector()
    worker = StreamWorker(app, loglevel=loglevel)
    worker.execute_from_commandline()
