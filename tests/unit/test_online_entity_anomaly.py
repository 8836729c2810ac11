"""Entity behaviour: a contact touring many cities in a burst stands out; state stays bounded."""

from __future__ import annotations

import random
import tracemalloc
from typing import Any

from trailhound.detectors.online.entity_anomaly import EntityAnomaly, _features

START = 1_772_323_200.0  # 2026-03-01T00:00:00Z
CITIES = ["Denver", "Phoenix", "Dallas", "Houston", "Atlanta", "Chicago", "Seattle", "Miami"]


def _post(key: str, ts: float, city: str, text: str) -> dict[str, Any]:
    return {
        "post": {"id": f"{key}-{ts}", "body": text, "location": {"city": city}},
        "normalized": {"original": text, "text": text.lower(), "map": []},
        "entities": {},
        "entity_key": key,
        "posted_ts": ts,
    }


def _background(model: EntityAnomaly, rng: random.Random, days: int = 3) -> float:
    """Ordinary entities: a few posts a day each, each from its home city, one text each."""
    ts = START
    for _ in range(days * 400):
        ts += rng.expovariate(1 / 216)
        who = rng.randrange(300)
        post = _post(f"phone:+1312555{who:04d}", ts, CITIES[who % len(CITIES)], f"shop {who} open daily")
        model.score_one(post)
        model.learn_one(post)
    return ts


def test_a_touring_burst_scores_higher_than_a_steady_contact() -> None:
    model = EntityAnomaly()
    rng = random.Random(4)
    ts = _background(model, rng)
    burst, steady = "phone:+14155550199", "phone:+14155550188"
    last_burst = last_steady = None
    for i in range(30):  # 30 posts in 15 hours across 6 cities, a new persona text each time
        post = _post(burst, ts + i * 1800, CITIES[i % 6], f"new girl {i} ask for her")
        last_burst = model.score_one(post)
        model.learn_one(post)
    for day in range(5):  # one post a day, always the same city and text
        post = _post(steady, ts - 5 * 86_400 + day * 86_400, "Denver", "bakery fresh bread daily")
        last_steady = model.score_one(post)
        model.learn_one(post)
    assert last_burst is not None and last_steady is not None
    assert last_burst.score > last_steady.score
    assert last_burst.score >= 0.8
    assert "6 cities in 24 h" in last_burst.explanation
    assert last_burst.details["entity_key"] == burst


def test_scoring_does_not_change_state() -> None:
    model = EntityAnomaly()
    rng = random.Random(5)
    ts = _background(model, rng, days=1)
    post = _post("phone:+14155550177", ts, "Miami", "hello")
    known = len(model)
    first = model.score_one(post)
    assert model.score_one(post) == first
    assert len(model) == known


def test_entity_memory_is_bounded_by_count_and_age() -> None:
    model = EntityAnomaly(max_entities=50, ttl_s=3600)
    for i in range(200):
        model.learn_one(_post(f"phone:{i}", START + i, "Denver", "x"))
    assert len(model) == 50
    model.learn_one(_post("phone:late", START + 10 * 3600, "Denver", "x"))
    assert len(model) == 1



def test_a_contact_keeps_at_most_max_events_and_the_newest_count() -> None:
    model = EntityAnomaly(max_events=5)
    for i in range(20):  # one contact posting every minute: only the five newest posts are remembered
        model.learn_one(_post("phone:busy", START + 60 * i, CITIES[i % 8], f"text {i}"))
    window = model._entities["phone:busy"]
    assert len(window) == 5
    described = model.score_one(_post("phone:busy", START + 60 * 20, "Denver", "text 20")).details
    assert described["posts_24h"] == 6  # five remembered + this one
    assert described["cities_24h"] == 5  # the cities of posts 15-19 (Miami to Seattle) plus Denver
    assert described["gap_h"] == 1 / 60


def test_a_contact_seen_once_costs_a_few_hundred_bytes() -> None:
    model = EntityAnomaly(calibration_window=100)
    for i in range(300):  # the calibration window and the trees' first window fill up first
        model.learn_one(_post("phone:warm-up", START + i, "Denver", "x"))
    posts = [_post(f"email:contact{i}@soak.example.org", START + 300 + i, CITIES[i % 8], "x") for i in range(2000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for post in posts:
            model.learn_one(post)
        per_contact = (tracemalloc.get_traced_memory()[0] - before) / len(posts)
    finally:
        tracemalloc.stop()
    assert len(model) == 2001
    assert per_contact < 600  # about 460 here; a deque and a tuple per event made it 1,330

def test_a_replayed_post_is_not_counted_twice() -> None:
    model = EntityAnomaly()
    posts = [_post("phone:+15550100999", 1_790_000_000 + n * 3600, "Springfield", f"ad number {n}") for n in range(4)]
    for post in posts:
        model.learn_one(post)
    before = model.score_one(posts[-1]).details["posts_24h"]
    for post in posts:  # the same posts again, as after a restart
        model.learn_one(post)
    assert model.score_one(posts[-1]).details["posts_24h"] == before == 4


def test_the_same_text_cross_posted_as_other_posts_still_counts() -> None:
    model = EntityAnomaly()
    copies = [{**_post("phone:+15550100998", 1_790_000_000, "Springfield", "same text"),
               "post_key": f"board-{n}:ad-1"} for n in range(3)]
    for post in copies:
        model.learn_one(post)
    assert model.score_one({**copies[0], "post_key": "board-9:ad-1"}).details["posts_24h"] == 4



def _descriptions(rng: random.Random, n: int) -> list[dict[str, float]]:
    """Feature vectors across the whole range, with repeats (as most posts describe a new contact)."""
    out = []
    for _ in range(n):
        raw = {"posts_1h": float(rng.randint(1, 25)), "posts_24h": float(rng.randint(1, 120)),
               "cities_24h": float(rng.randint(0, 14)), "texts_24h": float(rng.randint(1, 60)),
               "gap_h": rng.choice([-1.0, rng.uniform(0, 30)])}
        out.append(_features(raw))
    return out + out[: n // 4]


def test_the_fast_scorer_gives_river_s_score_through_every_window_and_after_a_restore() -> None:
    model = EntityAnomaly(n_trees=10, window_size=50)
    rng = random.Random(6)
    probes = _descriptions(rng, 40)
    assert all(model._reference.score(x) == model.model.score_one(x) == 0 for x in probes)  # untrained
    ts = START
    windows = 0
    for step in range(260):  # five windows: the reference masses change five times
        ts += rng.expovariate(1 / 600)
        who = rng.randrange(40 if step % 3 else 300)
        model.learn_one(_post(f"phone:+1312555{who:04d}", ts, CITIES[rng.randrange(8)], f"text {rng.randrange(5)}"))
        if step % 10 == 0 or model.model.counter == 0:
            windows += model.model.counter == 0
            assert [model._reference.score(x) for x in probes] == [model.model.score_one(x) for x in probes]
    assert windows == 5
    restored = EntityAnomaly(n_trees=10, window_size=50)
    restored.restore(model.state())
    expected = [model.model.score_one(x) for x in probes]
    assert len(set(expected)) > 5  # trained: the scores tell the descriptions apart
    assert [restored._reference.score(x) for x in probes] == expected
