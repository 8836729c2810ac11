"""Verdict signatures, so that only Trailhound's own tools can teach the models.

Anyone who can write to the ``feedback`` topic could otherwise poison the online models. Verdict
producers (the ``feedback`` command, later the console) sign each record with HMAC-SHA256 under a key
shared with the workers; workers learn only from records whose signature checks out *and* whose analyst
is on the allow-list. The key comes from ``TRAILHOUND_FEEDBACK_KEY``; without it a random key is created
once in the cache folder, which suits a single machine.
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

__all__ = ["feedback_key", "sign", "signed_verdict", "verify"]


def feedback_key(settings: Settings) -> bytes:
    """The signing key: from the environment, else the machine-local key file (created if missing)."""
    if settings.feedback_key:
        return settings.feedback_key.encode("utf-8")
    path = settings.cache_dir / "feedback.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".feedback.key.")  # private, mode 0600
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
        raise ValueError(f"the feedback key in {path} is too short; delete the file to create a new one")
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
