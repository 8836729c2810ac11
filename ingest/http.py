"""``POST /posts``: the HTTP door for scrapers and partner feeds, judged by the same rules as file ingest.

A body is one JSON object, a JSON array of objects, or JSON lines (``application/x-ndjson``). The answer
says per line what was accepted and why anything was rejected; rejected lines also go to ``posts.dlq``.
The reply is sent only after Kafka confirmed the records, so "accepted" means durably stored. aiohttp
serves it because the Faust worker already depends on it.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from trailhound.config import Settings
from trailhound.ingest.producer import IngestCounts, IngestError, PostIngestor

__all__ = ["build_ingest_app", "run_ingest_server"]

MAX_REQUEST_BYTES = 32 * 1024 * 1024


def _lines_of(body: bytes, content_type: str) -> list[bytes]:
    if "ndjson" in content_type or "jsonl" in content_type or "json-seq" in content_type:
        return [line for line in body.split(b"\n") if line.strip()]
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        try:
            items = json.loads(stripped)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return [body]
        return [json.dumps(item, ensure_ascii=False).encode("utf-8") for item in items]
    return [body]


def build_ingest_app(settings: Settings, ingestor: PostIngestor | None = None) -> web.Application:
    """The aiohttp application; one ingest thread keeps the producer's batches in order."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
    state: dict[str, PostIngestor] = {}

    def get_ingestor() -> PostIngestor:
        if "ingestor" not in state:
            state["ingestor"] = ingestor or PostIngestor(settings)
        return state["ingestor"]

    def ingest_lines(lines: list[bytes], peer: str) -> dict[str, Any]:
        counts = IngestCounts()
        producer = get_ingestor()
        errors = []
        for number, line in enumerate(lines, start=1):
            reason = producer.submit(line, f"http:{peer}:{number}", counts)
            if reason is not None:
                errors.append({"line": number, "reason": reason})
        producer.flush()
        return {"accepted": counts.accepted, "rejected": counts.rejected, "errors": errors}

    async def post_posts(request: web.Request) -> web.Response:
        body = await request.read()
        if not body.strip():
            return web.json_response({"error": "empty request body"}, status=400)
        lines = _lines_of(body, request.content_type or "")
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                executor, ingest_lines, lines, request.remote or "unknown")
        except IngestError as exc:
            return web.json_response({"error": str(exc)}, status=503)
        status = 202 if result["accepted"] else 422
        return web.json_response(result, status=status)

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
