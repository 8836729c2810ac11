"""Signatures with three separate keys, so that each kind of record can only come from its own producer.

Anyone who can write to a Kafka topic or an Elasticsearch index could otherwise teach the models,
replace the pattern library or plant a model checkpoint. Every such record is signed with HMAC-SHA256,
and each kind has its own key, held only by the parties that must have it:

* the **feedback key** (``TRAILHOUND_FEEDBACK_KEY``): verdict producers (the ``feedback`` command, later
  the console) and the workers; it signs verdicts;
* the **worker key** (``TRAILHOUND_WORKER_KEY``): the workers only (and ``warm-start``, which writes
  their first checkpoint); it signs model checkpoints, so a verdict producer cannot forge one;
* the **publisher key** (``TRAILHOUND_PUBLISHER_KEY``): whoever publishes pattern libraries, and the
  workers, which verify; it signs libraries.

The HTTP doors take bearer tokens the same way: ``TRAILHOUND_INGEST_TOKEN`` for ``POST /posts`` and
``TRAILHOUND_WORKER_TOKEN`` for the worker's ``/score`` and ``/patterns``.

A key or token comes from its environment variable; without it a random key is created once in the cache
folder, which suits a single machine (demo, tests).

The console signs each analyst's verdicts with that analyst's own key (:func:`analyst_key`), derived
from the feedback key and the analyst's name, and says whose key it used in a ``signer`` header. A
worker derives the same key to check the signature and refuses a verdict whose ``analyst`` is not its
signer, so a verdict signed in one analyst's session can never be passed off as another's, and no
per-analyst secret has to be stored anywhere or copied to the workers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import uuid
from typing import Any

from trailhound.config import Settings

__all__ = ["SIGNER_HEADER", "analyst_key", "analyst_signature", "bearer_ok", "feedback_key", "ingest_token",
           "publisher_key", "sign", "signed_verdict", "verify", "worker_key", "worker_token"]

SIGNER_HEADER = "signer"


def feedback_key(settings: Settings) -> bytes:
    """The key verdicts are signed with."""
    return _key(settings.feedback_key, settings, "feedback.key")


def worker_key(settings: Settings) -> bytes:
    """The key model checkpoints are signed with (workers only)."""
    return _key(settings.worker_key, settings, "worker.key")


def publisher_key(settings: Settings) -> bytes:
    """The key pattern libraries are signed with (the library publisher and the workers)."""
    return _key(settings.publisher_key, settings, "publisher.key")


def ingest_token(settings: Settings) -> str:
    """The bearer token ``POST /posts`` requires."""
    return _key(settings.ingest_token, settings, "ingest.token").decode("utf-8")


def worker_token(settings: Settings) -> str:
    """The bearer token the worker's ``/score`` and ``/patterns`` require."""
    return _key(settings.worker_token, settings, "worker.token").decode("utf-8")


def bearer_ok(expected: str, authorization: str | None) -> bool:
    """Whether an HTTP ``Authorization`` header carries ``Bearer <expected>`` (compared in constant time)."""
    scheme, _, token = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


def _key(configured: str, settings: Settings, file_name: str) -> bytes:
    """From the environment, else the machine-local key file (created if missing)."""
    if configured:
        return configured.encode("utf-8")
    path = settings.cache_dir / file_name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{file_name}.")  # private, mode 0600
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:  # link is atomic and never replaces: of two processes racing, both end up with the winner's key
            os.link(scratch, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(scratch)
    key = path.read_text().strip().encode("utf-8")
    if len(key) < 32:
        raise ValueError(f"the key in {path} is too short; delete the file to create a new one")
    return key


def sign(key: bytes, value: bytes) -> bytes:
    return hmac.new(key, value, hashlib.sha256).hexdigest().encode("ascii")


def verify(key: bytes, value: bytes, signature: bytes | None) -> bool:
    return signature is not None and hmac.compare_digest(sign(key, value), signature)


def signed_verdict(key: bytes, verdict: dict[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """A verdict as a ``feedback`` record (key, value, headers): given a ``verdict_id`` if it has none, signed."""
    verdict = {**verdict, "verdict_id": verdict.get("verdict_id") or uuid.uuid4().hex}
    value = json.dumps(verdict, ensure_ascii=False, sort_keys=True).encode("utf-8")
    subject = verdict.get("post_id") or verdict["alert_id"]
    return subject.encode("utf-8"), value, [("signature", sign(key, value))]


def analyst_key(key: bytes, analyst: str) -> bytes:
    """The key that signs ``analyst``'s verdicts (HMAC-SHA256 of the name under the feedback key)."""
    return sign(key, b"trailhound-analyst\x00" + analyst.encode("utf-8"))


def analyst_signature(key: bytes, value: bytes, analyst: str) -> list[tuple[str, bytes]]:
    """The Kafka headers that sign a verdict record as ``analyst``'s own (what the console sends)."""
    return [("signature", sign(analyst_key(key, analyst), value)), (SIGNER_HEADER, analyst.encode("utf-8"))]
