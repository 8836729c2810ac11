"""The stream's city baselines for the velocity detector, counted from every indexed post.

The velocity detector compares a network's day in a city with what one advertiser usually posts there
(:mod:`trailhound.detectors.linkage.city_rates`). The cluster stage only sees linked posts, so counting
what passes through it would make a city's usual rate that of networks (too high: bursts go unseen)
and start empty after every restart. The posts index holds every post with its city, its advertiser
(``entity_key``) and its time, so the stage asks Elasticsearch instead: one aggregation for the cities
a batch needs, remembered per city and day (whole past days barely change within a day).

:meth:`StoredCityRates.per_advertiser` answers from what is remembered and notes what it lacks;
:meth:`StoredCityRates.fetch_missing` asks for those, after which the caller assesses again.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch

from trailhound.config import Settings
from trailhound.detectors.linkage.city_rates import DAY_S, usual_per_advertiser

__all__ = ["StoredCityRates"]

MAX_CITIES_PER_QUERY = 200


class StoredCityRates:
    """Posts per advertiser and day in each city over the whole days of a window, read from the posts index."""

    def __init__(self, es: AsyncElasticsearch, settings: Settings, window_days: int = 14, min_days: int = 3) -> None:
        self.es = es
        self.index = f"{settings.index('posts')}-*"
        self.window_days = window_days
        self.min_days = min_days
        self._known: dict[tuple[str, int], float | None] = {}
        self._wanted: set[tuple[str, int]] = set()

    def per_advertiser(self, city: str, before_ts: float) -> float | None:
        """Usual posts per advertiser and day in ``city`` on the whole days before ``before_ts``, if known;
        None when fewer than ``min_days`` days had posts there, or when it is not fetched yet."""
        key = (city, int(before_ts // DAY_S))
        if key not in self._known:
            self._wanted.add(key)
            return None
        return self._known[key]

    @property
    def missing(self) -> bool:
        """Whether an answer was asked for that :meth:`fetch_missing` would bring."""
        return bool(self._wanted)

    async def fetch_missing(self) -> None:
        """Count the cities and days asked for since the last fetch (one search per day and up to 200 cities)."""
        wanted, self._wanted = sorted(self._wanted), set()
        today_now = max((day for _, day in wanted), default=0)
        self._known = {k: v for k, v in self._known.items() if k[1] >= today_now - 1}  # older days are not asked again
        by_day: dict[int, list[str]] = {}
        for city, day in wanted:
            by_day.setdefault(day, []).append(city)
        for day, cities in by_day.items():
            for start in range(0, len(cities), MAX_CITIES_PER_QUERY):
                chunk = cities[start:start + MAX_CITIES_PER_QUERY]
                counted = await self._count(chunk, day)
                for city in chunk:
                    self._known[(city, day)] = usual_per_advertiser(counted.get(city, []), self.min_days)

    async def _count(self, cities: list[str], day: int) -> dict[str, list[tuple[int, int]]]:
        query = {"bool": {"filter": [
            {"terms": {"location.city": cities}},
            {"range": {"posted_at": {"gte": int((day - self.window_days) * DAY_S * 1000),
                                     "lt": int(day * DAY_S * 1000), "format": "epoch_millis"}}},
        ]}}
        aggs = {"city": {"terms": {"field": "location.city", "size": len(cities)}, "aggs": {
            "day": {"date_histogram": {"field": "posted_at", "fixed_interval": "1d", "min_doc_count": 1},
                    "aggs": {"advertisers": {"cardinality": {"field": "entity_key"}}}}}}}
        response: Any = await self.es.options(ignore_status=404).search(
            index=self.index, query=query, aggs=aggs, size=0, ignore_unavailable=True, allow_no_indices=True)
        buckets = ((response.get("aggregations") or {}).get("city") or {}).get("buckets", [])
        return {b["key"]: [(d["doc_count"], max(1, d["advertisers"]["value"])) for d in b["day"]["buckets"]]
                for b in buckets}
