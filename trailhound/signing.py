"""Verdict signatures, so that only Trailhound's own tools can teach the models.

Anyone who can write to the ``feedback`` topic could otherwise poison the online models. Verdict
producers (the ``feedback`` command, later the console) sign each record with HMAC-SHA256 under a key
shared with the workers; workers learn only from records whose signature checks out *and* whose analyst
is on the allow-list. The key comes from ``TRAILHOUND_FEEDBACK_KEY``; without it a random key is created
once in the cache folder, which suits a single machine.

The console signs each analyst's verdicts with that analyst's own key (:func:`analyst_key`), derived
from the feedback key and the analyst's name, and says whose key it used in a ``signer`` header. A
worker derives the same key to check the signature and refuses a verdict whose ``analyst`` is not its
signer, so a verdict signed in one analyst's session can never be passed off as another's, and no
per-analyst secret has to be stored anywhere or copied to the workers.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile

from trailhound.config import Settings

__all__ = ["SIGNER_HEADER", "analyst_key", "analyst_signature", "feedback_key", "sign", "verify"]

SIGNER_HEADER = "signer"


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


def analyst_key(key: bytes, analyst: str) -> bytes:
    """The key that signs ``analyst``'s verdicts (HMAC-SHA256 of the name under the feedback key)."""
    return sign(key, b"trailhound-analyst\x00" + analyst.encode("utf-8"))


def analyst_signature(key: bytes, value: bytes, analyst: str) -> list[tuple[str, bytes]]:
    """The Kafka headers that sign a verdict record as ``analyst``'s own (what the console sends)."""
    return [("signature", sign(analyst_key(key, analyst), value)), (SIGNER_HEADER, analyst.encode("utf-8"))]
