"""``POST /posts``: the HTTP door for scrapers and partner feeds, judged by the same rules as file ingest.

A body is one JSON object, a JSON array of objects, or JSON lines (``application/x-ndjson``). The answer
says per line (or array item) what was accepted and why anything was rejected; rejected lines also go
to ``posts.dlq``. The reply is sent only after Kafka confirmed the records, so "accepted" means durably
stored. aiohttp serves it because the Faust worker already depends on it.

The door is built for hostile callers too:

* a bearer token (``TRAILHOUND_INGEST_TOKEN``) is required before anything is read;
* a declared ``Content-Length`` over ``TRAILHOUND_MAX_REQUEST_BYTES`` is refused before reading, and a
  chunked body is cut off at the same size;
* the body is read as a stream and handed on in batches (:class:`~ingest.body_items.BodyItems`
  splits lines and array items as they arrive), so memory stays bounded whatever the size;
* at most ``TRAILHOUND_MAX_REQUEST_POSTS`` lines or items are taken per request: the rest is not
  read, and the answer says so (``413``) after reporting every line it did take;
* every bad line or item is dead-lettered with its reason, also one that cannot be read at all (the
  answer then says the rest of the body was not read).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from trailhound.config import Settings
from trailhound.ingest.body_items import BodyItems, BodyItemsError, Item
from trailhound.ingest.producer import IngestCounts, IngestError, PostIngestor
from trailhound.signing import bearer_ok, ingest_token

__all__ = ["build_ingest_app", "run_ingest_server"]

CHUNK_BYTES = 64 * 1024
BATCH_ITEMS = 500


class _RequestIngest:
    """One request's items, handed to the ingest thread in batches, with the per-line report."""

    def __init__(self, get_ingestor: Callable[[], PostIngestor], executor: ThreadPoolExecutor, peer: str,
                 max_posts: int, max_post_bytes: int) -> None:
        self.max_post_bytes = max_post_bytes
        self.get_ingestor = get_ingestor
        self.executor = executor
        self.peer = peer
        self.max_posts = max_posts
        self.counts = IngestCounts()
        self.errors: list[dict[str, Any]] = []
        self._batch: list[Item] = []

    async def take(self, items: list[Item]) -> bool:
        """Queue items, sending full batches; False (and nothing more taken) once past the post limit."""
        for item in items:
            if item.number > self.max_posts:
                return False
            self._batch.append(item)
            if len(self._batch) >= BATCH_ITEMS:
                await self.send()
        return True

    async def send(self, flush: bool = False) -> None:
        batch, self._batch = self._batch, []
        await asyncio.get_running_loop().run_in_executor(self.executor, self._ingest, batch, flush)

    def _ingest(self, items: list[Item], flush: bool) -> None:
        producer = self.get_ingestor()
        for item in items:
            origin = f"http:{self.peer}:{item.number}"
            if item.unreadable:
                reason = producer.reject(item.raw, item.unreadable, origin, self.counts)
            elif item.oversize:
                reason = producer.reject(item.raw, f"post is {item.size} bytes, over the {self.max_post_bytes}-byte "
                                         "limit", origin, self.counts)
            else:
                reason = producer.submit(item.raw, origin, self.counts)
            if reason is not None:
                self.errors.append({"line": item.number, "reason": reason})
        if flush:
            producer.flush()

    def report(self, problem: tuple[int, str] | None) -> web.Response:
        counts = self.counts
        if not counts.accepted and not counts.rejected and problem is None:
            return web.json_response({"error": "empty request body"}, status=400)
        result: dict[str, Any] = {"accepted": counts.accepted, "rejected": counts.rejected, "errors": self.errors}
        if problem is not None:
            result["error"] = problem[1]
            return web.json_response(result, status=problem[0])
        return web.json_response(result, status=202 if counts.accepted else 422)


def build_ingest_app(settings: Settings, ingestor: PostIngestor | None = None) -> web.Application:
    """The aiohttp application; one ingest thread keeps the producer's batches in order."""
    app = web.Application()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
    state: dict[str, PostIngestor] = {}
    token = ingest_token(settings)
    limit = settings.max_request_bytes

    def get_ingestor() -> PostIngestor:
        if "ingestor" not in state:
            state["ingestor"] = ingestor or PostIngestor(settings)
        return state["ingestor"]

    async def post_posts(request: web.Request) -> web.Response:
        if not bearer_ok(token, request.headers.get("Authorization")):
            return web.json_response({"error": "missing or wrong bearer token (TRAILHOUND_INGEST_TOKEN)"},
                                     status=401, headers={"WWW-Authenticate": "Bearer"})
        if (request.content_length or 0) > limit:
            return web.json_response({"error": f"request body over {limit} bytes"}, status=413)
        ingest = _RequestIngest(get_ingestor, executor, request.remote or "unknown", settings.max_request_posts,
                                settings.max_post_bytes)
        items = BodyItems(request.content_type or "", settings.max_post_bytes)
        too_many = (413, f"more than {settings.max_request_posts} posts in one request; the first "
                         f"{settings.max_request_posts} were taken, send the rest in another request")
        problem: tuple[int, str] | None = None
        received = 0
        try:
            try:
                async for chunk in request.content.iter_chunked(CHUNK_BYTES):
                    received += len(chunk)
                    if received > limit:
                        problem = (413, f"request body over {limit} bytes; the rest was not read")
                        break
                    if not await ingest.take(items.feed(chunk)):
                        problem = too_many
                        break
                else:
                    if not await ingest.take(items.end()):
                        problem = too_many
            except BodyItemsError as exc:
                unreadable = Item(exc.number, exc.raw, len(exc.raw), unreadable=exc.reason)
                problem = (422, f"item {exc.number} cannot be read, so the rest of the body was not read")
                if not await ingest.take([*exc.items, unreadable]):
                    problem = too_many
            await ingest.send(flush=True)
        except IngestError as exc:
            return web.json_response({"error": str(exc)}, status=503)
        return ingest.report(problem)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def close(_: web.Application) -> None:
        if "ingestor" in state:
            await asyncio.get_running_loop().run_in_executor(executor, state["ingestor"].close)
        executor.shutdown(wait=False)

    app.router.add_post("/posts", post_posts)
    app.router.add_get("/healthz", healthz)
    app.on_cleanup.append(close)
    return app


def run_ingest_server(settings: Settings) -> None:
    """Serve until interrupted, on ``TRAILHOUND_BIND`` (loopback unless told otherwise)."""
    web.run_app(build_ingest_app(settings), host=settings.bind_host, port=settings.ingest_http_port)
