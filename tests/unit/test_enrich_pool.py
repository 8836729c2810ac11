"""Enrichment on the pool gives exactly what enrichment in the worker gives, and survives a dead pool."""

from __future__ import annotations

import asyncio
import json
import os
import signal

from trailhound.streams.enrich import enrich_post
from trailhound.streams.enrich_pool import Enricher
from trailhound.synth import generate

NOW = 1_764_000_000.0


def _items() -> list[tuple[bytes, float]]:
    posts = [json.dumps(p).encode() for p in generate(12, seed=3)]
    return [*((raw, NOW) for raw in posts), (b'{"id": "x", "source": "s"}', NOW), (b"{not json", NOW)]


def _run(processes: int, kill_pool_first: bool = False) -> list:
    async def main() -> list:
        enricher = Enricher(262_144, processes, clock=lambda: NOW)
        try:
            await enricher.start()
            if kill_pool_first:
                for pid in list(enricher._pool._processes):  # type: ignore[union-attr]
                    os.kill(pid, signal.SIGKILL)
                await asyncio.sleep(0.5)
            first = await enricher.enrich(_items())
            again = await enricher.enrich(_items())  # after a broken pool: served by the new one
            assert first == again
            return first
        finally:
            enricher.close()

    return asyncio.run(main())


def test_the_pool_enriches_as_the_worker_does_and_refuses_invalid_posts_with_a_reason() -> None:
    in_worker, on_pool = _run(0), _run(2)
    assert in_worker == on_pool
    valid = [r for r in on_pool if r.ok]
    assert len(valid) == 12
    first = json.loads(valid[0].value)
    expected = enrich_post(json.loads(_items()[0][0]), NOW)
    assert first["entity_key"] == expected["entity_key"] and valid[0].key == expected["entity_key"].encode()
    missing, garbled = on_pool[-2:]
    assert missing.invalid and "body" in missing.reason
    assert garbled.invalid and "JSON" in garbled.reason


def test_a_killed_pool_process_loses_no_batch() -> None:
    assert _run(1, kill_pool_first=True) == _run(0)
