"""Publishing pattern libraries to the compacted ``patterns`` topic, and following it in every worker.

Analysts change what Trailhound looks for without a redeploy: ``trailhound patterns publish DIR``
checks the library (structure and every example) and produces it under one key, so the compacted topic
always holds the latest version. Each worker reads the topic from the start and swaps in every version
that validates again on arrival; a malformed one is logged and refused, and the last good library stays.

A library is signed with the publisher key (:mod:`trailhound.signing`), and checked by
:func:`~detectors.library_guard.check_library` (a floor of active harm patterns, no expression that
backtracks catastrophically) both before publishing and again in every worker before it goes live:
a record from anyone else, or one that would silence or hang the workers, is refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiokafka import ConsumerRecord

from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.connections import kafka_options
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.library import LibraryError, PatternLibrary
from trailhound.detectors.library_guard import check_library
from trailhound.detectors.matcher import PatternMatcher
from trailhound.signing import publisher_key, sign, verify
from trailhound.streams.broadcast import BroadcastReader
from trailhound.streams.metrics import PipelineMetrics
from trailhound.topics import kafka_producer

__all__ = ["LIBRARY_KEY", "PatternUpdates", "open_envelope", "publish_library", "signed_envelope"]

log = logging.getLogger(__name__)

LIBRARY_KEY = b"pattern-library"
MAX_LIBRARY_BYTES = 8 * 1024 * 1024


def signed_envelope(settings: Settings, library: PatternLibrary, publisher: str, published_at: float) -> bytes:
    """The record value: the library's wire form, who published it and when, signed with the publisher key."""
    body = {"library": library.to_json(), "published_by": publisher, "published_at": published_at}
    signature = sign(publisher_key(settings), _canonical(body)).decode("ascii")
    return json.dumps({**body, "signature": signature}).encode("utf-8")


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def open_envelope(settings: Settings, value: bytes) -> PatternLibrary:
    """The library in a record, if its publisher signature holds and it may go live; else LibraryError."""
    if len(value) > MAX_LIBRARY_BYTES:
        raise LibraryError(f"record of {len(value)} bytes is over the {MAX_LIBRARY_BYTES}-byte library limit")
    try:
        envelope = json.loads(value)
        body = {k: envelope[k] for k in ("library", "published_by", "published_at")}
        signature = envelope.get("signature")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise LibraryError(f"not a library envelope ({type(exc).__name__}: {exc})") from None
    if not isinstance(signature, str) or not verify(publisher_key(settings), _canonical(body), signature.encode()):
        raise LibraryError("unsigned or wrongly signed: not published with the publisher key")
    library = PatternLibrary.from_json(body["library"])
    check_library(library, settings.match_budget_ms / 1000)
    return library


def publish_library(settings: Settings, library: PatternLibrary, publisher: str,
                    clock: Clock = system_clock) -> dict[str, Any]:
    """Check the library (examples, bounds, expressions), sign and publish it; raise :class:`LibraryError`."""
    check_library(library, settings.match_budget_ms / 1000)
    failures = PatternMatcher(library).check_examples()
    if failures:
        shown = "\n".join(f"  - {failure}" for failure in failures[:20])
        more = f"\n  … and {len(failures) - 20} more" if len(failures) > 20 else ""
        raise LibraryError(f"{len(failures)} pattern examples fail; not published:\n{shown}{more}")
    value = signed_envelope(settings, library, publisher, clock())
    producer = kafka_producer(settings, "trailhound-patterns")
    try:
        producer.send(settings.topic("patterns"), key=LIBRARY_KEY, value=value).get(timeout=30)
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
                                      client_id="trailhound-patterns-follower", kafka_options=kafka_options(settings))
        self._show(detectors.library.version)

    def _show(self, version: str) -> None:
        self.metrics.pattern_library.clear()
        self.metrics.pattern_library.labels(version=version).set(1)

    async def run(self) -> None:
        await self.reader.run()

    async def apply(self, record: ConsumerRecord) -> None:
        try:  # checking the expressions and compiling take a second or more: off the event loop
            library = await asyncio.to_thread(open_envelope, self.settings, record.value or b"")
            if library.version == self.detectors.library.version:
                return
            # compiled before the swap, so a library the engine refuses is counted as refused and the
            # old one stays in force
            matcher = await asyncio.to_thread(PatternMatcher, library, self.detectors.match_budget_s)
        except LibraryError as exc:
            log.error("refused pattern library at offset %s: %s; keeping %s", record.offset, exc,
                      self.detectors.library.version)
            self.metrics.pattern_library_refused.inc()
            return
        self.detectors.use_matcher(matcher)
        self._show(matcher.version)

