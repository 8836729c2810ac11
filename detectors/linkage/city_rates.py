"""How much one advertiser usually posts in a city per day: the city's baseline for the velocity detector.

A burst means little without a yardstick. A cluster's own history is one (see
:func:`trailhound.detectors.linkage.networks.assess_cluster`); the city is the other: twelve ads in one
day from one network stand out in a city where an advertiser posts about once a day, even when the
network always posts that much. The baseline is per advertiser (posts per contact and day), so a big
city's volume does not hide a burst, and it is counted over whole past days within the window (the
current day is the burst being judged, not its yardstick).

Memory is one small counter per city and day within the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["CityBaseline", "CityRates", "usual_per_advertiser"]

DAY_S = 86_400.0


def usual_per_advertiser(days: list[tuple[int, int]], min_days: int) -> float | None:
    """Posts per advertiser and day over ``days``, each ``(posts, distinct advertisers)``; None when fewer
    than ``min_days`` days had posts: too little to call anything usual."""
    if len(days) < min_days:
        return None
    return sum(posts for posts, _ in days) / sum(advertisers for _, advertisers in days)


class CityBaseline(Protocol):
    """What the velocity detector asks of a city baseline: counted here from the posts seen, or read from
    the posts index on the stream (:mod:`trailhound.streams.city_baselines`)."""

    def per_advertiser(self, city: str, before_ts: float) -> float | None: ...


@dataclass
class _Day:
    posts: int = 0
    contacts: set[str] = field(default_factory=set)


class CityRates:
    """Posts per advertiser and day in each city, over the whole days of a sliding window."""

    def __init__(self, window_days: int = 14, min_days: int = 3) -> None:
        self.window_days = window_days
        self.min_days = min_days
        self._days: dict[str, dict[int, _Day]] = {}
        self._seen: dict[int, set[tuple[str, str]]] = {}  # day → (city, post key) counted, dropped by whole days
        self._newest = 0

    def observe(self, city: str, contact: str, ts: float, post_key: str) -> None:
        """Count one post (once, however often it is observed)."""
        if not city:
            return
        day = int(ts // DAY_S)
        seen = self._seen.setdefault(day, set())
        if (city, post_key) in seen:
            return
        seen.add((city, post_key))
        record = self._days.setdefault(city, {}).setdefault(day, _Day())
        record.posts += 1
        record.contacts.add(contact or post_key)
        if day > self._newest:
            self._newest = day
            self._forget(day - self.window_days - 1)

    def per_advertiser(self, city: str, before_ts: float) -> float | None:
        """Usual posts per advertiser and day in ``city`` on the whole days before ``before_ts``.

        None when fewer than ``min_days`` days were seen there: too little to call anything usual.
        """
        today = int(before_ts // DAY_S)
        days = [(d.posts, len(d.contacts)) for n, d in self._days.get(city, {}).items()
                if today - self.window_days <= n < today]
        return usual_per_advertiser(days, self.min_days)

    def _forget(self, before_day: int) -> None:
        for city, days in list(self._days.items()):
            for n in [n for n in days if n < before_day]:
                del days[n]
            if not days:
                del self._days[city]
        for n in [n for n in self._seen if n < before_day]:
            del self._seen[n]
