"""``trailhound connect feed`` against a feed served on loopback, into the real Kafka.

Each new entry arrives on ``posts.raw`` once: polling again, or polling from a new process after a
restart, sends nothing twice; an entry added to the feed is sent alone; a failing feed is retried with
growing pauses and the normal interval returns after a success.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.helpers import read_topic, run_cli
from trailhound.config import Settings
from trailhound.ingest.feeds import FeedPoller


class FeedServer:
    """Serves ``self.body`` at /feed.xml with an ETag; ``self.failing`` makes it answer 503."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []
        self.failing = False
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                server.requests.append(dict(self.headers))
                if server.failing:
                    self.send_error(503)
                    return
                etag = f'"{len(server.items)}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                body = server.rss().encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.xml"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, item_id: str, text: str) -> None:
        self.items.append({"id": item_id, "text": text})

    def rss(self) -> str:
        entries = "".join(f"<item><guid>{i['id']}</guid><title>Ad {i['id']}</title><description>{i['text']}"
                          f"</description><pubDate>Mon, 23 Nov 2026 08:30:00 GMT</pubDate></item>"
                          for i in self.items)
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.httpd.shutdown()


def sent_ids(settings: Settings) -> list[str]:
    return [json.loads(record.value)["id"] for record in read_topic(settings, "posts.raw")]


def test_each_entry_reaches_kafka_once_across_polls_and_restarts(settings: Settings, feed: FeedServer,
                                                                   tmp_path) -> None:
    from dataclasses import replace

    settings = replace(settings, cache_dir=tmp_path)
    feed.add("a1", "Kitchen help wanted, housing provided.")
    feed.add("a2", "Room for rent near the station.")
    poller = FeedPoller(settings, feed.url, every_s=60, source="board")
    try:
        first = poller.poll_once()
        assert (first.sent, first.already_seen) == (2, 0)
        assert poller.poll_once().unchanged  # the ETag came back: nothing fetched, nothing sent
        assert feed.requests[-1].get("If-None-Match") == '"2"'
    finally:
        poller.close()
    feed.add("a3", "Night shift, cash daily.")
    restarted = FeedPoller(settings, feed.url, every_s=60, source="board")  # a new process: state from disk
    try:
        again = restarted.poll_once()
        assert (again.sent, again.already_seen) == (1, 2)
    finally:
        restarted.close()
    assert sorted(sent_ids(settings)) == ["a1", "a2", "a3"]
    [record] = [r for r in read_topic(settings, "posts.raw") if json.loads(r.value)["id"] == "a3"]
    post = json.loads(record.value)
    assert post["source"] == "board" and post["body"] == "Night shift, cash daily." and post["title"] == "Ad a3"


def test_a_failing_feed_is_retried_with_growing_pauses(settings: Settings, feed: FeedServer, tmp_path) -> None:
    from dataclasses import replace

    settings = replace(settings, cache_dir=tmp_path)
    feed.add("b1", "Cleaners wanted.")
    feed.failing = True
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 3:
            feed.failing = False  # the site comes back

    poller = FeedPoller(settings, feed.url, every_s=10, source="board", sleep=sleep)
    reports: list[str] = []
    try:
        poller.run(polls=5, report=reports.append)
    finally:
        poller.close()
    assert pauses == [20, 40, 80, 10]
    assert "503" in reports[0] and "1 new posts" in reports[3]
    assert sent_ids(settings) == ["b1"]


def test_the_command_polls_once_and_says_what_it_sent(settings: Settings, feed: FeedServer) -> None:
    feed.add("c1", "Drivers wanted, no papers needed.")
    result = run_cli(settings, "connect", "feed", feed.url, "--every", "5m", "--once", "--source", "cli-board")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 new posts" in result.stdout
    assert sent_ids(settings) == ["c1"]
    bad = run_cli(settings, "connect", "feed", feed.url, "--every", "soon")
    assert bad.returncode == 2 and "duration" in bad.stdout
