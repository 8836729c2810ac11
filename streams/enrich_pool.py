"""Enrich batches of raw posts on another core, so normalisation and extraction run beside detection.

Why it exists: profiling the worker showed validation + normalisation + entity extraction costing
about as much CPU as all detectors together, and a Python process uses one core. Enrichment holds
no state (the same raw bytes always give the same enriched record), so it is the part that can move
to a separate process without changing a single decision; the stateful detectors (per-contact
windows, online models) stay in the worker's own process. The standard library's
:class:`~concurrent.futures.ProcessPoolExecutor` (``spawn``: a fresh interpreter, never a fork of a
process running an event loop and Kafka threads) runs :func:`enrich_batch`; the records come back
already serialised (with :pypi:`orjson`, several times faster than the standard library's encoder), so
the worker's core does not pay for JSON encoding either.
Measured with ``bench/pipeline.py`` on the shared two-core development machine, the pool did not pay
(one worker 321 posts/s with it, 337 without: Kafka and Elasticsearch use the "free" core), so
``TRAILHOUND_ENRICH_PROCESSES`` defaults to 0 (enrich in the worker's process); set it where a
worker has cores of its own. Session 4 measured it paired (``bench/worker_ab.py``: a worker with the pool
and one without, fed the same 3,000 posts at the same time, load 5-7): the same posts/s (113 and 113) at
3.38 against 2.90 ms of CPU a post. The pool is pure overhead when no core is idle (records pickled both
ways, two processes contending): Kafka and Elasticsearch alone spent about as much CPU per post as the
worker (``bench/pipeline.py`` now prints it), so on two cores the second one is theirs. The worker is
ready only once the pool's processes have started (their imports take seconds of CPU), so the first
posts no longer wait for them.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import orjson

from trailhound.clock import Clock, system_clock
from trailhound.schemas import InvalidRecord, parse_post
from trailhound.streams.enrich import enrich_posts

__all__ = ["EnrichedRecord", "Enricher", "enrich_batch"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrichedRecord:
    """One raw post's outcome: ``value`` (enriched JSON keyed by ``key``) or a ``reason`` it was refused.

    ``invalid`` tells a post that breaks the schema (the sender's mistake) from one that broke
    enrichment (ours); both go to the dead-letter topic, with different reasons.
    """

    key: bytes = b""
    value: bytes = b""
    reason: str = ""
    invalid: bool = False

    @property
    def ok(self) -> bool:
        return not self.reason


class _FixedClock:
    """The worker's clock reading for a whole batch, picklable for the pool (a lambda is not)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def enrich_batch(items: list[tuple[bytes, float]], max_post_bytes: int, now: float) -> list[EnrichedRecord]:
    """Validate and enrich ``(raw bytes, Kafka timestamp)`` pairs; never raises for one bad post.

    The valid posts are enriched as one batch (:func:`~trailhound.streams.enrich.enrich_posts`).
    """
    clock = _FixedClock(now)
    out: list[EnrichedRecord] = []
    valid: list[tuple[int, tuple[dict[str, Any], float]]] = []
    for raw, ingested_ts in items:
        try:
            valid.append((len(out), (parse_post(raw, max_post_bytes, clock), ingested_ts)))
            out.append(EnrichedRecord())  # replaced below
        except InvalidRecord as exc:
            out.append(EnrichedRecord(reason=exc.reason, invalid=True))
    for (i, _), enriched in zip(valid, enrich_posts([item for _, item in valid]), strict=True):
        try:
            if isinstance(enriched, Exception):
                raise enriched
            out[i] = EnrichedRecord(enriched["entity_key"].encode("utf-8"), orjson.dumps(enriched))
        except Exception as exc:  # a post that breaks enrichment must not take its batch with it
            log.exception("enrichment failed")
            out[i] = EnrichedRecord(reason=f"enrichment failed: {exc!r}")
    return out


def _warm() -> bool:
    """Run once in each pool process at start-up so the first real batch does not pay the imports."""
    enrich_batch([(b'{"id": "w", "source": "w", "posted_at": "2024-01-01T00:00:00Z", "body": "warm up"}', 0.0)],
                 1024, 0.0)
    return True


class Enricher:
    """Enriches raw batches in ``processes`` pool processes, or in this process when ``processes`` is 0."""

    def __init__(self, max_post_bytes: int, processes: int, clock: Clock = system_clock) -> None:
        self.max_post_bytes = max_post_bytes
        self.clock = clock
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        if processes > 0:
            self._pool = self._new_pool()

    async def start(self) -> None:
        """Start the pool processes (imports take seconds) before the first batch arrives."""
        if self._pool is not None:
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(self._pool, _warm) for _ in range(self.processes)))

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"))

    async def enrich(self, items: list[tuple[bytes, float]]) -> list[EnrichedRecord]:
        now = self.clock()
        if self._pool is None:
            return enrich_batch(items, self.max_post_bytes, now)
        try:
            return await self._in_pool(self._pool, items, now)
        except BrokenProcessPool:  # a pool process died (killed, out of memory): replace the pool
            log.error("the enrichment pool broke; starting a new one and enriching this batch here")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return enrich_batch(items, self.max_post_bytes, now)

    async def _in_pool(self, pool: ProcessPoolExecutor, items: list[tuple[bytes, float]],
                       now: float) -> list[EnrichedRecord]:
        loop = asyncio.get_running_loop()
        if self.processes == 1 or len(items) < 2 * self.processes:
            return await loop.run_in_executor(pool, enrich_batch, items, self.max_post_bytes, now)
        step = -(-len(items) // self.processes)
        parts = await asyncio.gather(*(
            loop.run_in_executor(pool, enrich_batch, items[i:i + step], self.max_post_bytes, now)
            for i in range(0, len(items), step)))
        return [record for part in parts for record in part]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
