"""Poll RSS/Atom and JSON feeds into ``posts.raw``: ``trailhound connect feed URL --every 60s``.

A real deployment reads the boards and partner feeds it watches on a schedule. Each poll fetches the
feed (conditionally: ETag and Last-Modified are sent back, so an unchanged feed costs one short reply),
turns every entry it has not seen into a post and sends it through the same :class:`PostIngestor` as
file and HTTP ingest, so a feed entry is validated like anything else (invalid ones go to ``posts.dlq``
with the reason). The ids already sent are remembered in a small state file, written only once Kafka
has confirmed the posts, so a restart sends nothing twice and a crash loses nothing. A failing feed
(unreachable, 5xx, malformed) is retried with exponentially growing pauses, up to an hour, and the
normal schedule resumes after the first success.

feedparser reads RSS 0.9x/1.0/2.0 and Atom, with the date formats and broken markup real feeds have;
JSON feeds (jsonfeed.org, or a plain JSON array of items or of Trailhound posts) are read directly.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx

from trailhound.config import Settings
from trailhound.ingest.producer import IngestCounts, IngestError, PostIngestor
from trailhound.timefmt import iso, parse_rfc3339

__all__ = ["FeedError", "FeedPoller", "PollResult", "backoff_s", "entries_to_posts", "parse_duration"]

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 3600.0
REMEMBER = 50_000  # ids kept per feed: far more than any feed lists at once
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


class FeedError(RuntimeError):
    """The feed could not be fetched or read; the poller backs off and tries again."""


def parse_duration(text: str) -> float:
    """Seconds in ``"60s"``, ``"5m"``, ``"1h"``, ``"250ms"`` or a bare number of seconds."""
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 60s, 5m or 1h")
    value = float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
    if value <= 0:
        raise ValueError("the interval must be positive")
    return value


def backoff_s(every_s: float, failures: int) -> float:
    """The pause after ``failures`` consecutive failures: the interval doubled each time, at most an hour."""
    if failures <= 0:
        return every_s
    return min(every_s * 2 ** failures, max(MAX_BACKOFF_S, every_s))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append("\n")


def _plain(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", "".join(parser.parts))).strip()


def _when(value: Any, fallback: float) -> str:
    if isinstance(value, time.struct_time):
        return iso(calendar.timegm(value))
    if isinstance(value, str) and value:
        try:
            return iso(parse_rfc3339(value))
        except ValueError:
            pass
    return iso(fallback)


def _rss_posts(parsed: Any, source: str, now: float) -> Iterable[dict[str, Any]]:
    language = (parsed.feed.get("language") or "").split("-")[0] or None
    for entry in parsed.entries:
        content = entry.get("content") or []
        html = content[0].get("value", "") if content else entry.get("summary", "")
        post = {"id": entry.get("id") or entry.get("link") or entry.get("title", ""), "source": source,
                "posted_at": _when(entry.get("published_parsed") or entry.get("updated_parsed"), now),
                "title": _plain(entry.get("title", "")), "body": _plain(html), "url": entry.get("link"),
                "lang": language}
        yield {k: v for k, v in post.items() if v}


def _json_posts(data: Any, source: str, now: float) -> Iterable[dict[str, Any]]:
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise FeedError("a JSON feed needs an 'items' list (jsonfeed.org) or to be a list of items")
    language = data.get("language") if isinstance(data, dict) else None
    for item in items:
        if not isinstance(item, dict):
            continue
        if "body" in item and "posted_at" in item:  # already a Trailhound post
            yield {"source": source, **item}
            continue
        body = item.get("content_text") or _plain(item.get("content_html") or item.get("summary") or "")
        post = {"id": str(item.get("id") or item.get("url") or ""), "source": source,
                "posted_at": _when(item.get("date_published") or item.get("date_modified"), now),
                "title": item.get("title"), "body": body, "url": item.get("url"),
                "lang": item.get("language") or language}
        yield {k: v for k, v in post.items() if v}


def entries_to_posts(content: bytes, content_type: str, source: str, now: float) -> list[dict[str, Any]]:
    """The posts in a fetched feed document, oldest first where the feed says when."""
    stripped = content.lstrip()
    if "json" in content_type or stripped[:1] in (b"{", b"["):
        try:
            data = json.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FeedError(f"the JSON feed is not valid JSON: {exc}") from None
        posts = list(_json_posts(data, source, now))
    else:
        parsed = feedparser.parse(content)
        if not parsed.entries and not parsed.get("version"):
            raise FeedError(f"not an RSS or Atom feed ({parsed.get('bozo_exception') or 'no feed elements'})")
        posts = list(_rss_posts(parsed, source, now))
    return sorted(posts, key=lambda p: str(p.get("posted_at", "")))


@dataclass
class PollResult:
    """What one poll did."""

    sent: int = 0
    rejected: int = 0
    already_seen: int = 0
    unchanged: bool = False


@dataclass
class FeedState:
    """What is remembered about one feed between polls and restarts."""

    seen: list[str] = field(default_factory=list)
    etag: str | None = None
    modified: str | None = None

    @classmethod
    def load(cls, path: Path) -> FeedState:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(list(data.get("seen", [])), data.get("etag"), data.get("modified"))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".feed-state.")
        with os.fdopen(fd, "w") as handle:
            json.dump({"seen": self.seen[-REMEMBER:], "etag": self.etag, "modified": self.modified}, handle)
        os.replace(scratch, path)  # atomic: a crash leaves the old state or the new one


class FeedPoller:
    """Polls one feed on a schedule and sends its new entries as posts."""

    def __init__(self, settings: Settings, url: str, every_s: float, source: str | None = None,
                 ingestor: PostIngestor | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.url = url
        self.every_s = every_s
        self.source = source or urlsplit(url).hostname or "feed"
        self.state_path = settings.cache_dir / "feeds" / (hashlib.sha256(url.encode()).hexdigest()[:24] + ".json")
        self.state = FeedState.load(self.state_path)
        self._seen = set(self.state.seen)
        self.ingestor = ingestor or PostIngestor(settings)
        self.sleep = sleep
        self.clock = clock
        self.failures = 0

    def poll_once(self) -> PollResult:
        """Fetch the feed and send what is new; raises :class:`FeedError` when the feed fails."""
        headers = {"User-Agent": "trailhound-feed/1 (+https://trailhound.example.org)"}
        if self.state.etag:
            headers["If-None-Match"] = self.state.etag
        if self.state.modified:
            headers["If-Modified-Since"] = self.state.modified
        try:
            response = httpx.get(self.url, headers=headers, timeout=30, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise FeedError(f"cannot fetch {self.url}: {exc}") from None
        if response.status_code == 304:
            return PollResult(unchanged=True)
        if response.status_code != 200:
            raise FeedError(f"{self.url} answered {response.status_code}")
        posts = entries_to_posts(response.content, response.headers.get("content-type", ""), self.source,
                                 self.clock())
        result, counts, new_ids = PollResult(), IngestCounts(), []
        for post in posts:
            entry_id = f"{post.get('source')}:{post.get('id')}"
            if entry_id in self._seen or entry_id in new_ids:
                result.already_seen += 1
                continue
            raw = json.dumps(post, ensure_ascii=False).encode("utf-8")
            if self.ingestor.submit(raw, f"feed:{self.url}#{post.get('id')}", counts) is not None:
                result.rejected += 1
            new_ids.append(entry_id)
        self.ingestor.flush()  # only once Kafka has them are they remembered as sent
        result.sent = counts.accepted
        self.state.seen.extend(new_ids)
        self._seen.update(new_ids)
        self.state.etag = response.headers.get("etag")
        self.state.modified = response.headers.get("last-modified")
        self.state.save(self.state_path)
        return result

    def run(self, polls: int | None = None, report: Callable[[str], None] = log.info) -> None:
        """Poll until interrupted (or ``polls`` times), pausing longer after each failure in a row."""
        done = 0
        while polls is None or done < polls:
            try:
                result = self.poll_once()
                self.failures = 0
                report(f"{self.url}: " + ("unchanged" if result.unchanged else
                                          f"{result.sent} new posts, {result.rejected} rejected, "
                                          f"{result.already_seen} seen before"))
            except (FeedError, IngestError) as exc:  # Kafka away: nothing was remembered, all is resent
                self.failures += 1
                report(f"{exc}; trying again in {backoff_s(self.every_s, self.failures):.0f} s")
            done += 1
            if polls is None or done < polls:
                self.sleep(backoff_s(self.every_s, self.failures))

    def close(self) -> None:
        self.ingestor.close()
