"""A bulk Elasticsearch sink that never drops a document because Elasticsearch was briefly away.

The stream worker calls :meth:`ElasticsearchSink.add` per document and :meth:`flush` once per batch;
Kafka offsets move on only after ``flush`` returned, so a crash replays the batch and deterministic
document ids make the replay harmless. Failed requests (connection refused, timeouts, 429, 5xx, even
wrong credentials) are retried with exponential back-off (:func:`trailhound.retrying.wait_out`) for as
long as it takes, which stalls the stream instead of losing data; documents Elasticsearch rejects for
good (a mapping conflict) come back to the caller so it can dead-letter them with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from trailhound.retrying import wait_out

__all__ = ["BulkResult", "ElasticsearchSink", "TransientBulkError", "is_transient"]

TRANSIENT_STATUSES = {429, 500, 502, 503, 504}
MAX_BULK_BYTES = 10 * 1024 * 1024  # well under Elasticsearch's 100 MB request limit


class TransientBulkError(RuntimeError):
    """Some documents hit a temporary failure and must be sent again."""


def is_transient(exc: BaseException) -> bool:
    """Whether an Elasticsearch failure may go away by itself (outage, overload), so waiting is right."""
    if isinstance(exc, ApiError):
        return exc.meta.status in TRANSIENT_STATUSES
    return isinstance(exc, TransportError | TransientBulkError)


@dataclass
class BulkResult:
    """What one flush did: ids newly written, ids updated in place (upsert), ids that already existed
    (create), and lasting failures."""

    written: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    failed: list[tuple[dict[str, Any], str]] = field(default_factory=list)


@dataclass
class _Pending:
    action: dict[str, Any]
    source: dict[str, Any]
    size: int
    document: dict[str, Any] | None = None  # what a failure reports, when ``source`` is an update body


def _worth_waiting(exc: BaseException) -> bool:
    return not (isinstance(exc, ApiError) and exc.meta.status == 400)


def _chunks(pending: list[_Pending], max_bytes: int) -> Iterator[list[_Pending]]:
    chunk: list[_Pending] = []
    size = 0
    for item in pending:
        if chunk and size + item.size > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += item.size
    if chunk:
        yield chunk


class ElasticsearchSink:
    """Collects index/create actions and writes them with one bulk request per flush."""

    def __init__(self, es: AsyncElasticsearch, max_wait_s: float = 30.0) -> None:
        self.es = es
        self.max_wait_s = max_wait_s
        self._pending: list[_Pending] = []

    def add(self, index: str, doc_id: str, source: dict[str, Any], create_only: bool = False) -> None:
        """Queue a document; ``create_only`` keeps an existing document (e.g. an alert's later status)."""
        op = "create" if create_only else "index"
        size = len(json.dumps(source, ensure_ascii=False, default=str))
        self._pending.append(_Pending({op: {"_index": index, "_id": doc_id}}, source, size))

    def upsert(self, index: str, doc_id: str, doc: dict[str, Any], on_create: dict[str, Any]) -> None:
        """Queue an update of ``doc``'s fields, or ``on_create`` as a whole when the document is new."""
        source = {"doc": doc, "upsert": on_create}
        size = len(json.dumps(source, ensure_ascii=False, default=str))
        action = {"update": {"_index": index, "_id": doc_id, "retry_on_conflict": 3}}
        self._pending.append(_Pending(action, source, size, on_create))

    async def flush(self) -> BulkResult:
        """Write everything queued in requests of at most ``MAX_BULK_BYTES``, waiting out failures.

        Anything but a malformed request (HTTP 400) is waited out, wrong credentials included: the
        stream stalls, lag grows and the operations center is alerted, but no document is dropped.
        """
        result = BulkResult()
        pending, self._pending = self._pending, []
        for chunk in _chunks(pending, MAX_BULK_BYTES):
            async for attempt in wait_out("Elasticsearch bulk write", _worth_waiting, 0.2, self.max_wait_s):
                with attempt:
                    await self._send(chunk, result)
        return result

    async def _send(self, batch: list[_Pending], result: BulkResult) -> None:
        """Send ``batch``; on a partial failure leave only the documents still to send in it and raise."""
        if not batch:
            return
        operations: list[dict[str, Any]] = []
        for pending in batch:
            operations.extend((pending.action, pending.source))
        response = await self.es.bulk(operations=operations, refresh=False)
        retry: list[_Pending] = []
        for pending, item in zip(batch, response["items"], strict=True):
            op, outcome = next(iter(item.items()))
            status = outcome.get("status", 0)
            doc_id = outcome.get("_id", "")
            if op == "update" and status == 200:
                result.updated.append(doc_id)
            elif status in (200, 201):
                result.written.append(doc_id)
            elif status == 409 and op == "create":
                result.already_present.append(doc_id)
            elif status in TRANSIENT_STATUSES:
                retry.append(pending)
            else:
                reason = outcome.get("error", {}).get("reason", f"HTTP {status}")
                result.failed.append((pending.document or pending.source, f"elasticsearch rejected {doc_id}: {reason}"))
        batch[:] = retry
        if retry:
            raise TransientBulkError(f"{len(retry)} documents hit a temporary failure")
