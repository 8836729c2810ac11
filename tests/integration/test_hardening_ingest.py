"""Findings 3 and 6 on real Kafka: hostile input over HTTP and from files is refused line by line,
never crashes ingest, never drops the good lines after it, and costs bounded work; plus the
Hypothesis fuzz of both ingest paths (every line ends up accepted or dead-lettered, none lost)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.helpers import BENIGN_BODY, jsonl, post, read_topic, run_cli
from trailhound.config import Settings
from trailhound.ingest.files import ingest_stream
from trailhound.ingest.http import build_ingest_app
from trailhound.ingest.producer import PostIngestor
from trailhound.signing import ingest_token

HOSTILE_LINES = [
    b'{"id": "s", "source": "test-board", "posted_at": "2026-11-20T10:00:00Z", "body": "hi \\ud800"}',
    b'{"id": "d", "source": "test-board", "posted_at": "2026-11-20T10:00:00Z", "body": "hi", "x": '
    + b"[" * 1000 + b"]" * 1000 + b"}",
    b'{"id": "n", "source": "test-board", "posted_at": "2026-11-20T10:00:00Z", "body": "hi", "x": '
    + b"9" * 4301 + b"}",
]


def _good(n: int, prefix: str) -> bytes:
    return jsonl(*(post(f"{prefix}-{i}", BENIGN_BODY) for i in range(n)))


class _Http:
    """The real ingest app on a loopback port, driven from synchronous tests."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = TestClient(TestServer(build_ingest_app(settings)), loop=self.loop)
        self.loop.run_until_complete(self.client.start_server())
        self.auth = {"Authorization": f"Bearer {ingest_token(settings)}"}

    def post(self, body: bytes, content_type: str = "application/json", **headers: str) -> tuple[int, Any]:
        async def send() -> tuple[int, Any]:
            response = await self.client.post("/posts", data=body,
                                              headers={"Content-Type": content_type, **self.auth, **headers})
            return response.status, await response.json()
        return self.loop.run_until_complete(send())

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


@pytest.fixture
def http(settings: Settings) -> Iterator[_Http]:
    client = _Http(replace(settings, max_request_posts=50))
    yield client
    client.close()


def test_hostile_json_lines_are_reported_per_line_and_later_lines_still_count(settings, http):
    body = _good(2, "before") + b"\n".join(HOSTILE_LINES) + b"\n" + _good(3, "after")
    status, result = http.post(body, "application/x-ndjson")
    assert status == 202
    assert (result["accepted"], result["rejected"]) == (5, 3)
    reasons = {e["line"]: e["reason"] for e in result["errors"]}
    assert set(reasons) == {3, 4, 5}
    assert "lone surrogate" in reasons[3] and "nested" in reasons[4] and "digits" in reasons[5]
    assert len(read_topic(settings, "posts.raw")) == 5 and len(read_topic(settings, "posts.dlq")) == 3


def test_the_same_lines_in_a_file_are_dead_lettered_and_the_run_carries_on(settings, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(_good(1, "f-before") + b"\n".join(HOSTILE_LINES) + b"\n" + _good(2, "f-after"))
    result = run_cli(settings, "ingest", str(feed))
    assert result.returncode == 0, result.stderr
    assert "accepted 3, rejected 3" in result.stdout
    assert len(read_topic(settings, "posts.raw")) == 3 and len(read_topic(settings, "posts.dlq")) == 3


def test_no_token_no_entry_and_oversize_requests_are_refused_before_reading(settings, http):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong-token"}):
        status, result = http.post(_good(1, "nope"), **headers)
        assert status == 401 and "token" in result["error"]
    status, result = http.post(b"[" + b"0," * (20 * 1024 * 1024) + b"0]")  # 40 MiB, over the 32 MiB limit
    assert status == 413 and "over" in result["error"]
    assert read_topic(settings, "posts.raw") == [] and read_topic(settings, "posts.dlq") == []


def test_an_array_of_zeros_costs_at_most_the_post_limit_in_dead_letters(settings, http):
    status, result = http.post(b"[" + b"0," * 200_000 + b"0]")  # the reported 4 MiB amplification, in small
    assert status == 413 and "more than 50 posts" in result["error"]
    assert result["rejected"] == 50 and len(result["errors"]) == 50
    assert len(read_topic(settings, "posts.dlq")) == 50


def test_an_unreadable_array_item_is_dead_lettered_after_the_items_before_it(settings, http):
    good = json.dumps(post("arr-1", BENIGN_BODY)).encode()
    status, result = http.post(b"[" + good + b", {oops}, " + good + b"]")
    assert status == 422 and result["accepted"] == 1
    assert result["errors"][0]["line"] == 2 and "cannot be read" in result["errors"][0]["reason"]
    assert len(read_topic(settings, "posts.raw")) == 1 and len(read_topic(settings, "posts.dlq")) == 1


# -- fuzz: both ingest paths ---------------------------------------------------------------------------

_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
_POSTS = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=8), "source": st.just("fuzz"), "posted_at": st.just("2026-11-20T10:00:00Z"),
     "body": st.text(min_size=1, max_size=40)},
    optional={"title": st.text(max_size=20), "contact": st.dictionaries(st.sampled_from(["phones", "emails"]),
                                                                        st.lists(st.text(max_size=12), max_size=3)),
              "extra": _VALUES},
)
_LINES = st.lists(
    st.one_of(_POSTS.map(lambda p: json.dumps(p).encode()),
              _POSTS.map(lambda p: json.dumps(p).encode().replace(b"}", b', "x": "\\ud8' + b'00"}', 1)),
              st.binary(max_size=60).filter(lambda b: b"\n" not in b),
              st.sampled_from(HOSTILE_LINES)),
    min_size=1, max_size=12,
)


def _non_blank(lines: list[bytes]) -> int:
    return sum(1 for line in lines if line.strip())


def test_fuzz_file_ingest_accounts_for_every_line(settings):
    ingestor = PostIngestor(settings)
    totals = {"lines": 0}

    @hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_LINES)
    def check(lines: list[bytes]) -> None:
        counts = ingest_stream(ingestor, io.BytesIO(b"\n".join(lines) + b"\n"), "fuzz.jsonl", progress=False)
        assert counts.accepted + counts.rejected == _non_blank(lines)
        totals["lines"] += _non_blank(lines)

    try:
        check()
    finally:
        ingestor.close()
    assert len(read_topic(settings, "posts.raw")) + len(read_topic(settings, "posts.dlq")) == totals["lines"]


def test_fuzz_http_ingest_accounts_for_every_line(settings, http):
    totals = {"lines": 0}

    @hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_LINES, st.booleans())
    def check(lines: list[bytes], as_array: bool) -> None:
        if as_array:
            body, content_type = b"[" + b",".join(lines) + b"]", "application/json"
        else:
            body, content_type = b"\n".join(lines), "application/x-ndjson"
        status, result = http.post(body, content_type)
        assert status in (202, 400, 413, 422), result
        taken = result.get("accepted", 0) + result.get("rejected", 0)
        if not as_array:
            assert taken == _non_blank(lines)
        assert len(result.get("errors", [])) == result.get("rejected", 0)
        totals["lines"] += taken

    check()
    assert len(read_topic(settings, "posts.raw")) + len(read_topic(settings, "posts.dlq")) == totals["lines"]
