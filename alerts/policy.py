"""What a partner may see of an alert: each field in clear, as a keyed hash, redacted, or not at all.

Partners get the minimum personal data they need (USC Annenberg guidelines: share in a coordinated way,
respect human rights). A partner's policy names a treatment per field; any field it does not name is
dropped, so the default shares only what identifies the alert itself (id, severity, categories, time).
Hashes are HMAC-SHA256 under the partner's own key, so a partner can match values against its own
records without receiving them, and two partners' hashes cannot be joined. Free text (the message, the
evidence) can be shared with contact details redacted: the same extractors the detectors use
(:mod:`detectors.extract`) find phones, e-mails and handles however they were disguised.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trailhound.detectors.extract import extract_entities
from trailhound.detectors.normalize import normalize

__all__ = ["ALWAYS_SHARED", "FIELDS", "MODES", "DataPolicy", "Disclosure", "apply_policy", "keyed_hash",
           "redact_contacts"]

MODES = ("clear", "hash", "redact", "drop")
REDACTED = "[contact removed]"

Getter = Callable[[dict[str, Any]], Any]


def _details(alert: dict[str, Any]) -> dict[str, Any]:
    return alert.get("trailhound") or {}


def _entity(name: str) -> Getter:
    return lambda a: list((_details(a).get("entity") or {}).get(name) or [])


def _place(name: str) -> Getter:
    return lambda a: (_details(a).get("location") or {}).get(name)


ALWAYS_SHARED: dict[str, Getter] = {
    "alert_id": lambda a: a["event"]["id"],
    "severity": lambda a: _details(a).get("severity"),
    "risk_score": lambda a: a["event"].get("risk_score"),
    "categories": lambda a: list(_details(a).get("categories") or []),
    "created": lambda a: a["event"].get("created"),
}
"""Fields that say which alert this is and how serious, but nothing about a person."""

TEXT_FIELDS: dict[str, Getter] = {
    "message": lambda a: a.get("message"),
    "evidence": lambda a: [i.get("evidence", "") for i in _details(a).get("indicators") or []],
}
VALUE_FIELDS: dict[str, Getter] = {
    "contact": lambda a: (_details(a).get("entity") or {}).get("key"),
    "phones": _entity("phones"),
    "emails": _entity("emails"),
    "handles": _entity("handles"),
    "city": _place("city"),
    "region": _place("region"),
    "country": _place("country"),
    "post_ids": lambda a: list(_details(a).get("post_ids") or []),
    "url": lambda a: (a.get("url") or {}).get("full"),
    "source": lambda a: _details(a).get("source"),
    "posted_at": lambda a: _details(a).get("posted_at"),
    "cluster_id": lambda a: _details(a).get("cluster_id") or (_details(a).get("entity") or {}).get("cluster_id"),
}
FIELDS = {**TEXT_FIELDS, **VALUE_FIELDS}
"""Fields a policy may name; all of them may hold personal data."""


@dataclass(frozen=True)
class DataPolicy:
    """A treatment per field (``clear`` | ``hash`` | ``redact`` | ``drop``); unnamed fields are dropped."""

    fields: dict[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """Why this policy cannot be used (empty when it can)."""
        found = []
        for name, mode in self.fields.items():
            if name in ALWAYS_SHARED:
                found.append(f"{name!r} is always shared; leave it out of the policy")
            elif name not in FIELDS:
                found.append(f"unknown field {name!r} (known: {', '.join(FIELDS)})")
            elif mode not in MODES:
                found.append(f"{name}: unknown treatment {mode!r} (use {', '.join(MODES)})")
            elif mode == "redact" and name not in TEXT_FIELDS:
                found.append(f"{name}: only free text ({', '.join(TEXT_FIELDS)}) can be redacted")
            elif mode == "hash" and name in TEXT_FIELDS:
                found.append(f"{name}: free text cannot be hashed; use redact or drop")
        return found


@dataclass(frozen=True)
class Disclosure:
    """The payload for one partner and, for the audit log, which fields it disclosed and how."""

    payload: dict[str, Any]
    disclosed: dict[str, str]  # field → clear | hash | redact (only fields that carried a value)


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` under a partner's key (the same value always gives that partner the same hash)."""
    return hmac.new(key, b"trailhound-field\x1f" + value.encode("utf-8"), hashlib.sha256).hexdigest()


def redact_contacts(text: str) -> str:
    """``text`` with every phone number, e-mail address and handle the extractors find replaced."""
    norm = normalize(text)
    spans = sorted(norm.original_span(m.start, m.end) for m in extract_entities(norm).mentions
                   if m.kind in ("phone", "email", "handle") and m.start >= 0)
    out: list[str] = []
    cursor = 0
    for start, end in spans:
        if start < cursor or end <= start:
            continue
        out.extend((text[cursor:start], REDACTED))
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def _treat(value: Any, mode: str, key: bytes) -> Any:
    if isinstance(value, list):
        return [_treat(v, mode, key) for v in value]
    if mode == "hash":
        return keyed_hash(key, str(value))
    if mode == "redact":
        return redact_contacts(str(value))
    return value


def apply_policy(alert: dict[str, Any], policy: DataPolicy, key: bytes) -> Disclosure:
    """What ``policy`` lets a partner see of ``alert``; ``key`` is that partner's hashing key."""
    payload = {name: get(alert) for name, get in ALWAYS_SHARED.items()}
    disclosed: dict[str, str] = {}
    for name, mode in policy.fields.items():
        if mode == "drop":
            continue
        value = FIELDS[name](alert)
        if value in (None, "", []):
            continue
        payload[name] = _treat(value, mode, key)
        disclosed[name] = mode
    return Disclosure(payload, disclosed)
