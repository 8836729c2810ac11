"""A bulk Elasticsearch sink that never drops a document because Elasticsearch was briefly away.

The stream worker calls :meth:`ElasticsearchSink.add` per document and :meth:`flush` once per batch;
Kafka offsets move on only after ``flush`` returned, so a crash replays the batch and deterministic
document ids make the replay harmless. Failures are sorted by :mod:`alerts.es_errors`: transient ones
(connection refused, timeouts, 429, 5xx) and wrong credentials are retried with exponential back-off
(:func:`trailhound.retrying.wait_out`) for as long as it takes, which stalls the stream instead of
losing data; a request refused as too large or as malformed (413, another 4xx, a document the client
cannot serialise) is split in halves until the documents at fault stand alone, and those come back to
the caller with the reason, like documents Elasticsearch rejects for good (a mapping conflict), so it
can dead-letter them. Nothing is retried forever that cannot succeed, and nothing raises out of
``flush`` but a failure worth waiting for.

Each document is encoded to JSON once, when it is queued, with :pypi:`orjson` (several times faster than
the standard library, and the Elasticsearch client passes bytes through as NDJSON lines): the encoding
gives the request size and is the request body, where before the document was encoded twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch

from trailhound.alerts.es_errors import TRANSIENT_STATUSES, worth_waiting
from trailhound.retrying import MAX_PAUSE_S, wait_out

__all__ = ["BULK_RESPONSE_FIELDS", "BulkResult", "ElasticsearchSink", "TransientBulkError", "is_transient"]

# What a bulk response is read for: each item's status, id and error. The rest of each item (index, version,
# shards, sequence numbers) is about four fifths of a response, and decoding the responses of the cluster
# stage's large writes was a tenth of its time in a profile of a worker draining a backlog.
BULK_RESPONSE_FIELDS = ["items.*.status", "items.*._id", "items.*.error"]

MAX_BULK_BYTES = 10 * 1024 * 1024  # well under Elasticsearch's 100 MB request limit


class TransientBulkError(RuntimeError):
    """Some documents hit a temporary failure and must be sent again."""


def is_transient(exc: BaseException) -> bool:
    """Whether to wait and send again: Elasticsearch away or overloaded, or its credentials being fixed."""
    return isinstance(exc, TransientBulkError) or worth_waiting(exc)


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
    encoded: bytes | None = None  # ``source`` as JSON; None if orjson refused it (the client then tries)


def _encoded(source: dict[str, Any]) -> tuple[bytes | None, int]:
    """``source`` as JSON bytes and their length; a document orjson refuses is left to the client."""
    try:
        encoded = orjson.dumps(source, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # a lone surrogate, a value JSON has no form for: the client's own encoder decides,
        # and a refusal is reported for that document alone (never coerced to some string here)
        return None, len(json.dumps(source, ensure_ascii=False, default=str))
    return encoded, len(encoded)


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

    def __init__(self, es: AsyncElasticsearch, max_wait_s: float = MAX_PAUSE_S) -> None:
        self.es = es
        self.max_wait_s = max_wait_s
        self._pending: list[_Pending] = []

    def add(self, index: str, doc_id: str, source: dict[str, Any], create_only: bool = False) -> None:
        """Queue a document; ``create_only`` keeps an existing document (e.g. an alert's later status)."""
        op = "create" if create_only else "index"
        encoded, size = _encoded(source)
        self._pending.append(_Pending({op: {"_index": index, "_id": doc_id}}, source, size, encoded=encoded))

    def upsert(self, index: str, doc_id: str, doc: dict[str, Any], on_create: dict[str, Any]) -> None:
        """Queue an update of ``doc``'s fields, or ``on_create`` as a whole when the document is new."""
        source = {"doc": doc, "upsert": on_create}
        encoded, size = _encoded(source)
        action = {"update": {"_index": index, "_id": doc_id, "retry_on_conflict": 3}}
        self._pending.append(_Pending(action, source, size, on_create, encoded))

    async def flush(self) -> BulkResult:
        """Write everything queued in requests of at most ``MAX_BULK_BYTES``, waiting out failures.

        Transient failures and wrong credentials are waited out: the stream stalls, lag grows and the
        operations center is alerted, but no document is dropped. A request refused for good is split
        until the documents at fault stand alone; those are returned in ``failed`` with the reason.
        """
        result = BulkResult()
        pending, self._pending = self._pending, []
        work = list(_chunks(pending, MAX_BULK_BYTES))
        while work:
            chunk = work.pop(0)
            try:
                async for attempt in wait_out("Elasticsearch bulk write", is_transient, 0.2, self.max_wait_s):
                    with attempt:
                        await self._send(chunk, result)
            except Exception as exc:  # refused for good (413, 4xx, cannot serialise): narrow it down
                if len(chunk) > 1:
                    half = len(chunk) // 2
                    work[:0] = [chunk[:half], chunk[half:]]
                else:
                    doc_id = chunk[0].action[next(iter(chunk[0].action))]["_id"]
                    result.failed.append((chunk[0].source, f"elasticsearch refused {doc_id}: {exc!r:.300}"))
        return result

    async def _send(self, batch: list[_Pending], result: BulkResult) -> None:
        """Send ``batch``; on a partial failure leave only the documents still to send in it and raise."""
        if not batch:
            return
        operations: list[dict[str, Any] | bytes] = []
        for pending in batch:
            operations.extend((pending.action, pending.source if pending.encoded is None else pending.encoded))
        response = await self.es.bulk(operations=operations, refresh=False,  # type: ignore[arg-type]  # bytes lines pass through
                                      filter_path=BULK_RESPONSE_FIELDS)
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
