"""The stored key index links exactly as the in-memory one does, and its memory does not grow with the posts."""

from __future__ import annotations

import gc
import random
import tracemalloc
from collections.abc import Iterator

import pytest

from tests.linkage_posts import DAY, summary, unrelated_text
from trailhound.detectors.linkage.key_index import HubKey, KeyIndex, KeyIndexParams, Link
from trailhound.detectors.linkage.keys import PostSummary
from trailhound.detectors.linkage.stored_key_index import StoredKeyIndex

TEMPLATES = [unrelated_text(n) + " call now discreet friendly new in town ask for her any hour" for n in range(12)]


def feed(n: int, seed: int) -> Iterator[PostSummary]:
    """Posts sharing phones, hub numbers, template texts with small edits and near-identical images, over
    days that arrive slightly out of order, and some posts sent twice."""
    rnd = random.Random(seed)
    sent: list[PostSummary] = []
    for count in range(n):
        if sent and rnd.random() < 0.03:
            yield rnd.choice(sent[-50:])  # ingested twice
            continue
        day = count / 40 + rnd.uniform(-1.5, 1.5)
        text = rnd.choice(TEMPLATES) if rnd.random() < 0.6 else unrelated_text(rnd.randrange(10_000))
        if rnd.random() < 0.5:
            text = text.replace(rnd.choice(text.split()), rnd.choice(("kind", "sweet", "calm")))
        phone = rnd.choice(("+17025550100", "+17025550101")) if rnd.random() < 0.15 else f"+1555{rnd.randrange(300)}"
        phash = (0x0123456789ABCDEF ^ (1 << rnd.randrange(64))) if rnd.random() < 0.2 else None
        post = summary(text, day=day, phone=phone if rnd.random() < 0.8 else "", phash=phash)
        sent.append(post)
        yield post


def described(events: list[Link | HubKey]) -> list[tuple]:
    return [(e.a.to_json(), e.b.to_json(), e.key, e.reason, e.similarity) if isinstance(e, Link)
            else (e.key, e.distinct_texts, e.posts) for e in events]


PARAMS = [KeyIndexParams(retention_s=20 * DAY, hub_min_texts=6, max_posts_per_key=7, text_threshold=0.5),
          KeyIndexParams(retention_s=4 * DAY, max_posts_per_key=3, max_text_links=1),
          KeyIndexParams()]


@pytest.mark.parametrize("params", PARAMS)
def test_the_stored_index_links_exactly_as_the_in_memory_one(params: KeyIndexParams) -> None:
    memory, stored = KeyIndex(params), StoredKeyIndex(params, cached_posts=16)  # most summaries read back
    posts = list(feed(1_500, seed=int(params.retention_s) % 997))
    found = 0
    for start in range(0, len(posts), 20):
        batch = []
        for post in posts[start:start + 20]:
            keys = post.link_keys()
            split = len(keys) // 2  # a post may be filed in more than one call, as records of its partitions
            batch += [(post, keys[:split]), (post, keys[split:])]
        expected = memory.observe_batch(batch)
        assert described(stored.observe_batch(batch)) == described(expected)
        found += len(expected)
    assert found > 300
    assert stored.hubs() == memory.hubs() and len(stored) == len(memory)
    memory.sweep(), stored.sweep()
    assert len(stored) == len(memory)
    stored.close()


def test_links_and_hubs_of_the_feed_are_all_there() -> None:
    """The feed above exercises every kind of event, so the equality test compares something."""
    index = KeyIndex(PARAMS[0])
    events = [e for post in feed(1_500, seed=0) for e in index.observe_keys(post, post.link_keys())]
    reasons = {e.reason.split()[0] + (" " + e.reason.split()[1] if e.reason.startswith("same") else "")
               for e in events if isinstance(e, Link)}
    assert {"same phone", "same image", "text"} <= reasons
    assert any(isinstance(e, HubKey) for e in events)


def _traced_growth(index: KeyIndex, posts: list[PostSummary], at: int) -> float:
    """Bytes of Python objects the index gained per post between post ``at`` and the last."""
    tracemalloc.start()
    try:
        before = 0
        for start in range(0, len(posts), 100):  # a batch a record, as the stage files them
            if start == at:
                gc.collect()
                before = tracemalloc.get_traced_memory()[0]
            index.observe_batch([(post, post.link_keys()) for post in posts[start:start + 100]])
        gc.collect()
        return (tracemalloc.get_traced_memory()[0] - before) / (len(posts) - at)
    finally:
        tracemalloc.stop()


def test_memory_stays_bounded_as_posts_grow() -> None:
    """Within one retention window the in-memory index grows with every post; the stored one keeps its
    Python objects to a fixed cache (and its database to a fixed page cache) however many posts come."""
    params = KeyIndexParams()  # 30 days: every post of the feed stays in the window
    rnd = random.Random(3)
    posts = [summary(unrelated_text(rnd.randrange(1_000_000)), day=n / 1000, phone=f"+1555{n}",
                     phash=rnd.getrandbits(64)) for n in range(2_000)]
    stored = StoredKeyIndex(params, cache_kib=2048, cached_posts=200)
    assert stored._db.execute("PRAGMA cache_size").fetchone()[0] == -2048
    in_memory = _traced_growth(KeyIndex(params), posts, at=1_000)
    bounded = _traced_growth(stored, posts, at=1_000)
    assert in_memory > 1_000, "the reference grows by its posts' summaries and keys"
    assert bounded < 50, f"{bounded:.0f} B a post"
    stored.close()
