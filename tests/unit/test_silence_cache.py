"""The recording stage's silences: read again every few seconds beside the batches, waited for only when too old."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from trailhound.alerts import recorder
from trailhound.alerts.recorder import SILENCE_REFRESH_S, SilenceCache
from trailhound.alerts.silences import Silence
from trailhound.config import Settings


def _silence(value: str) -> Silence:
    return Silence("contact", value, "ana", "known outreach line", time.time() + 3600, time.time())


class _Silences:
    """An Elasticsearch stand-in whose silence search can be held back."""

    def __init__(self, silences: list[Silence]) -> None:
        self.silences = silences
        self.searches = 0
        self.release = asyncio.Event()
        self.release.set()

    async def search(self, **_: Any) -> dict[str, Any]:
        self.searches += 1
        await self.release.wait()
        return {"hits": {"hits": [{"_source": s.to_json()} for s in self.silences]}}


async def test_a_batch_uses_the_last_list_while_the_next_read_runs_and_waits_only_for_a_list_too_old(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(recorder.time, "monotonic", lambda: now[0])
    first, second = _silence("phone:+12125550149"), _silence("phone:+12125550150")
    es = _Silences([first])
    cache = SilenceCache(Settings.from_env({}), es)  # type: ignore[arg-type]
    assert await cache.active() == [first]  # at start the list is read before the batch goes on
    now[0] += SILENCE_REFRESH_S - 0.1
    assert await cache.active() == [first] and es.searches == 1  # fresh: not read again
    es.silences, now[0] = [first, second], now[0] + 0.2
    es.release.clear()  # Elasticsearch is slow to answer
    assert await asyncio.wait_for(cache.active(), 1.0) == [first]  # the batch does not wait for the read
    assert await cache.active() == [first] and es.searches == 2  # one read at a time
    es.release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert await cache.active() == [first, second] and es.searches == 2  # the new list, for the next batch
    es.silences, now[0] = [], now[0] + 2 * SILENCE_REFRESH_S
    assert await cache.active() == [] and es.searches == 3  # too old to use: waited for
