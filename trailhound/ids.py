"""Deterministic ids: the same subject always gets the same id, on any worker, after any replay.

Alerts, post documents and recorded verdicts are written with ids derived from what they are about,
never from time or randomness, so at-least-once processing overwrites instead of duplicating.
"""

from __future__ import annotations

import hashlib

__all__ = ["stable_id"]

SEPARATOR = "\x1f"  # a control character no field value contains, so ("a", "bc") ≠ ("ab", "c")


def stable_id(*parts: str, length: int = 32) -> str:
    """A hex id of ``length`` characters derived from ``parts`` in order (SHA-256 based)."""
    return hashlib.sha256(SEPARATOR.join(parts).encode("utf-8")).hexdigest()[:length]
