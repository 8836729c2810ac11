"""Publishing pattern libraries to the compacted ``patterns`` topic, and following it in every worker.

Analysts change what Trailhound looks for without a redeploy: ``trailhound patterns publish DIR``
checks the library (structure and every example) and produces it under one key, so the compacted topic
always holds the latest version. Each worker reads the topic from the start and swaps in every version
that validates again on arrival; a malformed one is logged and refused, and the last good library stays.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiokafka import ConsumerRecord

from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.library import LibraryError, PatternLibrary
from trailhound.detectors.matcher import PatternMatcher
from trailhound.streams.broadcast import BroadcastReader
from trailhound.streams.metrics import PipelineMetrics
from trailhound.topics import kafka_producer

__all__ = ["LIBRARY_KEY", "PatternUpdates", "publish_library"]

log = logging.getLogger(__name__)

LIBRARY_KEY = b"pattern-library"


def publish_library(settings: Settings, library: PatternLibrary, publisher: str,
                    clock: Clock = system_clock) -> dict[str, Any]:
    """Run the library's examples and publish it; raise :class:`LibraryError` if any example fails."""
    failures = PatternMatcher(library).check_examples()
    if failures:
        shown = "\n".join(f"  - {failure}" for failure in failures[:20])
        more = f"\n  … and {len(failures) - 20} more" if len(failures) > 20 else ""
        raise LibraryError(f"{len(failures)} pattern examples fail; not published:\n{shown}{more}")
    envelope = {"library": library.to_json(), "published_by": publisher, "published_at": clock()}
    producer = kafka_producer(settings, "trailhound-patterns")
    try:
        producer.send(settings.topic("patterns"), key=LIBRARY_KEY,
                      value=json.dumps(envelope).encode("utf-8")).get(timeout=30)
    finally:
        producer.close(timeout=10)
    return {"version": library.version, "patterns": len(library.patterns)}


class PatternUpdates:
    """Applies each published library version to this worker's detectors."""

    def __init__(self, settings: Settings, detectors: DetectorSet, metrics: PipelineMetrics) -> None:
        self.settings = settings
        self.detectors = detectors
        self.metrics = metrics
        self.reader = BroadcastReader(settings.kafka_bootstrap, settings.topic("patterns"), self.apply,
                                      client_id="trailhound-patterns-follower")
        self._show(detectors.library.version)

    def _show(self, version: str) -> None:
        self.metrics.pattern_library.clear()
        self.metrics.pattern_library.labels(version=version).set(1)

    async def run(self) -> None:
        await self.reader.run()

    async def apply(self, record: ConsumerRecord) -> None:
        try:
            # decoded, validated and compiled off the event loop (5,000 patterns take a minute and would
            # otherwise stall the stream), and before the swap, so a library the engine refuses is
            # counted as refused and the old one stays in force
            matcher = await asyncio.to_thread(_compiled, record.value, self.detectors.library.version)
        except (LibraryError, ValueError, KeyError, TypeError) as exc:
            log.error("refused pattern library at offset %s: %s; keeping %s", record.offset, exc,
                      self.detectors.library.version)
            self.metrics.pattern_library_refused.inc()
            return
        if matcher is None:
            return
        self.detectors.use_matcher(matcher)
        self._show(matcher.version)


def _compiled(value: bytes, current_version: str) -> PatternMatcher | None:
    """The published library compiled, or ``None`` if it is the version already in use."""
    envelope = json.loads(value)
    library = PatternLibrary.from_json(envelope["library"])
    if library.version == current_version:
        return None
    return PatternMatcher(library)
