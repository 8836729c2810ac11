"""Start one stream worker: load the bundled pattern library, prepare Kafka, run the Faust app.

Several workers may run at once against the same topics; Faust's consumer group shares the partitions
between them, and each reads pattern updates and verdicts in full.
"""

from __future__ import annotations

import logging
from pathlib import Path

import faust

from detectors.detector_set import DetectorSet
from detectors.library import PatternLibrary
from streams.app import build_app
from streams.topics import ensure_topics
from trailhound.config import Settings

__all__ = ["BUNDLED_PATTERNS", "build_detectors", "run_worker"]

BUNDLED_PATTERNS = Path(__file__).resolve().parent.parent / "detectors" / "patterns"


def build_detectors(settings: Settings) -> DetectorSet:
    """The detectors a worker starts with, before any published library or verdict arrives."""
    return DetectorSet(PatternLibrary.load(settings.patterns_dir or BUNDLED_PATTERNS))


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Run a worker in the foreground until interrupted."""
    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ensure_topics(settings)
    app = build_app(settings, build_detectors(settings))
    worker = faust.Worker(app, loglevel=loglevel)
    worker.execute_from_commandline()
