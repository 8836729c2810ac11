"""The stream's velocity detector judges a city against every post indexed there, not only linked ones."""

from __future__ import annotations

import asyncio
import datetime

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch, helpers

from trailhound.alerts.indices import posts_index_for
from trailhound.config import Settings
from trailhound.streams.city_baselines import StoredCityRates

pytestmark = pytest.mark.integration

DAY = 86_400
TODAY = 20_420  # a day number; the judged day


def _post(settings: Settings, city: str, day: int, advertiser: str, n: int) -> dict:
    posted_at = f"{_date(day)}T{10 + n % 10:02d}:00:00Z"
    return {"_index": posts_index_for(settings, posted_at), "_id": f"{city}-{day}-{advertiser}-{n}",
            "_source": {"post_key": f"{city}-{day}-{advertiser}-{n}", "posted_at": posted_at,
                        "location": {"city": city}, "entity_key": advertiser}}


def _date(day: int) -> str:
    return datetime.datetime.fromtimestamp(day * DAY, datetime.UTC).strftime("%Y-%m-%d")


def test_a_citys_usual_day_is_counted_from_the_posts_index(settings: Settings, es: Elasticsearch) -> None:
    docs = []
    for day in range(TODAY - 5, TODAY):  # Denver: 4 advertisers, 2 posts each, every day
        docs += [_post(settings, "Denver", day, f"phone:{a}", n) for a in range(4) for n in range(2)]
    docs += [_post(settings, "Denver", TODAY - 30, "phone:old", n) for n in range(50)]  # outside the window
    docs += [_post(settings, "Denver", TODAY, "phone:burst", n) for n in range(12)]  # the day being judged
    docs += [_post(settings, "Tulsa", day, "phone:t", 0) for day in (TODAY - 2, TODAY - 1)]  # two days only
    helpers.bulk(es, docs, refresh=True)

    async def judge() -> tuple[float | None, float | None, float | None, bool]:
        client = AsyncElasticsearch(settings.elasticsearch_url)
        try:
            rates = StoredCityRates(client, settings, window_days=14, min_days=3)
            before = TODAY * DAY
            assert rates.per_advertiser("Denver", before) is None, "not fetched yet"
            rates.per_advertiser("Tulsa", before)
            rates.per_advertiser("Nowhere", before)
            assert rates.missing
            await rates.fetch_missing()
            return (rates.per_advertiser("Denver", before), rates.per_advertiser("Tulsa", before),
                    rates.per_advertiser("Nowhere", before), rates.missing)
        finally:
            await client.close()

    denver, tulsa, nowhere, still_missing = asyncio.run(judge())
    assert denver == pytest.approx(2.0), "8 posts by 4 advertisers a day; the burst day and older posts left out"
    assert tulsa is None, "two days are too few to call anything usual"
    assert nowhere is None and not still_missing
