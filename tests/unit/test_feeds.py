"""Feed entries become posts: RSS, Atom and JSON feeds, dates in UTC, markup removed; intervals and back-off."""

from __future__ import annotations

import json

import pytest

from trailhound.ingest.feeds import FeedError, backoff_s, entries_to_posts, parse_duration
from trailhound.schemas import parse_post

NOW = 1_764_500_000.0

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Board</title><language>es-MX</language>
<item><guid>a-2</guid><title>Second &amp; later</title><link>https://board.example/a-2</link>
  <description>&lt;p&gt;Trabajo &lt;b&gt;nuevo&lt;/b&gt;&lt;/p&gt;&lt;p&gt;llame hoy&lt;/p&gt;</description>
  <pubDate>Tue, 24 Nov 2026 10:00:00 +0100</pubDate></item>
<item><guid>a-1</guid><title>First</title><description>plain text</description>
  <pubDate>Mon, 23 Nov 2026 08:30:00 GMT</pubDate></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Jobs</title>
<entry><id>urn:job:7</id><title>Farm work</title><link href="https://jobs.example/7"/>
  <updated>2026-11-20T12:00:00Z</updated><content type="html">&lt;div&gt;Housing provided&lt;/div&gt;</content></entry>
</feed>"""


def test_rss_entries_become_valid_posts_in_time_order_with_utc_dates_and_text_without_markup() -> None:
    posts = entries_to_posts(RSS, "application/rss+xml", "board.example", NOW)
    assert [p["id"] for p in posts] == ["a-1", "a-2"]
    second = posts[1]
    assert second["posted_at"] == "2026-11-24T09:00:00.000Z"
    assert second["title"] == "Second & later"
    assert second["body"] == "Trabajo nuevo\nllame hoy"
    assert second["url"] == "https://board.example/a-2" and second["lang"] == "es"
    for post in posts:
        parse_post(json.dumps(post).encode(), 256 * 1024)  # what ingest will check


def test_atom_entries_are_read_too() -> None:
    [post] = entries_to_posts(ATOM, "application/atom+xml", "jobs.example", NOW)
    assert post == {"id": "urn:job:7", "source": "jobs.example", "posted_at": "2026-11-20T12:00:00.000Z",
                    "title": "Farm work", "body": "Housing provided", "url": "https://jobs.example/7"}


def test_json_feeds_and_lists_of_posts_are_read() -> None:
    feed = {"version": "https://jsonfeed.org/version/1.1", "language": "fr", "items": [
        {"id": "j1", "content_html": "<p>Bonjour</p>", "date_published": "2026-11-21T10:00:00+02:00"},
        {"id": "j2", "content_text": "Salut", "url": "https://x.example/j2"}]}
    posts = entries_to_posts(json.dumps(feed).encode(), "application/feed+json", "x.example", NOW)
    assert {p["id"]: p["posted_at"] for p in posts} == {"j1": "2026-11-21T08:00:00.000Z",
                                                        "j2": "2025-11-30T10:53:20.000Z"}  # undated: when read
    assert {p["lang"] for p in posts} == {"fr"}
    ready = [{"id": "p1", "source": "partner", "posted_at": "2026-11-01T00:00:00Z", "body": "text"}]
    assert entries_to_posts(json.dumps(ready).encode(), "application/json", "host", NOW) == ready


def test_a_document_that_is_no_feed_is_an_error() -> None:
    with pytest.raises(FeedError):
        entries_to_posts(b"<html><body>Not found</body></html>", "text/html", "x", NOW)
    with pytest.raises(FeedError):
        entries_to_posts(b'{"items": 3}', "application/json", "x", NOW)
    with pytest.raises(FeedError):
        entries_to_posts(b"{broken", "application/json", "x", NOW)


def test_intervals_are_read_with_their_units() -> None:
    assert parse_duration("60s") == 60 and parse_duration("5m") == 300 and parse_duration("1h") == 3600
    assert parse_duration("250ms") == 0.25 and parse_duration("90") == 90
    for bad in ("", "soon", "-5s", "0s", "5d"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_backoff_doubles_after_each_failure_up_to_an_hour_and_resets() -> None:
    assert [backoff_s(60, n) for n in range(7)] == [60, 120, 240, 480, 960, 1920, 3600]
    assert backoff_s(60, 50) == 3600
    assert backoff_s(7200, 1) == 7200  # never shorter than the normal interval
